//! Roles, passwords, privileges and TLS, as clients meet them:
//!
//! - Until a password is set, a role logs in by name; an unknown role or
//!   one without LOGIN is refused (28000). A non-superuser meets 42501 on
//!   every table it was not granted, and GRANT/REVOKE change that for its
//!   next statement, in sessions already open.
//! - A node started with `--superuser-password` asks every login for a
//!   password over SCRAM-SHA-256: the right one logs in, a wrong one, an
//!   unknown role and a role without a password all get the same 28P01.
//!   With `--tls-cert/--tls-key`, psql's `sslmode=require` gets TLS.
//! - Roles and grants are catalog changes replicated through the log: a
//!   role made on one member logs in on another.

use prismdb_testkit::{TestCluster, TestServer, sqlstate};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio_postgres::{Client, Config, NoTls};

const BIN: &str = env!("CARGO_BIN_EXE_prismdb");
const PSQL: &str = "/usr/bin/psql";

fn config(port: u16, user: &str, password: Option<&str>) -> Config {
    let mut c = Config::new();
    c.host("127.0.0.1")
        .port(port)
        .user(user)
        .dbname("prism")
        .connect_timeout(Duration::from_secs(10));
    if let Some(p) = password {
        c.password(p);
    }
    c
}

async fn connect(config: &Config) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

/// The SQLSTATE a login fails with.
async fn login_error(config: &Config) -> String {
    match connect(config).await {
        Ok(_) => panic!("login as {:?} succeeded", config.get_user()),
        Err(e) => sqlstate(&e).unwrap_or_else(|| panic!("no SQLSTATE in {e}")),
    }
}

async fn error_of(client: &Client, sql: &str) -> String {
    match client.batch_execute(sql).await {
        Ok(()) => panic!("{sql} succeeded"),
        Err(e) => sqlstate(&e).unwrap_or_else(|| panic!("{sql}: {e}")),
    }
}

