//! Mainstream PostgreSQL clients, unchanged, against a real server: asyncpg
//! (type introspection, arrays, json, prepared statements, binary COPY,
//! pools), node-postgres (parameters of every common type, arrays, named
//! statements, transactions, pools), pgjdbc (batches, generated keys,
//! `DatabaseMetaData` tables, columns, primary keys, indexes and foreign
//! keys, fetch-size cursors, query timeouts, result metadata) and SQLAlchemy 2 with pandas (ORM CRUD,
//! `inspect()`, `MetaData.reflect`, `read_sql`/`to_sql`).
//!
//! Each client is installed by `scripts/setup`; a test whose client is
//! missing says so and passes without running.

use prismdb_testkit::TestServer;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_prismdb");

/// Runs `program args...` (the server's port appended) and asserts it
/// succeeded, showing its output and the server's log otherwise.
async fn run_client(server: &TestServer, program: &str, args: &[&str], env: &[(&str, String)]) {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args).arg(server.pg_port().to_string());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().await.expect("run client");
    assert!(
        out.status.success(),
        "{program} failed:\nstdout:\n{}\nstderr:\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.log_tail(4000)
    );
}

fn python_has(modules: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipping: python3 cannot import {modules} (scripts/setup installs them)");
    }
    ok
}

const ASYNCPG: &str = r#"
import asyncio, sys, json, decimal, datetime
import asyncpg

async def main(port):
    conn = await asyncpg.connect(host="127.0.0.1", port=port, user="prism", database="prism")
    await conn.execute("CREATE TABLE ap (id int PRIMARY KEY, name text, score numeric(5,2), doc jsonb, ok bool)")
    await conn.executemany("INSERT INTO ap VALUES ($1, $2, $3, $4, $5)",
        [(1, "a", decimal.Decimal("1.50"), '{"k": 1}', True), (2, "b", None, None, False)])
    rows = await conn.fetch("SELECT id, name, score, doc, ok FROM ap ORDER BY id")
    assert [tuple(r) for r in rows] == [(1, "a", decimal.Decimal("1.50"), '{"k": 1}', True), (2, "b", None, None, False)], rows
    assert await conn.fetchval("SELECT count(*) FROM ap WHERE id = any($1::int[])", [1, 2, 3]) == 2
    assert await conn.fetchval("SELECT array[1, 2]") == [1, 2]
    assert await conn.fetchval("SELECT $1::text[]", ["x", "y z"]) == ["x", "y z"]
    assert await conn.fetchval("SELECT doc ->> 'k' FROM ap WHERE id = 1") == "1"
    await conn.execute("CREATE TABLE at (id int PRIMARY KEY, t time)")
    await conn.execute("INSERT INTO at VALUES ($1, $2)", 1, datetime.time(8, 30, 15, 250000))
    assert await conn.fetchval("SELECT t FROM at WHERE t = $1", datetime.time(8, 30, 15, 250000)) == datetime.time(8, 30, 15, 250000)
    await conn.execute("CREATE TABLE aa (id int PRIMARY KEY, xs int[], tags text[])")
    await conn.execute("INSERT INTO aa VALUES ($1, $2, $3)", 1, [1, None, 3], ["a", "b c"])
    row = await conn.fetchrow("SELECT xs, tags FROM aa WHERE $1 = ANY(xs)", 3)
    assert row["xs"] == [1, None, 3] and row["tags"] == ["a", "b c"], row
    await conn.execute("CREATE TABLE ai (id int PRIMARY KEY, d interval)")
    await conn.execute("INSERT INTO ai VALUES ($1, $2)", 1, datetime.timedelta(days=2, hours=3, microseconds=5))
    assert await conn.fetchval("SELECT d FROM ai WHERE d > $1", datetime.timedelta(hours=1)) == datetime.timedelta(days=2, hours=3, microseconds=5)
    stmt = await conn.prepare("SELECT name FROM ap WHERE id = $1")
    assert await stmt.fetchval(2) == "b"
    await conn.copy_records_to_table("ap", records=[(3, "c", decimal.Decimal("2"), None, None)],
        columns=["id", "name", "score", "doc", "ok"])
    assert await conn.fetchval("SELECT count(*) FROM ap") == 3
    async with conn.transaction():
        await conn.execute("INSERT INTO ap (id) VALUES (4)")
    try:
        async with conn.transaction():
            await conn.execute("INSERT INTO ap (id) VALUES (5)")
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    assert await conn.fetchval("SELECT count(*) FROM ap") == 4
    try:
        await conn.execute("SELECT * FROM nope")
        raise AssertionError("expected an error")
    except asyncpg.exceptions.UndefinedTableError as e:
        assert e.sqlstate == "42P01"
    await conn.close()
    pool = await asyncpg.create_pool(host="127.0.0.1", port=port, user="prism", database="prism",
        min_size=1, max_size=2)
    for _ in range(3):
        async with pool.acquire() as c:
            assert await c.fetchval("SELECT 1") == 1
    await pool.close()

