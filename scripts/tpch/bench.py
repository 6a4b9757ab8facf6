#!/usr/bin/env python3
"""TPC-H driver of scripts/bench-tpch; run by that script inside the bench venv.

Subcommands (each writes one JSON file that `report` reads back):

  load     create the TPC-H schema on PostgreSQL or PrismDB and load the CSV
           files with COPY FROM STDIN (PrismDB: in chunks over several
           connections, each chunk one transaction)
  replicas ALTER TABLE <t> SET COLUMNAR REPLICA 1 for every table on PrismDB
           and wait until information_schema.columnar_replicas says available
  run      time the queries on one system: duckdb, datafusion (over Parquet),
           postgres, prismdb-row, prismdb-columnar or prismdb-auto (over the
           wire; prismdb-auto lets the cost-based router choose each scan's
           engine and records the engines EXPLAIN names for every query)
  fresh    PrismDB freshness: paced single-row INSERTs on one connection,
           `select max(id) from fresh` in a loop on another (columnar engine)
  loop     run one query back to back on one connection until a stop file
           appears (scripts/bench-point --with-analytics: TPC-H Q1 while
           point lookups are measured)
  report   compare results against a reference system, print the table and
           write the combined JSON

Every query is run once to warm up and then --runs times; the median of those
runs is reported. Result rows are compared sorted, with numbers rounded to two
decimals (a difference of 0.01 is tolerated: engines average in floating point
or in decimal), dates and strings as text (trailing blanks dropped).
"""

import argparse
import csv
import datetime as dt
import decimal
import json
import os
import queue
import re
import signal
import statistics
import sys
import threading
import time
from decimal import Decimal

decimal.getcontext().prec = 60

HERE = os.path.dirname(os.path.abspath(__file__))
QUERY_DIR = os.path.join(HERE, "queries")

# --- schema ---------------------------------------------------------------
# (column, SQL type, kind) with kind: i integer, n numeric, d date, s string.
SCHEMA = {
    "region": (
        [("r_regionkey", "bigint", "i"), ("r_name", "varchar(25)", "s"),
         ("r_comment", "varchar(152)", "s")],
        ["r_regionkey"]),
    "nation": (
        [("n_nationkey", "bigint", "i"), ("n_name", "varchar(25)", "s"),
         ("n_regionkey", "bigint", "i"), ("n_comment", "varchar(152)", "s")],
        ["n_nationkey"]),
    "part": (
        [("p_partkey", "bigint", "i"), ("p_name", "varchar(55)", "s"),
         ("p_mfgr", "varchar(25)", "s"), ("p_brand", "varchar(10)", "s"),
         ("p_type", "varchar(25)", "s"), ("p_size", "integer", "i"),
         ("p_container", "varchar(10)", "s"), ("p_retailprice", "numeric(15,2)", "n"),
         ("p_comment", "varchar(23)", "s")],
        ["p_partkey"]),
    "supplier": (
        [("s_suppkey", "bigint", "i"), ("s_name", "varchar(25)", "s"),
         ("s_address", "varchar(40)", "s"), ("s_nationkey", "bigint", "i"),
         ("s_phone", "varchar(15)", "s"), ("s_acctbal", "numeric(15,2)", "n"),
         ("s_comment", "varchar(101)", "s")],
        ["s_suppkey"]),
    "partsupp": (
        [("ps_partkey", "bigint", "i"), ("ps_suppkey", "bigint", "i"),
         ("ps_availqty", "integer", "i"), ("ps_supplycost", "numeric(15,2)", "n"),
         ("ps_comment", "varchar(199)", "s")],
        ["ps_partkey", "ps_suppkey"]),
    "customer": (
        [("c_custkey", "bigint", "i"), ("c_name", "varchar(25)", "s"),
         ("c_address", "varchar(40)", "s"), ("c_nationkey", "bigint", "i"),
         ("c_phone", "varchar(15)", "s"), ("c_acctbal", "numeric(15,2)", "n"),
         ("c_mktsegment", "varchar(10)", "s"), ("c_comment", "varchar(117)", "s")],
        ["c_custkey"]),
    "orders": (
        [("o_orderkey", "bigint", "i"), ("o_custkey", "bigint", "i"),
         ("o_orderstatus", "char(1)", "s"), ("o_totalprice", "numeric(15,2)", "n"),
         ("o_orderdate", "date", "d"), ("o_orderpriority", "varchar(15)", "s"),
         ("o_clerk", "varchar(15)", "s"), ("o_shippriority", "integer", "i"),
         ("o_comment", "varchar(79)", "s")],
        ["o_orderkey"]),
    "lineitem": (
        [("l_orderkey", "bigint", "i"), ("l_partkey", "bigint", "i"),
         ("l_suppkey", "bigint", "i"), ("l_linenumber", "integer", "i"),
         ("l_quantity", "numeric(15,2)", "n"), ("l_extendedprice", "numeric(15,2)", "n"),
         ("l_discount", "numeric(15,2)", "n"), ("l_tax", "numeric(15,2)", "n"),
         ("l_returnflag", "char(1)", "s"), ("l_linestatus", "char(1)", "s"),
         ("l_shipdate", "date", "d"), ("l_commitdate", "date", "d"),
         ("l_receiptdate", "date", "d"), ("l_shipinstruct", "varchar(25)", "s"),
         ("l_shipmode", "varchar(10)", "s"), ("l_comment", "varchar(44)", "s")],
        ["l_orderkey", "l_linenumber"]),
}
TABLES = ["region", "nation", "part", "supplier", "partsupp", "customer", "orders", "lineitem"]

