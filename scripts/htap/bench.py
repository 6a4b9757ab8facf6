#!/usr/bin/env python3
"""HTAP driver of scripts/bench-htap; run by that script inside the bench venv.

The method is HATtrick's (Milkai, Zheng, Mahmood, Li, Ailamaki: "How Good is
My HTAP System?", SIGMOD 2022): a transactional and an analytical workload
are each ramped alone to their peak client count, then run together on a
grid of client fractions of those peaks; every point's throughputs,
relative to each workload's alone-peak, trace the system's throughput
frontier.

Subcommands (each writes one JSON file that `report` reads back):

  accounts  create htap_accounts(id, balance, note) with N rows (COPY FROM
            STDIN in 50,000-row chunks), then analyze it
  run       on one system: a warm-up, the two ramps, the grid, and on PrismDB
            a repeat of the full-load point with the freshness probe of
            scripts/tpch/bench.py running too
  report    print each system's grid and summary, draw the frontier PNG and
            write the combined JSON

The transactional workload is pgbench (-M prepared) with two scripts on
htap_accounts: a point SELECT by primary key (weight 4) and a single-row
UPDATE by primary key (weight 1). The analytical workload is N Python
threads, one connection each, looping over a fixed list of TPC-H queries
(thread i starts at query i of the list); its throughput is the queries
completed inside the measured window per second. At the end of a window
the queries still running are cancelled and not counted.
"""

