#!/usr/bin/env bash
# Shared parts of the benchmark scripts; sourced after env.sh, not run.
#
# Starts and stops the systems under test on free loopback ports inside one
# scratch directory ($BENCH_WORK), loads the `bench` table, and runs pgbench
# with per-transaction logs to report TPS and p50/p99 latency:
#   bench_setup [FLAGS]              tools, release build, scratch dir, cleanup trap
#   bench_start_postgres [DIR]       PostgreSQL 15 (fsync and synchronous_commit on)
#   bench_start_prismdb NAME [N [DIR]]  a PrismDB node (N=1) or an N-member cluster
#   bench_stop SYSTEM                stop one system (frees the machine for the next)
#   bench_load SYSTEM ROWS           CREATE TABLE bench + ROWS rows in 1000-row INSERTs
#   bench_pgbench SYSTEM SCRIPT C J S  pgbench; sets TPS[SYS] P50[SYS] P99[SYS]
#   bench_tpch_gen SF FORMAT DIR     TPC-H data (csv or parquet) made once with tpchgen-cli
#   bench_pg_user                    the system user that runs PostgreSQL when we are root
#   bench_pg_dir DIR FALLBACK        DIR for a kept cluster, or FALLBACK if that user cannot reach it
# Systems are named by the caller; PORT[SYS] is the port clients use.
# Data directories live in $BENCH_WORK unless a DIR is given (a DIR that
# already holds data is started as it is); BENCH_PG_OPTS adds PostgreSQL's
# server options, BENCH_PRISM_OPTS `prismdb start` flags.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
BENCH_PG_USER=prismbench   # OS user that owns and runs PostgreSQL when we are root
BENCH_BATCH=1000           # rows per INSERT statement
BENCH_KEEP=${BENCH_KEEP:-0}
BENCH_PG_OPTS=${BENCH_PG_OPTS:-}
BENCH_PRISM_OPTS=${BENCH_PRISM_OPTS:-}
declare -A PORT TPS P50 P99 LOAD_SECS BENCH_PIDS
BENCH_PG_DIR=""

say() { echo "bench: $*"; }
die() { echo "bench: $*" >&2; exit 1; }

bench_pick_tool() { # NAME: PG_BIN's copy if present, else PATH's
  if [ -x "$PG_BIN/$1" ]; then echo "$PG_BIN/$1"
  elif command -v "$1" >/dev/null 2>&1; then command -v "$1"
  else die "$1 not found in $PG_BIN or on PATH"
  fi
}

# bench_setup [--no-prismdb | --build-if-missing] [--with-bench]: installs
# what is missing (scripts/setup --with-postgres, plus --with-bench's Python
# environment), builds the release binary (not at all with --no-prismdb,
# only when there is none with --build-if-missing), makes the scratch
# directory and the cleanup trap.
bench_setup() {
  local build=always arg
  local -a setup_flags=(--with-postgres)
  for arg in "$@"; do
    case "$arg" in
      --no-prismdb) build=never ;;
      --build-if-missing) build=missing ;;
      --with-bench) setup_flags+=(--with-bench) ;;
      *) die "bench_setup: unknown flag $arg" ;;
    esac
  done
  "$PRISM_ROOT/scripts/setup" "${setup_flags[@]}"
  PSQL=$(bench_pick_tool psql)
  PGBENCH=$(bench_pick_tool pgbench)
  PRISM_BIN="$CARGO_TARGET_DIR/release/prismdb"
  if [ "$build" = missing ] && [ -x "$PRISM_BIN" ]; then
    say "using the existing release binary $PRISM_BIN (built $(date -r "$PRISM_BIN" '+%F %T'))"
  elif [ "$build" != never ]; then
    say "building prismdb --release; the first release build takes a long time (25+ minutes on 2 cores)"
    (cd "$PRISM_ROOT" && cargo build --release -p prismdb-node --bin prismdb)
  fi
  BENCH_WORK=$(mktemp -d "${TMPDIR:-/tmp}/prism-bench.XXXXXX")
  chmod 755 "$BENCH_WORK"   # the PostgreSQL user must be able to reach its data dir
  mkdir -p "$BENCH_WORK/logs"
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