LABELS = {
    "duckdb": "DuckDB",
    "datafusion": "DataFusion",
    "postgres": "PostgreSQL",
    "prismdb-row": "Prism row",
    "prismdb-columnar": "Prism col",
    "prismdb-auto": "Prism auto",
}
SYSTEM_ORDER = ["duckdb", "datafusion", "postgres", "prismdb-row", "prismdb-columnar", "prismdb-auto"]
REFERENCES = ["duckdb", "datafusion", "postgres"]


def say(msg):
    print(f"bench: {msg}", flush=True)


def create_table_sql(table):
    cols, pk = SCHEMA[table]
    body = ",\n  ".join(f"{c} {t} NOT NULL" for c, t, _ in cols)
    return f"CREATE TABLE {table} (\n  {body},\n  PRIMARY KEY ({', '.join(pk)})\n)"


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, default=str)
        f.write("\n")
    os.replace(tmp, path)


def connect(port, autocommit=True):
    import psycopg
    return psycopg.connect(host="127.0.0.1", port=port, user="prism", dbname="prism",
                           sslmode="disable", autocommit=autocommit, connect_timeout=30)


def error_text(e):
    msg = str(e).strip().splitlines()
    first = msg[0] if msg else type(e).__name__
    code = getattr(getattr(e, "diag", None), "sqlstate", None) or getattr(e, "sqlstate", None)
    return f"{first} [{code}]" if code else first


# --- loading --------------------------------------------------------------
def csv_path(csv_dir, table):
    return os.path.join(csv_dir, f"{table}.csv")


def load_postgres(args):
    stats = {"system": "postgres", "method": "COPY FROM STDIN (csv), then VACUUM ANALYZE",
             "tables": {}}
    t_all = time.perf_counter()
    with connect(args.port) as conn:
        for table in args.tables:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute(create_table_sql(table))
        for table in args.tables:
            t0 = time.perf_counter()
            with conn.cursor() as cur:
                with cur.copy(f"COPY {table} FROM STDIN (FORMAT csv, HEADER true)") as cp:
                    with open(csv_path(args.csv, table), "rb") as f:
                        while True:
                            block = f.read(1 << 20)
                            if not block:
                                break
                            cp.write(block)
                rows = cur.rowcount
            secs = time.perf_counter() - t0
            stats["tables"][table] = {"rows": rows, "seconds": round(secs, 3)}
            say(f"postgres: {table}: {rows} rows in {secs:.1f}s")
        t0 = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        stats["analyze_seconds"] = round(time.perf_counter() - t0, 3)
    finish_load(stats, t_all, args.out)


def load_prismdb(args):
    """COPY FROM STDIN (csv) in chunks of --batch rows, the chunks spread
    over --conns connections; each chunk is one transaction. Then ANALYZE,
    as PostgreSQL gets VACUUM ANALYZE (otherwise the first queries would
    analyze the tables in the background while they are timed)."""
    stats = {"system": "prismdb",
             "method": f"COPY FROM STDIN (csv) in {args.batch}-row chunks over {args.conns} connections, then ANALYZE",
             "tables": {}}
    t_all = time.perf_counter()
    with connect(args.port) as conn:
        for table in args.tables:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute(create_table_sql(table))
    conns = [connect(args.port) for _ in range(args.conns)]
    try:
        for table in args.tables:
            work = queue.Queue(maxsize=args.conns * 2)
            failure = []

            def worker(conn, table=table):
                while True:
                    chunk = work.get()
                    if chunk is None:
                        return
                    if failure:
                        continue
                    try:
                        with conn.cursor() as cur:
                            with cur.copy(f"COPY {table} FROM STDIN (FORMAT csv)") as cp:
                                cp.write(chunk)
                    except Exception as e:  # noqa: BLE001 - reported below
                        failure.append(error_text(e))

            threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in conns]
            for t in threads:
                t.start()
            t0 = time.perf_counter()
            rows = 0
            lines = []
            with open(csv_path(args.csv, table), "rb") as f:
                f.readline()  # header
                for line in f:
                    lines.append(line)
                    if len(lines) == args.batch:
                        work.put(b"".join(lines))
                        rows += len(lines)
                        lines = []
                        if failure:
                            break
                if lines and not failure:
                    work.put(b"".join(lines))
                    rows += len(lines)
            for _ in threads:
                work.put(None)
            for t in threads:
                t.join()
            if failure:
                raise RuntimeError(f"loading {table}: {failure[0]}")
            secs = time.perf_counter() - t0
            count = conns[0].execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            if count != rows:
                raise RuntimeError(f"{table}: sent {rows} rows, count(*) says {count}")
            stats["tables"][table] = {"rows": rows, "seconds": round(secs, 3)}
            say(f"prismdb: {table}: {rows} rows in {secs:.1f}s ({rows / max(secs, 1e-9):,.0f} rows/s)")
        t0 = time.perf_counter()
        conns[0].execute("ANALYZE")
        stats["analyze_seconds"] = round(time.perf_counter() - t0, 3)
        say(f"prismdb: ANALYZE in {stats['analyze_seconds']:.1f}s")
    finally:
        for c in conns:
            c.close()
    finish_load(stats, t_all, args.out)


def finish_load(stats, t_all, out):
    secs = time.perf_counter() - t_all
    rows = sum(t["rows"] for t in stats["tables"].values())
    stats.update(rows=rows, seconds=round(secs, 3), rows_per_s=round(rows / max(secs, 1e-9)))
    say(f"{stats['system']}: loaded {rows} rows in {secs:.1f}s ({stats['rows_per_s']:,} rows/s)")
    write_json(out, stats)