import argparse
import importlib.util
import json
import math
import os
import platform
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _load_tpch():
    # scripts/tpch/bench.py: connect, error_text, write_json, load_queries,
    # percentile and the freshness probe. Loaded by path: this file is
    # bench.py too.
    path = os.path.join(HERE, "..", "tpch", "bench.py")
    spec = importlib.util.spec_from_file_location("prism_tpch_bench", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


tpch = _load_tpch()
connect = tpch.connect
error_text = tpch.error_text
write_json = tpch.write_json
percentile = tpch.percentile

LABELS = {"prismdb": "PrismDB", "postgres": "PostgreSQL 15"}
COLORS = {"prismdb": "tab:blue", "postgres": "tab:orange"}
SYSTEM_ORDER = ["prismdb", "postgres"]
SELECT_WEIGHT = 4
UPDATE_WEIGHT = 1
AP_STATEMENT_TIMEOUT_S = 300


def say(msg):
    print(f"bench: {msg}", flush=True)


def int_list(text):
    return [int(x) for x in text.split(",") if x.strip()]


def float_list(text):
    return [float(x) for x in text.split(",") if x.strip()]


def clients_at(frac, peak):
    """round(frac * peak), at least 1 for a fraction above 0."""
    if frac <= 0:
        return 0
    return max(1, int(math.floor(frac * peak + 0.5)))


# --- the OLTP table ----------------------------------------------------------
def cmd_accounts(args):
    chunk = 50000
    t0 = time.perf_counter()
    try:
        with connect(args.port) as conn:
            conn.execute("DROP TABLE IF EXISTS htap_accounts")
            conn.execute("CREATE TABLE htap_accounts (id BIGINT PRIMARY KEY, "
                         "balance BIGINT NOT NULL, note TEXT)")
            for lo in range(1, args.rows + 1, chunk):
                hi = min(args.rows, lo + chunk - 1)
                buf = "".join(f"{i}\t{(i * 7919) % 100000}\taccount-{i:09d}\n"
                              for i in range(lo, hi + 1))
                with conn.cursor() as cur:
                    with cur.copy("COPY htap_accounts (id, balance, note) FROM STDIN") as cp:
                        cp.write(buf)
            conn.execute("VACUUM ANALYZE htap_accounts" if args.system == "postgres"
                         else "ANALYZE htap_accounts")
            count = conn.execute("SELECT count(*) FROM htap_accounts").fetchone()[0]
    except Exception as e:  # noqa: BLE001
        say(f"{args.system}: htap_accounts FAILED: {error_text(e)}")
        write_json(args.out, {"system": args.system, "error": error_text(e)})
        sys.exit(1)
    secs = time.perf_counter() - t0
    if count != args.rows:
        say(f"{args.system}: htap_accounts has {count} rows, expected {args.rows}")
        write_json(args.out, {"system": args.system, "error": f"{count} rows, expected {args.rows}"})
        sys.exit(1)
    say(f"{args.system}: htap_accounts: {count} rows in {secs:.1f}s")
    write_json(args.out, {"system": args.system, "rows": count, "seconds": round(secs, 3)})


# --- the transactional workload (pgbench) ------------------------------------
class Transactions:
    def __init__(self, args):
        self.system = args.system
        self.port = args.port
        self.pgbench = args.pgbench
        self.dir = os.path.join(args.work, f"pgbench-{args.system}")
        os.makedirs(self.dir, exist_ok=True)
        self.select = os.path.join(self.dir, "select.sql")
        self.update = os.path.join(self.dir, "update.sql")
        with open(self.select, "w") as f:
            f.write(f"\\set id random(1, {args.rows})\n"
                    "SELECT balance FROM htap_accounts WHERE id = :id;\n")
        with open(self.update, "w") as f:
            f.write(f"\\set id random(1, {args.rows})\n"
                    "\\set delta random(-100, 100)\n"
                    "UPDATE htap_accounts SET balance = balance + :delta WHERE id = :id;\n")
        self.cores = os.cpu_count() or 1
        self.runs = 0

    def start(self, clients, seconds):
        self.runs += 1
        self.prefix = os.path.join(self.dir, f"log{self.runs}")
        self.clients = clients
        cmd = [self.pgbench, "-n", "-M", "prepared", "-c", str(clients),
               "-j", str(min(clients, self.cores)), "-T", str(seconds),
               "-f", f"{self.select}@{SELECT_WEIGHT}", "-f", f"{self.update}@{UPDATE_WEIGHT}",
               "--log", f"--log-prefix={self.prefix}",
               "-h", "127.0.0.1", "-p", str(self.port), "-U", "prism", "prism"]
        env = dict(os.environ, PGSSLMODE="disable")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env=env)

    def finish(self):
        out, _ = self.proc.communicate()
        res = {"clients": self.clients}
        m = re.findall(r"^tps = ([0-9.]+)", out, re.M)
        if self.proc.returncode != 0 or not m:
            tail = " | ".join(out.strip().splitlines()[-3:])
            if not m:
                raise RuntimeError(f"pgbench exited with {self.proc.returncode}: {tail}")
            res["warning"] = f"pgbench exited with {self.proc.returncode}: {tail}"
            say(f"{self.system}: {res['warning']}")
        res["tps"] = float(m[-1])
        # Per-transaction log lines: client_id transaction_no time_us script_no epoch epoch_us
        lat = {0: [], 1: []}
        logdir = os.path.dirname(self.prefix)
        base = os.path.basename(self.prefix) + "."
        for name in os.listdir(logdir):
            if not name.startswith(base):
                continue
            path = os.path.join(logdir, name)
            with open(path) as f:
                for line in f:
                    p = line.split()
                    if len(p) >= 4 and p[2].isdigit() and p[3] in ("0", "1"):
                        lat[int(p[3])].append(int(p[2]))
            os.remove(path)
        for script, key in ((0, "select"), (1, "update")):
            v = sorted(lat[script])
            res[f"{key}s"] = len(v)
            res[f"{key}_p50_ms"] = round(percentile(v, 0.50) / 1000, 3) if v else None
            res[f"{key}_p99_ms"] = round(percentile(v, 0.99) / 1000, 3) if v else None
        return res