asyncio.run(main(int(sys.argv[1])))
print("asyncpg ok")
"#;

#[tokio::test]
async fn asyncpg_types_prepared_statements_copy_and_pools() {
    if !python_has("asyncpg") {
        return;
    }
    let server = TestServer::start(BIN).await.expect("start prismdb");
    run_client(&server, "python3", &["-c", ASYNCPG], &[]).await;
}

const NODE_PG: &str = r#"
const assert = require('assert');
const { Client, Pool } = require('pg');
(async () => {
  const port = +process.argv[process.argv.length - 1];
  const c = new Client({ host: '127.0.0.1', port, user: 'prism', database: 'prism' });
  await c.connect();
  await c.query('CREATE TABLE np (id int PRIMARY KEY, name text, doc jsonb, u uuid, at timestamptz, amount numeric(8,2))');
  await c.query('INSERT INTO np VALUES ($1, $2, $3, $4, $5, $6)',
    [1, 'a', { k: [1, 2] }, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', new Date(Date.UTC(2024, 0, 2)), '12.50']);
  let r = await c.query('SELECT * FROM np');
  assert.deepStrictEqual(r.rows, [{ id: 1, name: 'a', doc: { k: [1, 2] }, u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    at: new Date(Date.UTC(2024, 0, 2)), amount: '12.50' }]);
  assert.deepStrictEqual(r.fields.map(f => f.dataTypeID), [23, 25, 3802, 2950, 1184, 1700]);
  r = await c.query('SELECT id FROM np WHERE id = any($1)', [[1, 2]]);
  assert.deepStrictEqual(r.rows, [{ id: 1 }]);
  r = await c.query({ text: 'SELECT $1::int + 1 AS x', values: [41], name: 'plus' });
  r = await c.query({ text: 'SELECT $1::int + 1 AS x', values: [1], name: 'plus' });
  assert.deepStrictEqual(r.rows, [{ x: 2 }]);
  r = await c.query('SELECT array[1, 2] AS a, $1::text[] AS b', [['x', 'y z']]);
  assert.deepStrictEqual(r.rows, [{ a: [1, 2], b: ['x', 'y z'] }]);
  await assert.rejects(c.query('SELECT * FROM nope'), e => e.code === '42P01');
  await c.query('BEGIN'); await c.query('INSERT INTO np (id) VALUES (2)'); await c.query('ROLLBACK');
  r = await c.query('SELECT count(*)::int AS n FROM np');
  assert.deepStrictEqual(r.rows, [{ n: 1 }]);
  await c.end();
  const pool = new Pool({ host: '127.0.0.1', port, user: 'prism', database: 'prism', max: 2 });
  const all = await Promise.all([1, 2, 3, 4].map(i => pool.query('SELECT $1::int AS i', [i])));
  assert.deepStrictEqual(all.map(q => q.rows[0].i), [1, 2, 3, 4]);
  await pool.end();
  console.log('node-postgres ok');
})().catch(e => { console.error(e); process.exit(1); });
"#;

fn node_modules() -> Option<PathBuf> {
    let dir = std::env::var_os("PRISM_CLIENTS_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/prismdb/clients")))?
        .join("node_modules");
    let ok = dir.join("pg").is_dir()
        && Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipping: node or node-postgres is missing (scripts/setup installs them)");
    }
    ok.then_some(dir)
}

