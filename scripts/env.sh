#!/usr/bin/env bash
# Common environment for PrismDB's scripts; sourced, not run:
#   source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
#
# Exports PRISM_ROOT (the repository root) and CARGO_TARGET_DIR (default
# ~/.cache/prismdb/target, so fresh clones and CI runs on the same machine
# reuse one build cache), puts cargo's bin directory on PATH, and defines a
# few helpers for scripts that start servers. It does not `set -euo pipefail`
# itself, so that sourcing it into an interactive shell is harmless; every
# script that sources it sets those options first.

PRISM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PRISM_ROOT
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/prismdb/target}"

# Tools installed by `cargo install` (scripts/setup) live here.
_prism_cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
case ":$PATH:" in
  *":$_prism_cargo_bin:"*) ;;
  *) export PATH="$_prism_cargo_bin:$PATH" ;;
esac
unset _prism_cargo_bin

# prism_free_port: prints a TCP port on 127.0.0.1 that nothing listens on.
prism_free_port() {
  local port tries=0 low=32768 top
  # Below the kernel's ephemeral range: a port some client connection holds
  # (or held, in TIME_WAIT) refuses a probe yet cannot be listened on.
  [ -r /proc/sys/net/ipv4/ip_local_port_range ] && read -r low _ </proc/sys/net/ipv4/ip_local_port_range
  top=$((low > 21000 ? low : 60000))
  while [ "$tries" -lt 200 ]; do
    port=$((20000 + RANDOM % (top - 20000)))
    tries=$((tries + 1))
    # A refused connection means the port is free (for now).
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "prism_free_port: no free port found" >&2
  return 1
}

# prism_wait_ready HOST PORT USER DB TIMEOUT_SECS [PID]: waits until a
# PostgreSQL-protocol server answers `SELECT 1` in database DB (pg_isready
# alone also reports "ready" while DB does not exist yet, so it is only the
# fallback when psql is missing). Gives up after TIMEOUT_SECS, or as soon as
# process PID (the server, if given) has exited.
prism_wait_ready() {
  local host=$1 port=$2 user=$3 db=$4 timeout=$5 pid=${6:-}
  local deadline=$((SECONDS + timeout))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      echo "server process $pid exited before accepting connections" >&2
      return 1
    fi
    if command -v psql >/dev/null 2>&1; then
      if PGSSLMODE=disable PGCONNECT_TIMEOUT=2 psql -X -q -h "$host" -p "$port" -U "$user" -d "$db" \
          -c 'SELECT 1' >/dev/null 2>&1; then
        return 0
      fi
    elif PGSSLMODE=disable pg_isready -q -h "$host" -p "$port" -U "$user" -d "$db" -t 2; then
      return 0
    fi
    sleep 0.5
  done
  echo "server on $host:$port not ready after ${timeout}s" >&2
  return 1
}

# prism_stop_pid PID [GRACE_SECS]: SIGTERM, wait up to GRACE_SECS (default
# 10), then SIGKILL. Quiet if the process is already gone.
prism_stop_pid() {
  local pid=$1 grace=${2:-10} i=0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && [ "$i" -lt $((grace * 10)) ]; do
    sleep 0.1
    i=$((i + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