# --- the analytical workload -------------------------------------------------
class Analytics:
    """Up to `nmax` connections, opened once; run(n, ...) loops the queries
    on the first n of them until a deadline."""

    def __init__(self, args, queries, nmax):
        self.system = args.system
        self.engine = args.ap_engine
        self.port = args.port
        self.queries = queries
        self.conns = [self.open() for _ in range(max(1, nmax))]

    def open(self):
        conn = connect(self.port)
        conn.execute(f"SET statement_timeout = '{AP_STATEMENT_TIMEOUT_S * 1000}ms'")
        if self.system == "prismdb":
            conn.execute(f"SET prism.read_engines = '{self.engine}'")
        return conn

    def close(self):
        for c in self.conns:
            try:
                c.close()
            except Exception:  # noqa: BLE001
                pass

    def warm_up(self):
        """Runs every query once on the first connection; returns
        {name: ms or error} and keeps only the queries that answered."""
        out = {}
        kept = []
        for name, sql in self.queries:
            t0 = time.perf_counter()
            try:
                with self.conns[0].cursor() as cur:
                    cur.execute(sql)
                    rows = cur.fetchall()
                ms = (time.perf_counter() - t0) * 1000
                out[name] = {"ms": round(ms, 3), "rows": len(rows)}
                kept.append((name, sql))
                say(f"{self.system}: warm-up {name} {ms:9.1f} ms  {len(rows)} rows")
            except Exception as e:  # noqa: BLE001
                out[name] = {"error": error_text(e)}
                say(f"{self.system}: warm-up {name} FAILED: {error_text(e)} (left out of the loop)")
                if self.conns[0].broken:
                    self.conns[0] = self.open()
        self.queries = kept
        return out

    def prepare(self, n):
        """Threads for n clients, waiting for go(deadline)."""
        self.n = n
        self.go_evt = threading.Event()
        self.stop_evt = threading.Event()
        self.busy = [False] * n
        self.done = [0] * n
        self.errors = []
        self.per_query = {}
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.worker, args=(i,), daemon=True)
                        for i in range(n)]
        for t in self.threads:
            t.start()

    def go(self, deadline):
        self.deadline = deadline
        self.go_evt.set()

    def worker(self, i):
        import psycopg
        conn = self.conns[i]
        k = i % len(self.queries)
        self.go_evt.wait()
        while not self.stop_evt.is_set():
            name, sql = self.queries[k]
            k = (k + 1) % len(self.queries)
            t0 = time.perf_counter()
            if t0 >= self.deadline:
                break
            self.busy[i] = True
            try:
                with conn.cursor() as cur:
                    cur.execute(sql)
                    cur.fetchall()
            except psycopg.errors.QueryCanceled:
                if self.stop_evt.is_set() or time.perf_counter() >= self.deadline:
                    break
                with self.lock:
                    self.errors.append(f"{name}: canceled (statement_timeout)")
                continue
            except Exception as e:  # noqa: BLE001
                with self.lock:
                    self.errors.append(f"{name}: {error_text(e)}")
                    if len(self.errors) > 1000:
                        break
                if conn.broken or conn.closed:
                    try:
                        conn = self.conns[i] = self.open()
                    except Exception as e2:  # noqa: BLE001
                        with self.lock:
                            self.errors.append(f"reconnect: {error_text(e2)}")
                        break
                continue
            finally:
                self.busy[i] = False
            t1 = time.perf_counter()
            if t1 > self.deadline:
                break
            self.done[i] += 1
            with self.lock:
                self.per_query.setdefault(name, []).append((t1 - t0) * 1000)

    def finish(self, seconds):
        """After the deadline: stops the threads (cancelling the queries
        still running) and returns the results."""
        self.stop_evt.set()
        while True:
            alive = [t for t in self.threads if t.is_alive()]
            if not alive:
                break
            for i, t in enumerate(self.threads):
                if t.is_alive() and self.busy[i]:
                    conn = self.conns[i]
                    try:
                        cancel = getattr(conn, "cancel_safe", None)
                        if cancel is not None:
                            cancel(timeout=5)
                        else:
                            conn.cancel()
                    except Exception:  # noqa: BLE001
                        pass
            for t in alive:
                t.join(timeout=1)
        done = sum(self.done)
        res = {"clients": self.n, "queries": done, "qps": round(done / seconds, 4),
               "query_ms_p50": {n: round(percentile(sorted(v), 0.5), 3)
                                for n, v in sorted(self.per_query.items())}}
        if self.errors:
            res["errors"] = len(self.errors)
            res["first_error"] = self.errors[0]
            say(f"{self.system}: {len(self.errors)} analytical query errors, first: {self.errors[0]}")
        return res