bench_as_pg() { # run a PostgreSQL server tool as the unprivileged user when root
  if [ "$(id -u)" -eq 0 ]; then
    (cd "$BENCH_PG_DIR" && runuser -u "$BENCH_PG_USER" -- "$@")
  else
    (cd "$BENCH_PG_DIR" && "$@")
  fi
}

bench_stop() { # SYSTEM
  local sys=$1 pid
  if [ "$sys" = postgres ] && [ -n "$BENCH_PG_DIR" ]; then
    bench_as_pg "$PG_BIN/pg_ctl" -D "$BENCH_PG_DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
    BENCH_PG_DIR=""
    return 0
  fi
  for pid in ${BENCH_PIDS[$sys]:-}; do
    prism_stop_pid "$pid" 10
  done
  BENCH_PIDS[$sys]=""
}

# shellcheck disable=SC2317  # invoked through the EXIT trap
bench_cleanup() {
  local rc=$? sys
  for sys in "${!BENCH_PIDS[@]}"; do bench_stop "$sys"; done
  bench_stop postgres
  if [ "$BENCH_KEEP" -eq 1 ]; then
    echo "bench: kept $BENCH_WORK"
  else
    rm -rf "$BENCH_WORK"
  fi
  return "$rc"
}

# bench_pg_user: when we are root, makes the system user $BENCH_PG_USER
# that owns and runs PostgreSQL (it refuses to run as root), if missing.
bench_pg_user() {
  if [ "$(id -u)" -eq 0 ] && ! id "$BENCH_PG_USER" >/dev/null 2>&1; then
    say "creating system user $BENCH_PG_USER to run PostgreSQL (it refuses to run as root)"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin "$BENCH_PG_USER"
  fi
}

# bench_pg_dir DIR FALLBACK: prints where a PostgreSQL cluster kept between
# runs lives: DIR, unless we are root and $BENCH_PG_USER cannot reach DIR's
# parent (a root-owned home directory), then FALLBACK. Call bench_pg_user
# first (outside the command substitution).
bench_pg_dir() {
  local dir=$1 fallback=$2
  mkdir -p "$(dirname "$dir")"
  if [ "$(id -u)" -eq 0 ] && id "$BENCH_PG_USER" >/dev/null 2>&1 \
      && ! runuser -u "$BENCH_PG_USER" -- test -x "$(dirname "$dir")" 2>/dev/null; then
    dir=$fallback
  fi
  echo "$dir"
}

# bench_start_postgres [DIR]: the cluster lives in DIR/data (default
# $BENCH_WORK/pg); one that is already there is started, not made anew.
# shellcheck disable=SC2120  # DIR is optional
bench_start_postgres() {
  local fresh=1
  for t in initdb pg_ctl postgres; do
    [ -x "$PG_BIN/$t" ] || die "$PG_BIN/$t missing (PostgreSQL 15 server; PG_BIN overrides the directory)"
  done
  BENCH_PG_DIR="${1:-$BENCH_WORK/pg}"
  [ -f "$BENCH_PG_DIR/data/PG_VERSION" ] && fresh=0
  mkdir -p "$BENCH_PG_DIR"
  bench_pg_user
  if [ "$(id -u)" -eq 0 ]; then chown "$BENCH_PG_USER:" "$BENCH_PG_DIR"; fi
  PORT[postgres]=$(prism_free_port)
  if [ "$fresh" -eq 1 ]; then
    say "initdb and start PostgreSQL ($PG_BIN) on 127.0.0.1:${PORT[postgres]} (synchronous_commit on)"
    bench_as_pg "$PG_BIN/initdb" -D "$BENCH_PG_DIR/data" -U prism --auth=trust -E UTF8 --locale=C.UTF-8 \
      >"$BENCH_WORK/initdb.log" 2>&1 || { cat "$BENCH_WORK/initdb.log" >&2; die "initdb failed"; }
  else
    say "start PostgreSQL ($PG_BIN) from $BENCH_PG_DIR/data on 127.0.0.1:${PORT[postgres]}"
  fi
  if ! bench_as_pg "$PG_BIN/pg_ctl" -D "$BENCH_PG_DIR/data" -l "$BENCH_PG_DIR/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p ${PORT[postgres]} -k $BENCH_PG_DIR -c synchronous_commit=on -c fsync=on $BENCH_PG_OPTS" \
      start >/dev/null; then
    tail -n 40 "$BENCH_PG_DIR/server.log" >&2 || true
    die "PostgreSQL did not start"
  fi
  prism_wait_ready 127.0.0.1 "${PORT[postgres]}" prism postgres 60 || die "PostgreSQL not ready"
  if [ "$fresh" -eq 1 ]; then
    PGSSLMODE=disable "$PSQL" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${PORT[postgres]}" \
      -U prism -d postgres -c 'CREATE DATABASE prism' >/dev/null
  fi
}