def cmd_load(args):
    args.tables = args.tables.split(",")
    unknown = [t for t in args.tables if t not in SCHEMA]
    if unknown:
        say(f"{args.system}: load FAILED: unknown tables {', '.join(unknown)}")
        sys.exit(1)
    try:
        if args.system == "postgres":
            load_postgres(args)
        else:
            load_prismdb(args)
    except Exception as e:  # noqa: BLE001
        say(f"{args.system}: load FAILED: {error_text(e)}")
        write_json(args.out, {"system": args.system, "error": error_text(e)})
        sys.exit(1)


# --- columnar replicas ------------------------------------------------------
def wait_replicas(conn, timeout):
    """Polls until every columnar replica is available; returns (ok, detail)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            ok = conn.execute(
                "select bool_and(available) from information_schema.columnar_replicas").fetchone()[0]
        except Exception as e:  # noqa: BLE001
            return False, f"information_schema.columnar_replicas: {error_text(e)}"
        if ok:
            return True, "available"
        if time.monotonic() > deadline:
            return False, f"replicas not available after {timeout}s (bool_and(available) = {ok})"
        time.sleep(0.5)


def cmd_replicas(args):
    tables = args.tables.split(",")
    res = {"tables": tables, "ok": False}
    t0 = time.perf_counter()
    with connect(args.port) as conn:
        for table in tables:
            try:
                conn.execute(f"ALTER TABLE {table} SET COLUMNAR REPLICA 1")
            except Exception as e:  # noqa: BLE001
                res["error"] = f"ALTER TABLE {table} SET COLUMNAR REPLICA 1: {error_text(e)}"
                say(f"prismdb: columnar replica FAILED: {res['error']}")
                write_json(args.out, res)
                sys.exit(1)
        ok, detail = wait_replicas(conn, args.wait)
    res["seconds"] = round(time.perf_counter() - t0, 3)
    res["ok"] = ok
    if not ok:
        res["error"] = detail
        say(f"prismdb: columnar replicas FAILED: {detail}")
        write_json(args.out, res)
        sys.exit(1)
    say(f"prismdb: columnar replicas of {len(tables)} tables available after {res['seconds']:.1f}s")
    # A new replica's first checkpoint (freezing, compaction, segment files)
    # follows right after it becomes available; wait for it, as PostgreSQL
    # gets its VACUUM ANALYZE, so the timed queries do not share the CPU
    # with the end of the load.
    t1 = time.perf_counter()
    with connect(args.port) as conn:
        settled = wait_checkpointed(conn, args.wait)
    res["checkpoint_seconds"] = round(time.perf_counter() - t1, 3)
    res["checkpointed"] = settled
    say(f"prismdb: columnar replicas {'checkpointed' if settled else 'NOT checkpointed'} "
        f"{res['checkpoint_seconds']:.1f}s later")
    write_json(args.out, res)


def wait_checkpointed(conn, timeout):
    """Polls until every columnar replica has a checkpoint on disk."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if conn.execute("select bool_and(checkpoint_index > 0) "
                            "from information_schema.columnar_replicas").fetchone()[0]:
                return True
        except Exception as e:  # noqa: BLE001
            say(f"prismdb: information_schema.columnar_replicas: {error_text(e)}")
            return False
        time.sleep(0.5)
    return False


# --- result normalization and comparison -----------------------------------
CENT = Decimal("0.01")


def norm_value(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return ["s", "true" if v else "false"]
    if isinstance(v, (int, float, Decimal)):
        if isinstance(v, float):
            if v != v or v in (float("inf"), float("-inf")):
                return ["s", str(v)]
            v = Decimal(repr(v))
        elif isinstance(v, int):
            v = Decimal(v)
        if not v.is_finite():
            return ["s", str(v)]
        return ["n", str(v.quantize(CENT, rounding=decimal.ROUND_HALF_EVEN))]
    if isinstance(v, dt.datetime):
        return ["s", v.isoformat(sep=" ")]
    if isinstance(v, dt.date):
        return ["s", v.isoformat()]
    if isinstance(v, (bytes, bytearray, memoryview)):
        return ["s", bytes(v).hex()]
    return ["s", str(v).rstrip()]


def norm_rows(rows):
    return [[norm_value(v) for v in r] for r in rows]


def sort_key(row):
    key = []
    for v in row:
        if v is None:
            key.append((0, Decimal(0), ""))
        elif v[0] == "n":
            key.append((1, Decimal(v[1]), ""))
        else:
            key.append((2, Decimal(0), v[1]))
    return key


def same_value(a, b):
    if a is None or b is None:
        return a is None and b is None
    if a[0] == "n" and b[0] == "n":
        return abs(Decimal(a[1]) - Decimal(b[1])) <= CENT
    return a == b


def show(v):
    return "NULL" if v is None else v[1]


def compare_rows(ref, got):
    if len(ref) != len(got):
        return f"{len(got)} rows, reference has {len(ref)}"
    ref = sorted(ref, key=sort_key)
    got = sorted(got, key=sort_key)
    for i, (a, b) in enumerate(zip(ref, got)):
        if len(a) != len(b):
            return f"{len(b)} columns, reference has {len(a)}"
        for j, (x, y) in enumerate(zip(a, b)):
            if not same_value(x, y):
                return f"sorted row {i + 1}, column {j + 1}: {show(y)} vs {show(x)}"
    return None


# --- timing -----------------------------------------------------------------
class QueryTimeout(Exception):
    pass


def load_queries(names):
    out = []
    for name in names:
        with open(os.path.join(QUERY_DIR, f"{name}.sql")) as f:
            text = f.read()
        lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("--")]
        out.append((name, "\n".join(lines).strip().rstrip(";").strip()))
    return out