# --- one measurement -----------------------------------------------------------
class Runner:
    def __init__(self, args, tx, ap):
        self.args = args
        self.tx = tx
        self.ap = ap

    def mix(self, tp_clients, ap_clients, fresh=None):
        """Both workloads for --seconds (either may have 0 clients); with
        `fresh` a dict that receives the freshness probe's results."""
        seconds = self.args.seconds
        if ap_clients:
            self.ap.prepare(ap_clients)
        fresh_thread = None
        if fresh is not None:
            def probe():
                try:
                    fresh.update(tpch.fresh_measure(self.args.port, max(1.0, seconds - 1.0),
                                                    self.args.fresh_rate, 1, 10.0))
                except Exception as e:  # noqa: BLE001
                    fresh["error"] = error_text(e)
            fresh_thread = threading.Thread(target=probe)
            fresh_thread.start()
        if tp_clients:
            self.tx.start(tp_clients, seconds)
        t0 = time.perf_counter()
        deadline = t0 + seconds
        if ap_clients:
            self.ap.go(deadline)
        time.sleep(max(0.0, deadline - time.perf_counter()))
        res = {"tp_clients": tp_clients, "ap_clients": ap_clients, "tps": 0.0, "qps": 0.0}
        if ap_clients:
            a = self.ap.finish(seconds)
            res["qps"] = a["qps"]
            res["ap"] = a
        if tp_clients:
            t = self.tx.finish()
            res["tps"] = t["tps"]
            res["tp"] = t
        if fresh_thread is not None:
            fresh_thread.join()
        time.sleep(self.args.pause)
        return res


def ramp(levels, measure, key, what, system):
    """Measures each client count in turn and stops once the throughput has
    grown by no more than 5% over the best so far at two counts in a row
    (one step that does not grow can be the machine's noise); returns
    (steps, best)."""
    steps = []
    best = None
    flat = 0
    for c in levels:
        r = measure(c)
        v = r[key]
        steps.append(r)
        grew = best is None or v > best[key] * 1.05
        if best is None or v > best[key]:
            best = r
        flat = 0 if grew else flat + 1
        say(f"{system}: {what} alone, {c} clients: {v:,.2f}{' (still growing)' if grew else ''}")
        if flat == 2:
            break
    return steps, best