# bench_start_prismdb SYSTEM [MEMBERS [DIR]]: one node, or MEMBERS nodes
# forming one cluster, with data directories DIR/SYSTEM-n<i> (DIR defaults
# to $BENCH_WORK); PORT[SYSTEM] is the leader's SQL port.
bench_start_prismdb() {
  local sys=$1 n=${2:-1} dir=${3:-$BENCH_WORK} i initial="" pids="" leader
  local -a pg http peer
  for ((i = 1; i <= n; i++)); do
    pg[i]=$(prism_free_port); http[i]=$(prism_free_port); peer[i]=$(prism_free_port)
    initial+="${initial:+,}n$i=127.0.0.1:${peer[i]}"
  done
  for ((i = 1; i <= n; i++)); do
    say "$sys: starting prismdb n$i (sql 127.0.0.1:${pg[i]}, peer 127.0.0.1:${peer[i]})"
    # shellcheck disable=SC2086  # BENCH_PRISM_OPTS is split into flags
    "$PRISM_BIN" start --name "n$i" --data-dir "$dir/$sys-n$i" \
      --listen "127.0.0.1:${pg[i]}" --http "127.0.0.1:${http[i]}" \
      --peer-listen "127.0.0.1:${peer[i]}" --initial-cluster "$initial" \
      $BENCH_PRISM_OPTS >"$BENCH_WORK/$sys-n$i.log" 2>&1 &
    pids+=" $!"
  done
  BENCH_PIDS[$sys]=$pids
  for ((i = 1; i <= n; i++)); do
    prism_wait_ready 127.0.0.1 "${pg[i]}" prism prism 60 || {
      tail -n 40 "$BENCH_WORK/$sys-n$i.log" >&2 || true
      die "$sys: prismdb n$i did not start"
    }
  done
  leader=$(PGSSLMODE=disable "$PSQL" -X -qtA -h 127.0.0.1 -p "${pg[1]}" -U prism -d prism \
    -c "SELECT sql_addr FROM prism_cluster.members WHERE is_leader")
  [ -n "$leader" ] || die "$sys: no leader"
  PORT[$sys]=${leader##*:}
  say "$sys: leader serves SQL on $leader"
}

bench_sql() { # SYSTEM [psql args...]
  local sys=$1; shift
  PGSSLMODE=disable "$PSQL" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${PORT[$sys]}" \
    -U prism -d prism "$@"
}

bench_gen_inserts() { # ROWS: 1000-row INSERT statements for ids 1..ROWS
  awk -v n="$1" -v b="$BENCH_BATCH" 'BEGIN {
    for (i = 1; i <= n; i++) {
      if ((i - 1) % b == 0) printf "INSERT INTO bench (id, k, v) VALUES "
      else printf ","
      printf "(%d,%d,'\''value-%010d-abcdefghijklmnopqrstuvwxyz'\'')", i, (i * 7919) % 1000003, i
      if (i % b == 0 || i == n) printf ";\n"
    }
  }'
}