#[tokio::test]
async fn privileges_follow_grants_and_revokes() {
    let server = TestServer::start(BIN).await.unwrap();
    let admin = server.connect("prism").await.unwrap();
    admin
        .batch_execute(
            "CREATE TABLE t (id int PRIMARY KEY, v text);
             INSERT INTO t VALUES (1, 'a');
             CREATE VIEW tv AS SELECT id FROM t;
             CREATE ROLE alice LOGIN;
             CREATE ROLE nologin;",
        )
        .await
        .unwrap();
    let port = server.pg_port();
    assert_eq!(login_error(&config(port, "nobody", None)).await, "28000");
    assert_eq!(login_error(&config(port, "nologin", None)).await, "28000");

    let alice = connect(&config(port, "alice", None)).await.unwrap();
    let current: String = alice
        .query_one("SELECT current_user", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(current, "alice");
    // Catalogs are readable by everyone; user tables are not.
    alice
        .query("SELECT relname FROM pg_class WHERE relname = 't'", &[])
        .await
        .unwrap();
    for sql in [
        "SELECT * FROM t",
        "SELECT * FROM tv",
        "SELECT 1 FROM (SELECT id FROM t) s",
        "INSERT INTO t VALUES (2, 'b')",
        "UPDATE t SET v = 'x'",
        "DELETE FROM t",
        "TRUNCATE t",
        "COPY t TO STDOUT",
        "DROP TABLE t",
        "ALTER TABLE t ADD COLUMN w int",
        "CREATE TABLE mine (x int)",
        "CREATE ROLE carol",
        "GRANT SELECT ON t TO alice",
    ] {
        assert_eq!(error_of(&alice, sql).await, "42501", "{sql}");
    }

    admin
        .batch_execute("GRANT SELECT, INSERT ON t TO alice; GRANT SELECT ON tv TO PUBLIC")
        .await
        .unwrap();
    // The open session sees the grant on its next statement.
    let n = alice.query("SELECT * FROM t", &[]).await.unwrap().len();
    assert_eq!(n, 1);
    assert_eq!(alice.query("SELECT * FROM tv", &[]).await.unwrap().len(), 1);
    alice
        .execute("INSERT INTO t VALUES ($1, $2)", &[&2i32, &"b"])
        .await
        .unwrap();
    assert_eq!(error_of(&alice, "UPDATE t SET v = 'x'").await, "42501");
    assert_eq!(
        error_of(&alice, "DELETE FROM t WHERE id = 2").await,
        "42501"
    );
    // A prepared statement is checked when it runs.
    alice
        .batch_execute("PREPARE ins(int) AS INSERT INTO t VALUES ($1, 'p'); EXECUTE ins(3)")
        .await
        .unwrap();
    alice
        .batch_execute("PREPARE del(int) AS DELETE FROM t WHERE id = $1")
        .await
        .unwrap();
    assert_eq!(error_of(&alice, "EXECUTE del(3)").await, "42501");

    let acl: Vec<String> = admin
        .query_one(
            "SELECT relacl::text[] FROM pg_class WHERE relname = 't'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(acl, ["prism=arwdDxt/prism", "alice=ar/prism"]);

    admin
        .batch_execute("REVOKE SELECT ON t FROM alice; GRANT CREATE ON SCHEMA public TO alice")
        .await
        .unwrap();
    assert_eq!(error_of(&alice, "SELECT * FROM t").await, "42501");
    // A role that may create tables owns them, and may drop them.
    alice
        .batch_execute(
            "CREATE TABLE mine (x int); INSERT INTO mine VALUES (1); \
             SELECT * FROM mine; DROP TABLE mine; CREATE TABLE kept (x int)",
        )
        .await
        .unwrap();
    // A role that owns objects cannot be dropped; the session's own role
    // neither.
    assert_eq!(error_of(&admin, "DROP ROLE alice").await, "2BP01");
    assert_eq!(error_of(&admin, "DROP ROLE prism").await, "55006");
    admin
        .batch_execute("DROP TABLE kept; REVOKE ALL ON t FROM alice; REVOKE CREATE ON SCHEMA public FROM alice; DROP ROLE alice")
        .await
        .unwrap();
    // A session of a dropped role keeps only what PUBLIC may do.
    alice.query("SELECT 1 FROM tv", &[]).await.unwrap();
    assert_eq!(error_of(&alice, "SELECT 1 FROM t").await, "42501");
    assert_eq!(login_error(&config(port, "alice", None)).await, "28000");
}

/// A self-signed certificate for `localhost` and its key, for tests only.
fn tls_files() -> (PathBuf, PathBuf) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testkit/fixtures/tls");
    (dir.join("server.crt"), dir.join("server.key"))
}

#[tokio::test]
async fn passwords_are_checked_with_scram_over_tls() {
    let (cert, key) = tls_files();
    let server = TestServer::start_with_args(
        BIN,
        &[
            "--superuser-password",
            "s3cret pw",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    )
    .await
    .unwrap();
    let port = server.pg_port();
    // Asked for a password it does not have, the client gives up.
    assert!(connect(&config(port, "prism", None)).await.is_err());
    assert_eq!(
        login_error(&config(port, "prism", Some("wrong"))).await,
        "28P01"
    );
    assert_eq!(
        login_error(&config(port, "ghost", Some("s3cret pw"))).await,
        "28P01"
    );

    let admin = connect(&config(port, "prism", Some("s3cret pw")))
        .await
        .unwrap();
    admin
        .batch_execute(
            "CREATE USER app PASSWORD 'app-pw'; CREATE ROLE nopw LOGIN;
             CREATE TABLE t (id int PRIMARY KEY); GRANT SELECT ON t TO app",
        )
        .await
        .unwrap();
    // Never the password itself: PostgreSQL's SCRAM verifier form.
    let stored: Vec<String> = admin
        .query(
            "SELECT rolpassword FROM pg_roles WHERE rolname = 'app'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(stored, ["********"]);
    // pg_authid shows the verifier to superusers only.
    let verifier: Option<String> = admin
        .query_one(
            "SELECT rolpassword FROM pg_authid WHERE rolname = 'app'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        verifier
            .as_deref()
            .is_some_and(|v| v.starts_with("SCRAM-SHA-256$4096:")),
        "{verifier:?}"
    );
    assert_eq!(login_error(&config(port, "nopw", Some("x"))).await, "28P01");
    let app = connect(&config(port, "app", Some("app-pw"))).await.unwrap();
    app.query("SELECT * FROM t", &[]).await.unwrap();
    let hidden: Option<String> = app
        .query_one(
            "SELECT rolpassword FROM pg_authid WHERE rolname = 'app'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(hidden, None);
    // A role may change its own password, and only that.
    app.batch_execute("ALTER ROLE app PASSWORD 'new-pw'")
        .await
        .unwrap();
    assert_eq!(error_of(&app, "ALTER ROLE app CREATEDB").await, "42501");
    assert_eq!(
        login_error(&config(port, "app", Some("app-pw"))).await,
        "28P01"
    );
    connect(&config(port, "app", Some("new-pw"))).await.unwrap();
    // The last superuser password cannot go while others have one.
    assert_eq!(
        error_of(&admin, "ALTER ROLE prism PASSWORD NULL").await,
        "55000"
    );

    if !Path::new(PSQL).exists() {
        eprintln!("skipping the psql part: {PSQL} not found");
        return;
    }
    let out = tokio::process::Command::new(PSQL)
        .arg(format!(
            "host=127.0.0.1 port={port} user=app dbname=prism sslmode=require"
        ))
        .args([
            "-X",
            "-A",
            "-t",
            "-c",
            "SELECT current_user",
            "-c",
            "\\conninfo",
        ])
        .env("PGPASSWORD", "new-pw")
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("app\n"), "{stdout}");
    assert!(
        stdout.contains("SSL connection (protocol: TLSv1.3"),
        "{stdout}"
    );
}

#[tokio::test]
async fn roles_replicate_through_the_log() {
    let cluster = TestCluster::start(BIN, 3, &[]).await.unwrap();
    let first = cluster.nodes[0].connect("prism").await.unwrap();
    first
        .batch_execute(
            "CREATE ROLE carol LOGIN; CREATE TABLE r (id int PRIMARY KEY);
             INSERT INTO r VALUES (1); GRANT SELECT ON r TO carol",
        )
        .await
        .unwrap();
    let port = cluster.nodes[2].pg_port();
    let deadline = Instant::now() + Duration::from_secs(10);
    let carol = loop {
        match connect(&config(port, "carol", None)).await {
            Ok(c) => break c,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!(
                "carol cannot log in on another member: {e}\n{}",
                cluster.logs()
            ),
        }
    };
    assert_eq!(carol.query("SELECT * FROM r", &[]).await.unwrap().len(), 1);
    assert_eq!(error_of(&carol, "INSERT INTO r VALUES (2)").await, "42501");
}