def cmd_run(args):
    tp_levels = int_list(args.tp_clients)
    ap_levels = int_list(args.ap_clients)
    fracs = float_list(args.fractions)
    res = {"system": args.system, "seconds": args.seconds, "rows": args.rows,
           "ap_engine": (f"prism.read_engines = '{args.ap_engine}'" if args.system == "prismdb"
                         else "heap, parallel query"),
           "fractions": fracs}
    queries = tpch.load_queries(args.queries.split(","))
    tx = Transactions(args)
    ap = None
    t_all = time.perf_counter()
    try:
        ap = Analytics(args, queries, max(ap_levels))
        res["version"] = ap.conns[0].execute("select version()").fetchone()[0]
        runner = Runner(args, tx, ap)

        # --- warm-up: every query once (a failing query leaves the loop), a
        # short transactional run; neither is counted.
        res["warmup"] = ap.warm_up()
        if not ap.queries:
            raise RuntimeError("no analytical query ran in the warm-up")
        res["ap_queries"] = [n for n, _ in ap.queries]
        if args.warmup > 0:
            say(f"{args.system}: transactional warm-up, {min(2, max(tp_levels))} clients, {args.warmup:g}s")
            tx.start(min(2, max(tp_levels)), args.warmup)
            tx.finish()

        # --- the ramps: each workload alone
        say(f"{args.system}: ramping the transactional mix alone over {tp_levels} clients")
        res["tp_ramp"], tp_best = ramp(tp_levels, lambda c: runner.mix(c, 0), "tps", "TP TPS",
                                       args.system)
        say(f"{args.system}: ramping the analytical loop alone over {ap_levels} clients")
        res["ap_ramp"], ap_best = ramp(ap_levels, lambda c: runner.mix(0, c), "qps",
                                       "AP queries/s", args.system)
        if tp_best["tps"] <= 0 or ap_best["qps"] <= 0:
            raise RuntimeError(f"a workload did not run alone: peak TPS {tp_best['tps']}, "
                               f"peak queries/s {ap_best['qps']}")
        tp_peak = {"clients": tp_best["tp_clients"], "tps": tp_best["tps"]}
        ap_peak = {"clients": ap_best["ap_clients"], "qps": ap_best["qps"]}
        res["tp_peak"], res["ap_peak"] = tp_peak, ap_peak
        say(f"{args.system}: alone peaks: {tp_peak['tps']:,.0f} TPS at {tp_peak['clients']} clients, "
            f"{ap_peak['qps']:.2f} queries/s at {ap_peak['clients']} clients")

        # --- the grid; points with the client counts of one measured before
        # (small peaks round several fractions to one count) reuse it.
        grid = []
        measured = {}
        n_points = len(fracs) ** 2
        for ft in fracs:
            for fa in fracs:
                tc, ac = clients_at(ft, tp_peak["clients"]), clients_at(fa, ap_peak["clients"])
                if (tc, ac) in measured:
                    r = dict(measured[(tc, ac)], reused=True)
                elif tc == 0 and ac == 0:
                    r = {"tp_clients": 0, "ap_clients": 0, "tps": 0.0, "qps": 0.0}
                else:
                    say(f"{args.system}: grid point {len(grid) + 1}/{n_points}: TP {ft:g} ({tc} clients) "
                        f"x AP {fa:g} ({ac} clients)")
                    r = runner.mix(tc, ac)
                    measured[(tc, ac)] = r
                r = dict(r, tp_frac=ft, ap_frac=fa,
                         tp_rel=round(r["tps"] / tp_peak["tps"], 4),
                         ap_rel=round(r["qps"] / ap_peak["qps"], 4))
                if tc or ac:
                    say(f"{args.system}:   {r['tps']:,.0f} TPS ({r['tp_rel']:.2f}), "
                        f"{r['qps']:.2f} queries/s ({r['ap_rel']:.2f})")
                grid.append(r)
        res["grid"] = grid

        # --- freshness (PrismDB): the full-load point again with the probe,
        # one connection inserting increasing ids into fresh (columnar
        # replica), another polling select max(id) with the columnar engine.
        # A run of its own: the probe's back-to-back reader takes CPU, and
        # PostgreSQL has no probe to match, so the grid stays without it.
        if args.system == "prismdb" and args.fresh_rate > 0:
            replica_error = tpch.fresh_prepare(args.port, 120)
            fresh = {"columnar_replica": replica_error is None}
            if replica_error:
                fresh["replica_error"] = replica_error
                say(f"{args.system}: freshness: WARNING: no columnar replica on fresh ({replica_error})")
            say(f"{args.system}: the full-load point again ({tp_peak['clients']} TP + "
                f"{ap_peak['clients']} AP clients) with the freshness probe, {args.fresh_rate:g} INSERTs/s")
            r = runner.mix(tp_peak["clients"], ap_peak["clients"], fresh=fresh)
            r.update(tp_rel=round(r["tps"] / tp_peak["tps"], 4),
                     ap_rel=round(r["qps"] / ap_peak["qps"], 4))
            res["fresh_point"] = r
            res["freshness"] = fresh
            if fresh.get("error"):
                say(f"{args.system}: freshness FAILED: {fresh['error']}")
    except Exception as e:  # noqa: BLE001
        res["error"] = error_text(e)
        say(f"{args.system}: FAILED: {res['error']}")
        write_json(args.out, res)
        if tx.runs and getattr(tx, "proc", None) is not None and tx.proc.poll() is None:
            tx.proc.kill()
        sys.exit(1)
    finally:
        if ap is not None:
            ap.close()
    res["total_seconds"] = round(time.perf_counter() - t_all, 1)
    write_json(args.out, res)


# --- report --------------------------------------------------------------------
def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def point(r, ft, fa):
    for p in r.get("grid", []):
        if p["tp_frac"] == ft and p["ap_frac"] == fa:
            return p
    return None


def frontier(points):
    """The upper-right envelope: the points no other point beats on both
    axes, by increasing x, extended to the axes (a workload can always be
    given fewer clients, so (0, y) and (x, 0) below a point are reachable)."""
    pts = sorted(((p["tp_rel"], p["ap_rel"]) for p in points), key=lambda q: (-q[0], -q[1]))
    env = []
    best_y = -1.0
    for x, y in pts:
        if y > best_y:
            env.append((x, y))
            best_y = y
    env.reverse()
    if not env:
        return []
    return [(0.0, env[0][1])] + env + [(env[-1][0], 0.0)]


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": model or platform.processor(),
            "kernel": platform.release()}


def fmt_ms(v):
    return "-" if v is None else f"{v:.3f}"