bench_load() { # SYSTEM ROWS
  local sys=$1 rows=$2 t0 count
  say "$sys: creating table bench and loading $rows rows in $BENCH_BATCH-row INSERTs"
  bench_sql "$sys" -c 'CREATE TABLE bench (id BIGINT PRIMARY KEY, k INT NOT NULL, v TEXT NOT NULL)' >/dev/null || return 1
  t0=$EPOCHREALTIME
  bench_gen_inserts "$rows" | bench_sql "$sys" -f - >/dev/null || return 1
  LOAD_SECS[$sys]=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  if [ "$sys" = postgres ]; then
    bench_sql "$sys" -c 'VACUUM ANALYZE bench' >/dev/null || return 1
  else
    bench_sql "$sys" -c 'ANALYZE bench' >/dev/null || return 1
  fi
  count=$(bench_sql "$sys" -tA -c 'SELECT count(*) FROM bench') || return 1
  if [ "$count" != "$rows" ]; then
    echo "bench: $sys: expected $rows rows, SELECT count(*) says '$count'" >&2
    return 1
  fi
  say "$sys: loaded $rows rows in ${LOAD_SECS[$sys]}s"
}

bench_percentile() { # SORTED_FILE COUNT FRACTION -> milliseconds
  awk -v n="$2" -v f="$3" 'BEGIN { t = int(n * f); if (t < n * f) t++; if (t < 1) t = 1 }
    NR == t { printf "%.3f", $1 / 1000; exit }' "$1"
}

bench_pgbench() { # SYSTEM SCRIPT CLIENTS JOBS SECONDS
  local sys=$1 script=$2 clients=$3 jobs=$4 seconds=$5
  local out="$BENCH_WORK/$sys.pgbench.out" sorted="$BENCH_WORK/$sys.latency.sorted" n
  say "$sys: pgbench -n -M prepared -c $clients -j $jobs -T $seconds -f $(basename "$script")"
  # Latencies are this run's alone: drop the logs of an earlier run.
  rm -f "$BENCH_WORK/logs/$sys".*
  if ! PGSSLMODE=disable "$PGBENCH" -n -M prepared -c "$clients" -j "$jobs" -T "$seconds" \
      -f "$script" --log --log-prefix="$BENCH_WORK/logs/$sys" \
      -h 127.0.0.1 -p "${PORT[$sys]}" -U prism prism >"$out" 2>&1; then
    tail -n 20 "$out" >&2
    return 1
  fi
  TPS[$sys]=$(sed -nE 's/^tps = ([0-9.]+).*/\1/p' "$out" | tail -n1)
  [ -n "${TPS[$sys]}" ] || { cat "$out" >&2; return 1; }
  # Per-transaction log lines: client_id transaction_no time_us script_no epoch epoch_us
  cat "$BENCH_WORK/logs/$sys".* | awk '$3 ~ /^[0-9]+$/ { print $3 }' | sort -n >"$sorted"
  n=$(wc -l <"$sorted")
  [ "$n" -gt 0 ] || { echo "bench: $sys: empty pgbench log" >&2; return 1; }
  P50[$sys]=$(bench_percentile "$sorted" "$n" 0.50)
  P99[$sys]=$(bench_percentile "$sorted" "$n" 0.99)
  say "$sys: $n transactions, tps ${TPS[$sys]}, p50 ${P50[$sys]} ms, p99 ${P99[$sys]} ms"
}

# bench_tpch_gen SF FORMAT DIR: TPC-H data at scale factor SF as FORMAT
# (csv or parquet) in DIR, generated with tpchgen-cli from the bench venv
# (bench_setup --with-bench) unless DIR already holds a complete set.
bench_tpch_gen() {
  local sf=$1 format=$2 dir=$3 t0
  local venv=${PRISM_BENCH_VENV:-$HOME/.cache/prismdb/venv}
  if [ -f "$dir/.complete" ]; then
    say "TPC-H sf$sf $format data present in $dir"
    return 0
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  say "generating TPC-H sf$sf as $format into $dir (tpchgen-cli)"
  t0=$EPOCHREALTIME
  "$venv/bin/tpchgen-cli" "$format" --scale-factor "$sf" --output-dir "$dir" --quiet
  touch "$dir/.complete"
  say "generated $format in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')s"
}