def arrow_rows(table):
    cols = [c.to_pylist() for c in table.columns]
    return [list(r) for r in zip(*cols)] if cols else []


class DuckDBEngine:
    describe = "DuckDB over the Parquet files (views on read_parquet)"

    def __init__(self, args):
        import duckdb
        self.version = duckdb.__version__
        self.con = duckdb.connect()
        threads = self.con.execute("select current_setting('threads')").fetchone()[0]
        self.describe += f", threads={threads}"
        for t in TABLES:
            path = os.path.join(args.parquet, f"{t}.parquet").replace("'", "''")
            self.con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{path}')")

    def execute(self, sql, timeout):
        import duckdb
        timer = threading.Timer(timeout, self.con.interrupt)
        timer.start()
        try:
            rel = self.con.sql(sql)
            fetch = getattr(rel, "to_arrow_table", None) or getattr(rel, "arrow")
            return arrow_rows(fetch())
        except duckdb.InterruptException as e:
            raise QueryTimeout() from e
        finally:
            timer.cancel()


class DataFusionEngine:
    def __init__(self, args):
        import datafusion
        from datafusion import SessionConfig, SessionContext
        self.version = datafusion.__version__
        parts = os.cpu_count() or 1
        self.describe = f"DataFusion over the Parquet files (register_parquet), target_partitions={parts}"
        self.ctx = SessionContext(SessionConfig().with_target_partitions(parts))
        for t in TABLES:
            self.ctx.register_parquet(t, os.path.join(args.parquet, f"{t}.parquet"))

    def execute(self, sql, timeout):
        # DataFusion's Python bindings check for signals while they wait.
        def on_alarm(_sig, _frame):
            raise QueryTimeout()
        old = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            return arrow_rows(self.ctx.sql(sql).to_arrow_table())
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