def draw(path, systems, runs, args, mach):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [s for s in systems if runs.get(s) and runs[s].get("grid")]
    fig, axes = plt.subplots(1, max(1, len(ok)), figsize=(6.2 * max(1, len(ok)), 6.2),
                             squeeze=False, sharey=True)
    lim = 1.15
    for s in ok:
        for p in runs[s]["grid"]:
            lim = max(lim, p["tp_rel"] + 0.05, p["ap_rel"] + 0.05)
    for ax, s in zip(axes[0], ok):
        r = runs[s]
        pts = [p for p in r["grid"] if p["tp_clients"] or p["ap_clients"]]
        # the other systems' frontiers, faint, for comparison
        for o in ok:
            if o != s:
                f = frontier([p for p in runs[o]["grid"] if p["tp_clients"] or p["ap_clients"]])
                ax.plot([x for x, _ in f], [y for _, y in f], color=COLORS[o], alpha=0.3,
                        lw=1.5, label=f"{LABELS[o]} frontier")
        ax.plot([0, 1], [1, 0], color="gray", ls="--", lw=1, label="proportional")
        ax.plot([0, 1, 1], [1, 1, 0], color="black", ls=":", lw=1, label="bounding box")
        f = frontier(pts)
        ax.plot([x for x, _ in f], [y for _, y in f], color=COLORS[s], lw=2.2,
                label=f"{LABELS[s]} frontier")
        ax.scatter([p["tp_rel"] for p in pts], [p["ap_rel"] for p in pts], color=COLORS[s],
                   s=28, zorder=3, label="grid points")
        full = point(r, 1.0, 1.0)
        if full:
            ax.scatter([full["tp_rel"]], [full["ap_rel"]], marker="*", s=180, color=COLORS[s],
                       edgecolor="black", zorder=4,
                       label=f"(1, 1): {full['tp_rel']:.2f} + {full['ap_rel']:.2f} = "
                             f"{full['tp_rel'] + full['ap_rel']:.2f}")
        tp, ap = r["tp_peak"], r["ap_peak"]
        ax.set_title(f"{LABELS[s]}\nTP alone {tp['tps']:,.0f} TPS @ {tp['clients']} clients, "
                     f"AP alone {ap['qps']:.2f} q/s @ {ap['clients']}", fontsize=10)
        ax.set_xlim(0, lim)
        ax.set_ylim(0, lim)
        ax.set_aspect("equal")
        ax.grid(alpha=0.3)
        ax.set_xlabel("TP throughput / TP alone peak")
        ax.legend(loc="upper right", fontsize=8)
    axes[0][0].set_ylabel("AP throughput / AP alone peak")
    cpu = f", {mach['cpu']}" if mach.get("cpu") else ""
    fig.suptitle(f"HTAP throughput frontier (HATtrick): TPC-H SF {args.sf} + "
                 f"{args.rows:,}-row htap_accounts; {mach['cores']} cores{cpu}; "
                 f"{args.seconds}s per point; {args.commit}, {args.timestamp}", fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cmd_report(args):
    systems = [s for s in SYSTEM_ORDER if s in args.systems.split(",")]
    runs = {s: read_json(os.path.join(args.work, f"htap-{s}.json")) for s in systems}
    mach = machine()
    failed = False
    print()
    print(f"HTAP (HATtrick) frontier: TPC-H SF {args.sf} analytics + {args.rows:,}-row htap_accounts "
          f"transactions; {mach['cores']} cores; {args.seconds}s per point")
    print(f"  TP: pgbench -M prepared, point SELECT by key @{SELECT_WEIGHT} + single-row UPDATE "
          f"by key @{UPDATE_WEIGHT}")
    print(f"  AP: looping {args.queries}, one connection per client")
    summary = {}
    for s in systems:
        r = runs.get(s)
        print()
        if r is None or r.get("error") or not r.get("grid"):
            why = (r or {}).get("error", "no results (see messages above)")
            print(f"{LABELS[s]}: FAILED: {why}")
            failed = True
            continue
        tp, ap = r["tp_peak"], r["ap_peak"]
        tp_ramp = ", ".join("%d: %s" % (x["tp_clients"], f"{x['tps']:,.0f}") for x in r["tp_ramp"])
        ap_ramp = ", ".join("%d: %.2f" % (x["ap_clients"], x["qps"]) for x in r["ap_ramp"])
        print(f"{LABELS[s]} ({r.get('ap_engine')}): TP alone peak {tp['tps']:,.0f} TPS at "
              f"{tp['clients']} clients (ramp, clients: TPS {tp_ramp}); AP alone peak "
              f"{ap['qps']:.2f} queries/s at {ap['clients']} clients (ramp {ap_ramp})")
        fracs = r["fractions"]
        print("  TP rel / AP rel; rows: TP fraction (clients), columns: AP fraction (clients)")
        heads = ["%g (%d)" % (fa, clients_at(fa, ap["clients"])) for fa in fracs]
        print("  " + "TP \\ AP".ljust(12) + "".join(h.rjust(14) for h in heads))
        for ft in fracs:
            cells = []
            for fa in fracs:
                p = point(r, ft, fa)
                if p is None or (not p["tp_clients"] and not p["ap_clients"]):
                    cells.append("-")
                else:
                    cells.append(f"{p['tp_rel']:.2f} / {p['ap_rel']:.2f}")
            row = "%g (%d)" % (ft, clients_at(ft, tp["clients"]))
            print("  " + row.ljust(12) + "".join(c.rjust(14) for c in cells))
        full, tp_alone = point(r, 1.0, 1.0), point(r, 1.0, 0.0)
        sm = {"tp_peak": tp, "ap_peak": ap}
        if full:
            total = full["tp_rel"] + full["ap_rel"]
            sm.update(full_tp_rel=full["tp_rel"], full_ap_rel=full["ap_rel"], full_sum=round(total, 4))
            print(f"  at (1, 1): TP rel {full['tp_rel']:.2f} + AP rel {full['ap_rel']:.2f} = {total:.2f} "
                  f"({full['tps']:,.0f} TPS, {full['qps']:.2f} queries/s; goal above 1.2)")
        if full and tp_alone and full.get("tp") and tp_alone.get("tp"):
            a, b = tp_alone["tp"].get("select_p99_ms"), full["tp"].get("select_p99_ms")
            ratio = f" ({b / a:.1f}x)" if a and b else ""
            sm.update(select_p99_alone_ms=a, select_p99_mixed_ms=b)
            print(f"  point-select latency at {tp['clients']} TP clients: p50 "
                  f"{fmt_ms(tp_alone['tp'].get('select_p50_ms'))} ms / p99 {fmt_ms(a)} ms alone (1, 0), "
                  f"p50 {fmt_ms(full['tp'].get('select_p50_ms'))} ms / p99 {fmt_ms(b)} ms with "
                  f"analytics (1, 1){ratio}")
        errs = sum(p.get("ap", {}).get("errors", 0) for p in r["grid"] if not p.get("reused"))
        if errs:
            print(f"  analytical query errors during the grid: {errs}")
        bad = [n for n, w in r.get("warmup", {}).items() if "error" in w]
        if bad:
            print(f"  left out after failing in the warm-up: "
                  + "; ".join(f"{n}: {r['warmup'][n]['error']}" for n in bad))
        fr = r.get("freshness")
        if fr is not None:
            fp = r.get("fresh_point", {})
            if fr.get("error"):
                print(f"  freshness: FAILED: {fr['error']}")
            else:
                note = "" if fr.get("columnar_replica") else f"  [no columnar replica: {fr.get('replica_error')}]"
                print(f"  freshness during the full-load point (run again with the probe: "
                      f"{fp.get('tps', 0):,.0f} TPS, {fp.get('qps', 0):.2f} queries/s): "
                      f"{fr['writes']} INSERTs at {fr['achieved_rate']:g}/s, commit-to-visible lag "
                      f"p50 {fr['lag_p50_ms']} ms, p99 {fr['lag_p99_ms']} ms, max {fr['lag_max_ms']} ms "
                      f"over {fr['tracked_writes']} writes ({fr['unseen']} never seen; reader "
                      f"select max(id) p50 {fr['reader_query_p50_ms']} ms){note}")
            sm["freshness"] = {k: fr.get(k) for k in ("lag_p50_ms", "lag_p99_ms", "lag_max_ms")}
        summary[s] = sm

    if len(summary) > 1:
        print()
        print(f"{'system':<15}{'TP peak TPS':>13}{'AP peak q/s':>13}{'(1,1) TP+AP':>13}"
              f"{'p99 alone':>11}{'p99 mixed':>11}{'fresh p99':>11}")
        for s, sm in summary.items():
            fresh_p99 = fmt_ms((sm.get("freshness") or {}).get("lag_p99_ms")) if s == "prismdb" else "n/a"
            full_sum = f"{sm['full_sum']:.2f}" if "full_sum" in sm else "-"
            print(f"{LABELS[s]:<15}{sm['tp_peak']['tps']:>13,.0f}{sm['ap_peak']['qps']:>13.2f}"
                  f"{full_sum:>13}{fmt_ms(sm.get('select_p99_alone_ms')):>11}"
                  f"{fmt_ms(sm.get('select_p99_mixed_ms')):>11}{fresh_p99:>11}")
        print("(p99 in ms of the point SELECTs at the TP peak's clients; fresh p99: commit-to-visible "
              "lag of the columnar replica)")

    result = {
        "benchmark": "htap",
        "method": "HATtrick (Milkai et al., SIGMOD 2022)",
        "timestamp": args.timestamp,
        "commit": args.commit,
        "sf": args.sf,
        "seconds": args.seconds,
        "rows": args.rows,
        "queries": args.queries.split(","),
        "tp_mix": {"select_weight": SELECT_WEIGHT, "update_weight": UPDATE_WEIGHT},
        "machine": mach,
        "skipped_load": args.skipped_load or None,
        "loads": {s: {"tpch": read_json(os.path.join(args.work, f"load-{s}.json")),
                      "accounts": read_json(os.path.join(args.work, f"accounts-{s}.json"))}
                  for s in systems},
        "columnar_replicas": read_json(os.path.join(args.work, "replicas.json")),
        "summary": summary,
        "systems": runs,
        "png": args.png_out,
    }
    write_json(args.json_out, result)
    try:
        draw(args.png_out, systems, runs, args, mach)
    except Exception as e:  # noqa: BLE001
        print(f"bench: plot FAILED: {error_text(e)}")
        failed = True
    print()
    print(f"plot written to {args.png_out}")
    print(f"results written to {args.json_out}")
    return 1 if failed else 0


# --- command line ----------------------------------------------------------------
def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    sp = sub.add_parser("accounts")
    sp.add_argument("--system", choices=SYSTEM_ORDER, required=True)
    sp.add_argument("--port", type=int, required=True)
    sp.add_argument("--rows", type=int, default=100000)
    sp.add_argument("--out", required=True)

    sp = sub.add_parser("run")
    sp.add_argument("--system", choices=SYSTEM_ORDER, required=True)
    sp.add_argument("--port", type=int, required=True)
    sp.add_argument("--pgbench", required=True)
    sp.add_argument("--work", required=True)
    sp.add_argument("--rows", type=int, default=100000)
    sp.add_argument("--seconds", type=int, default=10)
    sp.add_argument("--tp-clients", default="1,2,4,8,16,32")
    sp.add_argument("--ap-clients", default="1,2,3,4")
    sp.add_argument("--fractions", default="0,0.2,0.5,0.8,1")
    sp.add_argument("--queries", default="q01,q03,q05,q06,q10,q12,q14,q19")
    sp.add_argument("--ap-engine", default="columnar", choices=["columnar", "auto", "row"])
    sp.add_argument("--fresh-rate", type=float, default=100)
    sp.add_argument("--warmup", type=float, default=3)
    sp.add_argument("--pause", type=float, default=1.0)
    sp.add_argument("--out", required=True)

    sp = sub.add_parser("report")
    sp.add_argument("--work", required=True)
    sp.add_argument("--systems", required=True)
    sp.add_argument("--sf", required=True)
    sp.add_argument("--seconds", type=int, required=True)
    sp.add_argument("--rows", type=int, required=True)
    sp.add_argument("--queries", required=True)
    sp.add_argument("--timestamp", required=True)
    sp.add_argument("--commit", default="")
    sp.add_argument("--skipped-load", default="")
    sp.add_argument("--json-out", required=True)
    sp.add_argument("--png-out", required=True)

    args = p.parse_args()
    rc = {"accounts": cmd_accounts, "run": cmd_run, "report": cmd_report}[args.cmd](args)
    sys.exit(rc or 0)


if __name__ == "__main__":
    main()