#[tokio::test]
async fn node_postgres_parameters_arrays_named_statements_and_pools() {
    let Some(modules) = node_modules() else {
        return;
    };
    let server = TestServer::start(BIN).await.expect("start prismdb");
    run_client(
        &server,
        "node",
        &["-e", NODE_PG],
        &[("NODE_PATH", modules.display().to_string())],
    )
    .await;
}

const JDBC: &str = r#"
import java.sql.*;
import java.util.*;

public class JdbcCheck {
    static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }
    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/prism";
        try (Connection c = DriverManager.getConnection(url, "prism", "")) {
            Statement s = c.createStatement();
            s.execute("CREATE TABLE jd (id integer PRIMARY KEY, name varchar(20) NOT NULL, score numeric(5,2), at timestamp)");
            try (PreparedStatement p = c.prepareStatement("INSERT INTO jd VALUES (?, ?, ?, ?)")) {
                for (int i = 1; i <= 5; i++) {
                    p.setInt(1, i); p.setString(2, "n" + i); p.setBigDecimal(3, new java.math.BigDecimal("1.25"));
                    p.setTimestamp(4, Timestamp.valueOf("2024-01-02 03:04:05"));
                    p.addBatch();
                }
                check(p.executeBatch().length == 5, "batch");
            }
            try (PreparedStatement p = c.prepareStatement("INSERT INTO jd (id, name) VALUES (?, ?)", Statement.RETURN_GENERATED_KEYS)) {
                p.setInt(1, 10); p.setString(2, "ten"); p.executeUpdate();
                ResultSet k = p.getGeneratedKeys();
                check(k.next() && k.getInt("id") == 10, "generated keys");
            }
            ResultSet rs = s.executeQuery("SELECT id, name, score, at FROM jd ORDER BY id");
            ResultSetMetaData md = rs.getMetaData();
            check(md.getColumnTypeName(2).equals("varchar") && md.getPrecision(2) == 20, "result metadata");
            check(md.getTableName(2).equals("jd") && md.isNullable(2) == ResultSetMetaData.columnNoNulls
                && md.isNullable(3) == ResultSetMetaData.columnNullable, "column origin");
            int n = 0;
            while (rs.next()) {
                if (rs.getInt(1) == 1) {
                    check(rs.getBigDecimal(3).equals(new java.math.BigDecimal("1.25")), "numeric");
                    check(rs.getTimestamp(4).equals(Timestamp.valueOf("2024-01-02 03:04:05")), "timestamp");
                }
                n++;
            }
            check(n == 6, "rows " + n);
            DatabaseMetaData dm = c.getMetaData();
            check(dm.getDatabaseProductName().equals("PostgreSQL"), "product");
            rs = dm.getTables(null, "public", "%", new String[]{"TABLE"});
            List<String> tables = new ArrayList<>();
            while (rs.next()) tables.add(rs.getString("TABLE_NAME"));
            check(tables.equals(List.of("jd")), "getTables " + tables);
            rs = dm.getColumns(null, "public", "jd", "%");
            List<String> cols = new ArrayList<>();
            while (rs.next()) cols.add(rs.getString("COLUMN_NAME") + ":" + rs.getString("TYPE_NAME") + ":"
                + rs.getInt("COLUMN_SIZE") + ":" + rs.getString("IS_NULLABLE"));
            check(cols.equals(List.of("id:int4:10:NO", "name:varchar:20:NO", "score:numeric:5:YES", "at:timestamp:29:YES")),
                "getColumns " + cols);
            rs = dm.getPrimaryKeys(null, "public", "jd");
            List<String> pk = new ArrayList<>();
            while (rs.next()) pk.add(rs.getString("COLUMN_NAME") + "/" + rs.getShort("KEY_SEQ") + "/" + rs.getString("PK_NAME"));
            check(pk.equals(List.of("id/1/jd_pkey")), "getPrimaryKeys " + pk);
            rs = dm.getIndexInfo(null, "public", "jd", false, false);
            List<String> idx = new ArrayList<>();
            while (rs.next()) idx.add(rs.getString("INDEX_NAME") + "/" + rs.getString("COLUMN_NAME") + "/" + rs.getBoolean("NON_UNIQUE"));
            check(idx.equals(List.of("jd_pkey/id/false")), "getIndexInfo " + idx);
            rs = dm.getImportedKeys(null, "public", "jd");
            check(!rs.next(), "getImportedKeys");
            rs = dm.getSchemas();
            List<String> schemas = new ArrayList<>();
            while (rs.next()) schemas.add(rs.getString(1));
            check(schemas.contains("public") && schemas.contains("pg_catalog"), "getSchemas " + schemas);
            c.setAutoCommit(false);
            try (Statement f = c.createStatement()) {
                f.setFetchSize(2);
                ResultSet big = f.executeQuery("SELECT id FROM jd ORDER BY id");
                int m = 0;
                while (big.next()) m++;
                check(m == 6, "fetch size rows " + m);
            }
            c.commit();
            c.setAutoCommit(true);
            try (Statement t = c.createStatement()) {
                t.setQueryTimeout(1);
                try {
                    t.executeQuery("SELECT pg_sleep(5)");
                    check(false, "query timeout");
                } catch (SQLException e) {
                    check("57014".equals(e.getSQLState()), "timeout state " + e.getSQLState());
                }
            }
            check(s.executeQuery("SELECT 1").next(), "usable after timeout");
            // jsonb, uuid and array columns: pgjdbc looks their types up
            // (typinput = 'array_in'::regproc) before it reads them.
            s.execute("CREATE TABLE jj (id int PRIMARY KEY, doc jsonb, u uuid)");
            s.execute("INSERT INTO jj VALUES (1, '{\"a\": [1, 2]}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')");
            rs = s.executeQuery("SELECT doc, u, doc -> 'a' AS a, ARRAY[1, 2] AS arr FROM jj");
            check(rs.next(), "jsonb row");
            check(rs.getString(1).equals("{\"a\": [1, 2]}"), "jsonb " + rs.getString(1));
            check(rs.getObject(2).equals(java.util.UUID.fromString("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")), "uuid");
            check(rs.getMetaData().getColumnTypeName(1).equals("jsonb"), "jsonb type " + rs.getMetaData().getColumnTypeName(1));
            Integer[] arr = (Integer[]) rs.getArray(4).getArray();
            check(Arrays.equals(arr, new Integer[]{1, 2}), "array " + Arrays.toString(arr));
            System.out.println("jdbc ok");
        }
    }
}
"#;

