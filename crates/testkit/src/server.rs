//! `TestServer`: runs a real `prismdb` process for integration tests.
//!
//! The server is started as `BIN start --data-dir DIR --listen 127.0.0.1:PORT
//! --http 127.0.0.1:HPORT --peer-listen 127.0.0.1:RPORT` (plus any extra
//! arguments, e.g. a cluster member's `--name` and `--initial-cluster`). Its stdout and stderr go to a log file next to the
//! data directory so that a failing test can show what the server said.

use std::fs::OpenOptions;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use tempfile::TempDir;
use tokio_postgres::{Client, Config, NoTls};

/// How long `start`/`restart` wait for the server to accept connections.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// How many times `start` retries with fresh ports when the process dies early.
const START_ATTEMPTS: usize = 3;
/// The role tests connect as.
pub const TEST_USER: &str = "prism";
/// The database every server has from the start.
pub const DEFAULT_DB: &str = "prism";

/// A running `prismdb` server process owned by a test.
///
/// The process is killed when the value is dropped.
pub struct TestServer {
    bin: PathBuf,
    data_dir: PathBuf,
    log_path: PathBuf,
    pg_port: u16,
    http_port: u16,
    peer_port: u16,
    child: Option<Child>,
    extra_args: Vec<String>,
    /// Keeps the temporary directory (data dir + log) alive for the server's lifetime.
    _temp: Option<TempDir>,
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("bin", &self.bin)
            .field("data_dir", &self.data_dir)
            .field("pg_port", &self.pg_port)
            .field("http_port", &self.http_port)
            .finish()
    }
}

/// Returns a port that was free a moment ago (bind port 0, read it, release it).
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding an ephemeral port")?;
    Ok(listener.local_addr()?.port())
}

/// `n` distinct free ports.
pub fn free_ports(n: usize) -> Result<Vec<u16>> {
    // Hold all listeners at once so the kernel cannot hand out a port twice.
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| Ok(l.local_addr()?.port()))
        .collect()
}

impl TestServer {
    /// Starts a server on a fresh temporary data directory.
    pub async fn start(bin: impl AsRef<Path>) -> Result<Self> {
        Self::start_with_args(bin, &[]).await
    }

    /// Starts a server on a fresh temporary data directory, passing `extra_args`
    /// after the standard arguments.
    pub async fn start_with_args(bin: impl AsRef<Path>, extra_args: &[&str]) -> Result<Self> {
        let temp = tempfile::Builder::new()
            .prefix("prismdb-test-")
            .tempdir()
            .context("creating temporary directory")?;
        let data_dir = temp.path().join("data");
        let mut server = Self::new_stopped(bin.as_ref(), data_dir, Some(temp), extra_args)?;
        server.start_with_fresh_ports().await?;
        Ok(server)
    }

    /// Starts a server on an existing (or to-be-created) data directory that the
    /// caller owns. The log file is written next to it (`<data_dir>.server.log`).
    pub async fn start_in(bin: impl AsRef<Path>, data_dir: impl Into<PathBuf>) -> Result<Self> {
        let mut server = Self::new_stopped(bin.as_ref(), data_dir.into(), None, &[])?;
        server.start_with_fresh_ports().await?;
        Ok(server)
    }