class WireEngine:
    """PostgreSQL or PrismDB over the PostgreSQL protocol (psycopg)."""

    def __init__(self, args):
        self.system = args.system
        self.port = args.port
        self.timeout = args.timeout
        self.conn = None
        self.describe = {
            "postgres": "PostgreSQL 15 over the wire (psycopg)",
            "prismdb-row": "PrismDB, SET prism.read_engines = 'row'",
            "prismdb-columnar": "PrismDB, SET prism.read_engines = 'columnar'",
            "prismdb-auto": "PrismDB, SET prism.read_engines = 'auto' (the cost-based router)",
        }[self.system]
        self.warnings = []
        if self.system in ("prismdb-columnar", "prismdb-auto"):
            with connect(self.port) as conn:
                ok, detail = wait_replicas(conn, args.replica_wait)
            if not ok:
                raise RuntimeError(f"no columnar replicas: {detail}")
        self.reconnect()
        self.version = self.conn.execute("select version()").fetchone()[0]

    def reconnect(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001
                pass
        self.conn = connect(self.port)
        self.conn.execute(f"SET statement_timeout = '{int(self.timeout * 1000)}ms'")
        if self.system.startswith("prismdb"):
            mode = self.system.split("-", 1)[1]
            try:
                self.conn.execute(f"SET prism.read_engines = '{mode}'")
            except Exception as e:  # noqa: BLE001
                if mode != "row":
                    raise RuntimeError(f"SET prism.read_engines = 'columnar': {error_text(e)}") from e
                self.warnings.append(f"SET prism.read_engines = 'row' failed: {error_text(e)}")
                say(f"{self.system}: warning: {self.warnings[-1]} (continuing)")

    def execute(self, sql, timeout):
        import psycopg
        if self.conn.closed or self.conn.broken:
            self.reconnect()
        # statement_timeout ends the query on the server; this is the fallback.
        conn = self.conn
        timer = threading.Timer(timeout + 30, lambda: conn.cancel_safe(timeout=5))
        timer.start()
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return [list(r) for r in cur.fetchall()] if cur.description else []
        except psycopg.errors.QueryCanceled as e:
            raise QueryTimeout() from e
        finally:
            timer.cancel()

    def scan_engines(self, sql):
        """How many table scans of `sql` EXPLAIN routes to each engine:
        {"row": n, "columnar": m}."""
        counts = {"row": 0, "columnar": 0}
        with self.conn.cursor() as cur:
            cur.execute("EXPLAIN " + sql)
            for row in cur.fetchall():
                for line in str(row[-1]).splitlines():
                    m = re.search(r"TableScan: .*?engine=(row|columnar)", line)
                    if m:
                        counts[m.group(1)] += 1
        return counts


def cmd_run(args):
    names = args.queries.split(",")
    out = {"system": args.system, "runs": args.runs, "timeout_s": args.timeout, "queries": {}}
    say(f"{args.system}: running {len(names)} queries, 1 warm-up + {args.runs} timed runs each")
    try:
        if args.system == "duckdb":
            engine = DuckDBEngine(args)
        elif args.system == "datafusion":
            engine = DataFusionEngine(args)
        else:
            engine = WireEngine(args)
    except Exception as e:  # noqa: BLE001
        out["error"] = error_text(e)
        say(f"{args.system}: FAILED: {out['error']}")
        write_json(args.out, out)
        sys.exit(1)
    out["describe"] = engine.describe
    out["version"] = engine.version
    out["warnings"] = getattr(engine, "warnings", [])
    for name, sql in load_queries(names):
        q = {"status": "ok"}
        try:
            rows = engine.execute(sql, args.timeout)
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                engine.execute(sql, args.timeout)
                times.append((time.perf_counter() - t0) * 1000)
            q["ms"] = round(statistics.median(times), 3)
            q["runs_ms"] = [round(t, 3) for t in times]
            q["nrows"] = len(rows)
            q["rows"] = norm_rows(rows)
            routed = ""
            if hasattr(engine, "scan_engines") and args.system == "prismdb-auto":
                q["engines"] = engine.scan_engines(sql)
                routed = f"  scans: {q['engines']['columnar']} columnar, {q['engines']['row']} row"
            say(f"{args.system}: {name} {q['ms']:10.1f} ms  (runs: "
                f"{' '.join(f'{t:.1f}' for t in times)})  {len(rows)} rows{routed}")
        except QueryTimeout:
            q = {"status": "timeout", "error": f"exceeded {args.timeout}s"}
            say(f"{args.system}: {name} timeout (> {args.timeout}s)")
        except Exception as e:  # noqa: BLE001
            q = {"status": "error", "error": error_text(e)}
            say(f"{args.system}: {name} error: {q['error']}")
        out["queries"][name] = q
    write_json(args.out, out)


# --- freshness --------------------------------------------------------------
def percentile(sorted_vals, frac):
    if not sorted_vals:
        return None
    idx = max(0, min(len(sorted_vals) - 1, int(-(-len(sorted_vals) * frac // 1)) - 1))
    return sorted_vals[idx]


def fresh_prepare(port, replica_wait):
    """(Re)creates fresh(id, ts) with a columnar replica and waits for it;
    returns None, or why there is no replica (the measurement then reads
    whatever serves read_engines = 'columnar')."""
    with connect(port) as conn:
        conn.execute("DROP TABLE IF EXISTS fresh")
        conn.execute("CREATE TABLE fresh (id bigint PRIMARY KEY, ts bigint NOT NULL)")
        try:
            conn.execute("ALTER TABLE fresh SET COLUMNAR REPLICA 1")
            ok, detail = wait_replicas(conn, replica_wait)
            return None if ok else detail
        except Exception as e:  # noqa: BLE001
            return f"ALTER TABLE fresh SET COLUMNAR REPLICA 1: {error_text(e)}"


def fresh_measure(port, secs, rate, writers, grace, tag="fresh"):
    """Commit-to-visible lag of single-row INSERTs into the (empty) table
    fresh under a paced write load.

    W connections insert into fresh(id, ts) at `rate` rows/s in total, each
    paced on its own staggered schedule. Connection 0 writes ids 1, 2, 3, ...
    one after another and records when each INSERT is acknowledged; the
    others write negative ids, so they add load without moving max(id).
    Since connection 0 commits its ids in order, a query whose max(id) is m
    sees every tracked id up to m. A reader connection runs
    `select max(id) from fresh` back to back with the columnar engine; a
    tracked write's lag is the start of the first query that saw it minus
    its acknowledgement, floored at 0 (visible before the ack came back).
    Returns the measurements as a dict; raises RuntimeError when the reader
    cannot select the columnar engine.
    """
    res = {"seconds": secs, "target_rate": rate, "writers": writers}
    reader_conn = connect(port)
    try:
        reader_conn.execute("SET prism.read_engines = 'columnar'")
    except Exception as e:  # noqa: BLE001
        reader_conn.close()
        raise RuntimeError(f"SET prism.read_engines = 'columnar': {error_text(e)}") from e
    writer_conns = [connect(port) for _ in range(writers)]

    acks = {}  # tracked id -> perf_counter at acknowledgement
    counts = [0] * writers
    writer_errors = []
    writers_done = threading.Event()
    reads = []  # (start, end, max id)
    period = 1.0 / rate
    t0 = time.perf_counter() + 0.5
    deadline = t0 + secs

    def writer(w):
        k = 0
        try:
            with writer_conns[w].cursor() as cur:
                while True:
                    due = t0 + (k * writers + w) * period
                    now = time.perf_counter()
                    if due >= deadline or now >= deadline:
                        return
                    if due > now:
                        time.sleep(due - now)
                    k += 1
                    ident = k if w == 0 else -((k - 1) * writers + w)
                    cur.execute("INSERT INTO fresh (id, ts) VALUES (%s, %s)",
                                (ident, time.time_ns() // 1000), prepare=True)
                    if w == 0:
                        acks[ident] = time.perf_counter()
                    counts[w] += 1
        except Exception as e:  # noqa: BLE001
            writer_errors.append(f"writer {w}: {error_text(e)}")

    def reader():
        grace_end = None
        with reader_conn.cursor() as cur:
            while True:
                s = time.perf_counter()
                cur.execute("select max(id) from fresh", prepare=True)
                m = cur.fetchone()[0] or 0
                e = time.perf_counter()
                reads.append((s, e, m))
                if writers_done.is_set():
                    if m >= len(acks):
                        return
                    if grace_end is None:
                        grace_end = e + grace
                    elif e > grace_end:
                        return

    tws = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    tr = threading.Thread(target=reader)
    say(f"{tag}: {rate:g} single-row INSERTs/s for {secs:g}s over {writers} connections, "
        "select max(id) from fresh in a loop on another")
    tr.start()
    for t in tws:
        t.start()
    for t in tws:
        t.join()
    write_secs = time.perf_counter() - t0
    writers_done.set()
    tr.join()
    for c in writer_conns + [reader_conn]:
        c.close()
    if writer_errors:
        res["writer_error"] = writer_errors[0]
        say(f"{tag}: {writer_errors[0]}")

    lags = {}
    next_id = 1
    for s, _e, m in reads:
        while next_id <= m:
            if next_id in acks:
                lags[next_id] = max(0.0, s - acks[next_id]) * 1000
            next_id += 1
    lag_vals = sorted(lags.values())
    n = sum(counts)
    q_ms = sorted((e - s) * 1000 for s, e, _ in reads)
    res.update(
        write_seconds=round(write_secs, 3),
        writes=n,
        achieved_rate=round(n / write_secs, 1) if write_secs > 0 else 0,
        tracked_writes=len(acks),
        unseen=len(acks) - len(lags),
        reader_queries=len(reads),
        reader_query_p50_ms=round(percentile(q_ms, 0.5) or 0, 3),
        lag_p50_ms=round(percentile(lag_vals, 0.5), 3) if lag_vals else None,
        lag_p99_ms=round(percentile(lag_vals, 0.99), 3) if lag_vals else None,
        lag_max_ms=round(lag_vals[-1], 3) if lag_vals else None,
    )
    say(f"{tag}: {n} writes in {write_secs:.1f}s, {res['achieved_rate']}/s achieved; lag over "
        f"{len(acks)} tracked writes: p50 {res['lag_p50_ms']} ms, p99 {res['lag_p99_ms']} ms, "
        f"max {res['lag_max_ms']} ms; {res['unseen']} never seen; {len(reads)} reader queries "
        f"(p50 {res['reader_query_p50_ms']} ms)")
    return res


def cmd_fresh(args):
    """Freshness alone (fresh_measure) on a new table fresh."""
    res = {"seconds": args.secs, "target_rate": args.rate, "writers": args.writers}
    replica_error = fresh_prepare(args.port, args.replica_wait)
    res["columnar_replica"] = replica_error is None
    if replica_error:
        res["replica_error"] = replica_error
        say(f"fresh: WARNING: no columnar replica ({replica_error}); "
            "the reader's query runs on whatever serves read_engines = 'columnar'")
    try:
        res.update(fresh_measure(args.port, args.secs, args.rate, args.writers, args.grace))
    except RuntimeError as e:
        res["error"] = str(e)
        say(f"fresh: FAILED: {res['error']}")
        write_json(args.out, res)
        sys.exit(1)
    write_json(args.out, res)


# --- query loop -------------------------------------------------------------
def cmd_loop(args):
    """Runs one query back to back on one connection (with the columnar
    engine for prismdb-columnar) until --stop-file exists; records how many
    runs completed and their median time."""
    args.timeout = args.query_timeout
    [(name, sql)] = load_queries([args.query])
    res = {"system": args.system, "query": name, "runs": 0}
    try:
        engine = WireEngine(args)
    except Exception as e:  # noqa: BLE001
        res["error"] = error_text(e)
        say(f"{args.system}: {name} loop FAILED: {res['error']}")
        write_json(args.out, res)
        sys.exit(1)
    times = []
    say(f"{args.system}: running {name} in a loop until {os.path.basename(args.stop_file)} appears")
    while not os.path.exists(args.stop_file):
        t0 = time.perf_counter()
        try:
            engine.execute(sql, args.query_timeout)
        except Exception as e:  # noqa: BLE001
            res["error"] = error_text(e)
            say(f"{args.system}: {name} loop: {res['error']}")
            break
        times.append((time.perf_counter() - t0) * 1000)
    res.update(runs=len(times),
               median_ms=round(statistics.median(times), 3) if times else None,
               runs_ms=[round(t, 3) for t in times])
    write_json(args.out, res)


# --- report -----------------------------------------------------------------
def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def fmt_ms(q):
    if q is None:
        return "-"
    if q["status"] != "ok":
        return q["status"]
    return f"{q['ms']:.1f}"


def cmd_report(args):
    work = args.work
    names = args.queries.split(",")
    systems = [s for s in SYSTEM_ORDER if s in args.systems.split(",")]
    runs = {s: read_json(os.path.join(work, f"run-{s}.json")) for s in systems}
    loads = {s: read_json(os.path.join(work, f"load-{s}.json")) for s in ("postgres", "prismdb")}
    replicas = read_json(os.path.join(work, "replicas.json"))
    fresh = read_json(os.path.join(work, "fresh.json"))

    def query(s, name):
        r = runs.get(s)
        return (r or {}).get("queries", {}).get(name)

    # --- correctness: every system against the first reference that answered
    checks = {}
    mismatches = []
    for name in names:
        ref = next((s for s in REFERENCES if s in systems and (query(s, name) or {}).get("status") == "ok"), None)
        if ref is None:
            checks[name] = {"reference": None}
            continue
        c = {"reference": ref, "results": {}}
        for s in systems:
            q = query(s, name)
            if s == ref or q is None or q.get("status") != "ok":
                continue
            diff = compare_rows(query(ref, name)["rows"], q["rows"])
            c["results"][s] = diff or "same"
            if diff:
                mismatches.append(f"{name} {LABELS[s]} vs {LABELS[ref]}: {diff}")
        checks[name] = c

    # --- the table
    cols = systems + [r for r in ("col/DF", "col/Duck")
                      if "prismdb-columnar" in systems
                      and {"col/DF": "datafusion", "col/Duck": "duckdb"}[r] in systems]
    heads = [LABELS.get(c, c) for c in cols]
    width = max(11, *(len(h) + 1 for h in heads))
    lines = []
    lines.append(f"{'query':<6}" + "".join(f"{h:>{width}}" for h in heads) + "   check")

    def ratio(a, b):
        if a is None or b is None or a.get("status") != "ok" or b.get("status") != "ok" or not b["ms"]:
            return "-"
        return f"{a['ms'] / b['ms']:.2f}"

    for name in names:
        cells = [fmt_ms(query(s, name)) for s in systems]
        col = query("prismdb-columnar", name)
        if "col/DF" in cols:
            cells.append(ratio(col, query("datafusion", name)))
        if "col/Duck" in cols:
            cells.append(ratio(col, query("duckdb", name)))
        c = checks.get(name, {})
        bad = [LABELS[s] for s, v in c.get("results", {}).items() if v != "same"]
        check = ("MISMATCH: " + ", ".join(bad)) if bad else ("ok" if c.get("reference") else "-")
        lines.append(f"{name:<6}" + "".join(f"{x:>{width}}" for x in cells) + f"   {check}")

    # totals: each system over its own completed queries, and over the
    # queries that every system completed
    totals = {}
    excluded = {}
    for s in systems:
        ok = [query(s, n) for n in names if (query(s, n) or {}).get("status") == "ok"]
        totals[s] = round(sum(q["ms"] for q in ok), 3) if runs.get(s) and not runs[s].get("error") else None
        excluded[s] = [f"{n} ({(query(s, n) or {}).get('status', 'not run')})" for n in names
                       if (query(s, n) or {}).get("status") != "ok"]
    # systems that failed as a whole (no replicas, no server) do not shrink "common"
    active = [s for s in systems if totals[s] is not None]
    common = [n for n in names if all((query(s, n) or {}).get("status") == "ok" for s in active)]
    common_totals = {s: (round(sum(query(s, n)["ms"] for n in common), 3) if s in active else None)
                     for s in systems}
    tcells = [f"{totals[s]:.1f}" if totals[s] is not None else "failed" for s in systems]
    ccells = [f"{common_totals[s]:.1f}" if common_totals[s] is not None else "-" for s in systems]
    rows = [("total", tcells, totals)]
    if len(active) > 1:
        rows.append(("common", ccells, common_totals))
    for label, cells, tot in rows:
        extra = []
        if "col/DF" in cols:
            a, b = tot.get("prismdb-columnar"), tot.get("datafusion")
            extra.append(f"{a / b:.2f}" if a is not None and b else "-")
        if "col/Duck" in cols:
            a, b = tot.get("prismdb-columnar"), tot.get("duckdb")
            extra.append(f"{a / b:.2f}" if a is not None and b else "-")
        lines.append(f"{label:<6}" + "".join(f"{x:>{width}}" for x in cells + extra))

    print()
    print(f"TPC-H SF {args.sf}: median of {args.runs} runs after one warm-up, milliseconds; "
          f"{os.cpu_count()} cores; per-query timeout {args.timeout}s")
    for s in systems:
        r = runs.get(s) or {}
        desc = r.get("describe") or ""
        if r.get("error"):
            desc = f"FAILED: {r['error']}"
        elif not r:
            desc = "FAILED: no results (see messages above)"
        print(f"  {LABELS[s]:<11} {desc}")
    print()
    for ln in lines:
        print(ln)
    print()
    print("total: each system over the queries it completed"
          + (f"; common: over the {len(common)} queries every system that ran completed"
             if len(active) > 1 else "")
          + ". Errors and timeouts are excluded.")
    for s in systems:
        if excluded[s] and totals[s] is not None:
            print(f"  {LABELS[s]} excludes {', '.join(excluded[s])}")

    errors = [(s, n, query(s, n)) for s in systems for n in names
              if (query(s, n) or {}).get("status") in ("error", "timeout")]
    if errors:
        print()
        print("errors and timeouts:")
        for s, n, q in errors:
            print(f"  {n} {LABELS[s]}: {q['status']}: {q.get('error', '')}")
    auto = runs.get("prismdb-auto") or {}
    routed = {n: q["engines"] for n, q in auto.get("queries", {}).items() if q.get("engines")}
    if routed:
        col = sum(e["columnar"] for e in routed.values())
        row = sum(e["row"] for e in routed.values())
        print()
        print(f"Prism auto routing (EXPLAIN): {col} table scans to columnar replicas, {row} to the row store")
        for n, e in routed.items():
            if e["row"]:
                print(f"  {n}: {e['row']} row-store scan(s), {e['columnar']} columnar")
    print()
    if mismatches:
        print(f"result mismatches ({len(mismatches)}):")
        for m in mismatches:
            print(f"  {m}")
    else:
        compared = sum(len(c.get("results", {})) for c in checks.values())
        refs = sorted({c["reference"] for c in checks.values() if c.get("reference")})
        if compared:
            print(f"results: no mismatches ({compared} comparisons against {'/'.join(refs)})")
        else:
            print("results: not compared (needs a reference, DuckDB, DataFusion or PostgreSQL, "
                  "and a second system)")

    # --- loads and freshness
    load_rows = []
    for key, label in (("postgres", "PostgreSQL"), ("prismdb", "PrismDB")):
        ld = loads.get(key)
        if ld is None:
            continue
        if ld.get("error"):
            load_rows.append(f"  {label:<11} FAILED: {ld['error']}")
        else:
            load_rows.append(f"  {label:<11} {ld['rows']:>12,} rows {ld['seconds']:>9.1f} s "
                             f"{ld['rows_per_s']:>10,} rows/s  ({ld['method']})")
    if load_rows:
        print()
        print("load:")
        for ln in load_rows:
            print(ln)
    if args.skipped_load:
        print(f"load: skipped (--skip-load) for {args.skipped_load}")
    if replicas is not None:
        print()
        if replicas.get("ok"):
            print(f"columnar replicas: available {replicas['seconds']:.1f}s after ALTER TABLE ... SET COLUMNAR REPLICA 1")
        else:
            print(f"columnar replicas: FAILED: {replicas.get('error')}")
    if fresh is not None:
        print()
        if fresh.get("error"):
            print(f"freshness: FAILED: {fresh['error']}")
        else:
            note = "" if fresh.get("columnar_replica") else \
                f"  [no columnar replica: {fresh.get('replica_error')}]"
            print(f"freshness: {fresh['writes']} single-row INSERTs in {fresh['write_seconds']}s over "
                  f"{fresh['writers']} connections ({fresh['achieved_rate']:g}/s of {fresh['target_rate']:g}/s "
                  f"asked); commit-to-visible lag of {fresh['tracked_writes']} tracked writes: "
                  f"p50 {fresh['lag_p50_ms']} ms, p99 {fresh['lag_p99_ms']} ms, max {fresh['lag_max_ms']} ms; "
                  f"{fresh['unseen']} never seen; reader: {fresh['reader_queries']} queries of "
                  f"select max(id), p50 {fresh['reader_query_p50_ms']} ms{note}")
            if fresh.get("writer_error"):
                print(f"  writer stopped early: {fresh['writer_error']}")

    # --- JSON
    result = {
        "benchmark": "tpch",
        "timestamp": args.timestamp,
        "commit": args.commit,
        "sf": args.sf,
        "runs": args.runs,
        "timeout_s": args.timeout,
        "cores": os.cpu_count(),
        "systems": {},
        "checks": checks,
        "mismatches": mismatches,
        "common_queries": common,
        "totals_ms": totals,
        "common_totals_ms": common_totals,
        "loads": loads,
        "skipped_load": args.skipped_load or None,
        "columnar_replicas": replicas,
        "freshness": fresh,
        "auto_routing": routed or None,
    }
    for s in systems:
        r = runs.get(s) or {"error": "no results"}
        qs = {n: {k: v for k, v in q.items() if k != "rows"} for n, q in r.get("queries", {}).items()}
        result["systems"][s] = {k: v for k, v in r.items() if k != "queries"}
        result["systems"][s]["queries"] = qs
    os.makedirs(os.path.dirname(args.json_out), exist_ok=True)
    write_json(args.json_out, result)
    print()
    print(f"results written to {args.json_out}")
    return 1 if mismatches else 0


# --- command line -----------------------------------------------------------
def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    sp = sub.add_parser("load")
    sp.add_argument("--system", choices=["postgres", "prismdb"], required=True)
    sp.add_argument("--port", type=int, required=True)
    sp.add_argument("--csv", required=True)
    sp.add_argument("--conns", type=int, default=3)
    sp.add_argument("--batch", type=int, default=50000)
    sp.add_argument("--tables", default=",".join(TABLES))
    sp.add_argument("--out", required=True)

    sp = sub.add_parser("replicas")
    sp.add_argument("--port", type=int, required=True)
    sp.add_argument("--tables", default=",".join(TABLES))
    sp.add_argument("--wait", type=float, default=1800)
    sp.add_argument("--out", required=True)

    sp = sub.add_parser("run")
    sp.add_argument("--system", choices=SYSTEM_ORDER, required=True)
    sp.add_argument("--port", type=int)
    sp.add_argument("--parquet")
    sp.add_argument("--queries", required=True)
    sp.add_argument("--runs", type=int, default=3)
    sp.add_argument("--timeout", type=float, default=300)
    sp.add_argument("--replica-wait", type=float, default=60)
    sp.add_argument("--out", required=True)

    sp = sub.add_parser("fresh")
    sp.add_argument("--port", type=int, required=True)
    sp.add_argument("--secs", type=float, default=20)
    sp.add_argument("--rate", type=float, default=1000)
    sp.add_argument("--writers", type=int, default=8)
    sp.add_argument("--grace", type=float, default=10)
    sp.add_argument("--replica-wait", type=float, default=120)
    sp.add_argument("--out", required=True)

    sp = sub.add_parser("loop")
    sp.add_argument("--system", choices=["postgres", "prismdb-row", "prismdb-columnar", "prismdb-auto"],
                    required=True)
    sp.add_argument("--port", type=int, required=True)
    sp.add_argument("--query", default="q01")
    sp.add_argument("--stop-file", required=True)
    sp.add_argument("--query-timeout", type=float, default=300)
    sp.add_argument("--replica-wait", type=float, default=120)
    sp.add_argument("--out", required=True)

    sp = sub.add_parser("report")
    sp.add_argument("--work", required=True)
    sp.add_argument("--systems", required=True)
    sp.add_argument("--queries", required=True)
    sp.add_argument("--sf", required=True)
    sp.add_argument("--runs", type=int, required=True)
    sp.add_argument("--timeout", type=float, required=True)
    sp.add_argument("--timestamp", required=True)
    sp.add_argument("--commit", default="")
    sp.add_argument("--skipped-load", default="")
    sp.add_argument("--json-out", required=True)

    args = p.parse_args()
    if args.cmd == "run" and args.system in ("duckdb", "datafusion") and not args.parquet:
        p.error("--parquet is required for duckdb and datafusion")
    if args.cmd == "run" and args.system not in ("duckdb", "datafusion") and not args.port:
        p.error("--port is required for server systems")
    rc = {"load": cmd_load, "replicas": cmd_replicas, "run": cmd_run,
          "fresh": cmd_fresh, "loop": cmd_loop, "report": cmd_report}[args.cmd](args)
    sys.exit(rc or 0)


if __name__ == "__main__":
    main()