fn jdbc_jar() -> Option<&'static str> {
    let jar = "/usr/share/java/postgresql.jar";
    let ok = Path::new(jar).exists()
        && Command::new("java")
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipping: java or pgjdbc ({jar}) is missing (scripts/setup installs them)");
    }
    ok.then_some(jar)
}

#[tokio::test]
async fn pgjdbc_batches_keys_metadata_cursors_and_timeouts() {
    let Some(jar) = jdbc_jar() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("JdbcCheck.java");
    std::fs::write(&source, JDBC).unwrap();
    let server = TestServer::start(BIN).await.expect("start prismdb");
    run_client(
        &server,
        "java",
        &["-cp", jar, source.to_str().unwrap()],
        &[],
    )
    .await;
}

const SQLALCHEMY: &str = r#"
import sys
import sqlalchemy as sa
from sqlalchemy import inspect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, Session
import pandas as pd

eng = sa.create_engine(f"postgresql+psycopg://prism@127.0.0.1:{sys.argv[1]}/prism")

class Base(DeclarativeBase):
    pass

class Item(Base):
    __tablename__ = "sa_item"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(sa.String(30))
    price: Mapped[float] = mapped_column(sa.Numeric(8, 2), nullable=True)

Base.metadata.create_all(eng)
with Session(eng) as s:
    s.add_all([Item(id=1, name="a", price=1.5), Item(id=2, name="b")])
    s.commit()
    s.get(Item, 1).name = "A"
    s.commit()
    assert [(i.id, i.name) for i in s.scalars(sa.select(Item).order_by(Item.id))] == [(1, "A"), (2, "b")]
    s.delete(s.get(Item, 2))
    s.commit()