    fn new_stopped(
        bin: &Path,
        data_dir: PathBuf,
        temp: Option<TempDir>,
        extra_args: &[&str],
    ) -> Result<Self> {
        if !bin.exists() {
            bail!("server binary {} does not exist", bin.display());
        }
        let parent = data_dir
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(std::env::temp_dir);
        std::fs::create_dir_all(&parent)
            .with_context(|| format!("creating {}", parent.display()))?;
        let name = data_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "data".to_string());
        let log_path = parent.join(format!("{name}.server.log"));
        Ok(Self {
            bin: bin.to_path_buf(),
            data_dir,
            log_path,
            pg_port: 0,
            http_port: 0,
            peer_port: 0,
            child: None,
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
            _temp: temp,
        })
    }

    async fn start_with_fresh_ports(&mut self) -> Result<()> {
        let mut last_err = None;
        for _ in 0..START_ATTEMPTS {
            let ports = free_ports(3)?;
            self.pg_port = ports[0];
            self.http_port = ports[1];
            self.peer_port = ports[2];
            match self.spawn_and_wait().await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    self.kill_child();
                    last_err = Some(e);
                }
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow!("server did not start")))
    }

    fn spawn(&mut self) -> Result<()> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .with_context(|| format!("opening log file {}", self.log_path.display()))?;
        let log_err = log.try_clone()?;
        let mut cmd = Command::new(&self.bin);
        cmd.arg("start")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.pg_port))
            .arg("--http")
            .arg(format!("127.0.0.1:{}", self.http_port))
            .arg("--peer-listen")
            .arg(format!("127.0.0.1:{}", self.peer_port))
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err));
        let child = cmd
            .spawn()
            .with_context(|| format!("spawning {}", self.bin.display()))?;
        self.child = Some(child);
        Ok(())
    }

    async fn spawn_and_wait(&mut self) -> Result<()> {
        self.append_log_marker("starting")?;
        self.spawn()?;
        self.wait_ready().await
    }

    fn append_log_marker(&self, what: &str) -> Result<()> {
        use std::io::Write;
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)?;
        writeln!(
            f,
            "==== testkit: {what} server pg=127.0.0.1:{} http=127.0.0.1:{} data={} ====",
            self.pg_port,
            self.http_port,
            self.data_dir.display()
        )?;
        Ok(())
    }

    /// Polls until a pgwire connection succeeds, the process exits, or the timeout passes.
    async fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let config = self.pg_config(DEFAULT_DB);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                self.child = None;
                bail!(
                    "prismdb exited during startup with {status}; log {}:\n{}",
                    self.log_path.display(),
                    self.log_tail(8000)
                );
            }
            let attempt = tokio::time::timeout(Duration::from_secs(5), config.connect(NoTls)).await;
            if let Ok(Ok((client, connection))) = attempt {
                drop(client);
                // Let the connection close cleanly; ignore its result.
                let _ = tokio::time::timeout(Duration::from_secs(2), connection).await;
                return Ok(());
            }
            // A server that asks for a password the test did not give is
            // up all the same.
            if let Ok(Err(e)) = &attempt
                && crate::sqlstate(e).is_some_and(|c| c.starts_with("28"))
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let last = match attempt {
                    Ok(Err(e)) => e.to_string(),
                    Ok(Ok(_)) => unreachable!(),
                    Err(_) => "connect timed out".to_string(),
                };
                bail!(
                    "prismdb did not accept connections on 127.0.0.1:{} within {:?} (last error: {last}); log {}:\n{}",
                    self.pg_port,
                    STARTUP_TIMEOUT,
                    self.log_path.display(),
                    self.log_tail(8000)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A stopped server on fixed ports (a cluster member); start it with
    /// [`TestServer::restart`].
    pub fn member(
        bin: &Path,
        data_dir: PathBuf,
        ports: (u16, u16, u16),
        extra_args: &[String],
    ) -> Result<Self> {
        let mut s = Self::new_stopped(bin, data_dir, None, &[])?;
        (s.pg_port, s.http_port, s.peer_port) = ports;
        s.extra_args = extra_args.to_vec();
        Ok(s)
    }

    /// Starts the process without waiting for it to accept connections.
    pub fn launch(&mut self) -> Result<()> {
        self.append_log_marker("starting")?;
        self.spawn()
    }

    /// Waits until a launched process accepts connections.
    pub async fn wait_started(&mut self) -> Result<()> {
        self.wait_ready().await
    }

    /// The node-to-node (Raft) port.
    pub fn peer_port(&self) -> u16 {
        self.peer_port
    }

    /// The pgwire port.
    pub fn pg_port(&self) -> u16 {
        self.pg_port
    }

    /// The HTTP (metrics/admin) port.
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// The body of an HTTP GET of `path` on the HTTP port.
    pub async fn http_get(&self, path: &str) -> Result<String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.http_port)).await?;
        stream
            .write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes())
            .await?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await?;
        match response.split_once("\r\n\r\n") {
            Some((head, body)) if head.starts_with("HTTP/1.") && head.contains(" 200 ") => {
                Ok(body.to_string())
            }
            _ => Err(anyhow!("GET {path}: {response}")),
        }
    }

    /// The process id of the running server.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The file receiving the server's stdout and stderr.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The whole server log so far.
    pub fn log_contents(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The last `max_bytes` bytes of the server log.
    pub fn log_tail(&self, max_bytes: usize) -> String {
        let s = self.log_contents();
        if s.len() <= max_bytes {
            return s;
        }
        let mut start = s.len() - max_bytes;
        while !s.is_char_boundary(start) {
            start += 1;
        }
        format!("...{}", &s[start..])
    }

    /// Connection settings for database `db` as user `prism` (with the
    /// password the server was started with, if any).
    pub fn pg_config(&self, db: &str) -> Config {
        let mut config = Config::new();
        config
            .host("127.0.0.1")
            .port(self.pg_port)
            .user(TEST_USER)
            .dbname(db)
            .application_name("prismdb-testkit")
            .connect_timeout(Duration::from_secs(10));
        if let Some(password) = self.superuser_password() {
            config.password(password);
        }
        config
    }

    /// The `--superuser-password` the server was started with.
    pub fn superuser_password(&self) -> Option<&str> {
        self.extra_args
            .iter()
            .position(|a| a == "--superuser-password")
            .and_then(|i| self.extra_args.get(i + 1))
            .map(String::as_str)
    }

    /// A libpq-style connection string for database `db`.
    pub fn conn_string(&self, db: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user={TEST_USER} dbname={db}",
            self.pg_port
        )
    }

    /// Opens a connection to database `db`; the connection task runs on the current runtime.
    pub async fn connect(&self, db: &str) -> Result<Client> {
        connect_config(&self.pg_config(db)).await
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Kills the process with SIGKILL (no shutdown hooks run) and waits for it to exit.
    pub fn kill9(&mut self) {
        self.kill_child();
        let _ = self.append_log_marker("killed (SIGKILL)");
    }

    /// Stops the process as an operator does (SIGTERM) and waits up to
    /// `grace` for it to exit: its exit status, or `None` if it was still
    /// running then (it is killed).
    pub fn terminate(&mut self, grace: Duration) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + grace;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
            }
        };
        let _ = self.append_log_marker("terminated (SIGTERM)");
        status
    }

    fn kill_child(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same data directory and ports, killing it
    /// first if it is still running.
    pub async fn restart(&mut self) -> Result<()> {
        self.kill_child();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.spawn_and_wait().await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    self.kill_child();
                    // The old listener's port may linger briefly; retry until the deadline.
                    if Instant::now() >= deadline {
                        return Err(e.context("restarting prismdb"));
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill_child();
    }
}

/// Connects with `config` and spawns the connection task on the current runtime.
pub async fn connect_config(config: &Config) -> Result<Client> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}