insp = inspect(eng)
assert insp.get_table_names() == ["sa_item"], insp.get_table_names()
cols = [(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns("sa_item")]
assert cols == [("id", "INTEGER", False), ("name", "VARCHAR(30)", False), ("price", "NUMERIC(8, 2)", True)], cols
pk = insp.get_pk_constraint("sa_item")
assert pk["constrained_columns"] == ["id"] and pk["name"] == "sa_item_pkey", pk
assert insp.get_indexes("sa_item") == [] and insp.get_foreign_keys("sa_item") == []
assert insp.get_unique_constraints("sa_item") == []
assert "public" in insp.get_schema_names()
with eng.begin() as c:
    c.execute(sa.text("CREATE VIEW sa_cheap AS SELECT id, name FROM sa_item WHERE price < 10"))
    c.execute(sa.text("COMMENT ON TABLE sa_item IS 'things we sell'"))
insp = inspect(eng)
assert insp.get_view_names() == ["sa_cheap"], insp.get_view_names()
assert "sa_item" in insp.get_view_definition("sa_cheap"), insp.get_view_definition("sa_cheap")
assert [c["name"] for c in insp.get_columns("sa_cheap")] == ["id", "name"]
assert insp.get_table_comment("sa_item") == {"text": "things we sell"}, insp.get_table_comment("sa_item")
assert insp.get_check_constraints("sa_item") == []
assert insp.get_sequence_names() == []
assert insp.has_table("sa_item") and not insp.has_table("nope")
assert insp.get_enums() == []
multi = insp.get_multi_pk_constraint()
assert multi[(None, "sa_item")]["constrained_columns"] == ["id"], multi
md = sa.MetaData()
md.reflect(eng, only=["sa_item"])
assert list(md.tables) == ["sa_item"] and list(md.tables["sa_item"].primary_key.columns.keys()) == ["id"]
# Unique constraints and indexes made by the ORM are reflected back.
class Account(Base):
    __tablename__ = "sa_account"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    email: Mapped[str] = mapped_column(sa.String(50), unique=True)
    org: Mapped[int] = mapped_column(index=True)
    __table_args__ = (sa.UniqueConstraint("org", "id", name="sa_account_org_id"),)

Account.__table__.create(eng)
insp = inspect(eng)
uniques = sorted((u["name"], tuple(u["column_names"])) for u in insp.get_unique_constraints("sa_account"))
assert uniques == [("sa_account_email_key", ("email",)), ("sa_account_org_id", ("org", "id"))], uniques
indexes = sorted((i["name"], tuple(i["column_names"]), i["unique"]) for i in insp.get_indexes("sa_account"))
assert indexes == [("ix_sa_account_org", ("org",), False), ("sa_account_email_key", ("email",), True), ("sa_account_org_id", ("org", "id"), True)], indexes
with Session(eng) as s:
    s.add(Account(id=1, email="a@x", org=1))
    s.commit()
    s.add(Account(id=2, email="a@x", org=1))
    try:
        s.commit()
        raise AssertionError("duplicate email accepted")
    except sa.exc.IntegrityError as e:
        assert "sa_account_email_key" in str(e), e
        s.rollback()
    assert s.scalars(sa.select(Account.id).where(Account.email == "a@x")).all() == [1]
Account.__table__.drop(eng)
df = pd.read_sql("SELECT id, name FROM sa_item", eng)
assert df.to_dict("records") == [{"id": 1, "name": "A"}], df
pd.DataFrame({"k": [1, 2], "v": ["x", "y"]}).to_sql("sa_df", eng, if_exists="replace", index=False)
assert pd.read_sql("SELECT * FROM sa_df ORDER BY k", eng).to_dict("records") == [{"k": 1, "v": "x"}, {"k": 2, "v": "y"}]
print("sqlalchemy ok")
"#;

#[tokio::test]
async fn sqlalchemy_orm_reflection_and_pandas() {
    if !python_has("sqlalchemy, pandas, psycopg") {
        return;
    }
    let server = TestServer::start(BIN).await.expect("start prismdb");
    run_client(&server, "python3", &["-c", SQLALCHEMY], &[]).await;
}
