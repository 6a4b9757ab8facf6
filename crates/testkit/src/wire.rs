//! A raw PostgreSQL wire client for tests that send what no driver would:
//! malformed, truncated or random messages. [`RawConn`] writes bytes as
//! given and reads backend messages (type byte and body) with a timeout, so
//! a server that hangs fails the test instead of stalling it.

use anyhow::{Context, Result, bail};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One backend message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendMessage {
    pub kind: u8,
    pub body: Vec<u8>,
}

impl BackendMessage {
    /// The SQLSTATE of an ErrorResponse (field `C`).
    pub fn sqlstate(&self) -> Option<String> {
        self.error_field(b'C')
    }

    /// The severity of an ErrorResponse (field `S`).
    pub fn severity(&self) -> Option<String> {
        self.error_field(b'S')
    }

    fn error_field(&self, field: u8) -> Option<String> {
        if self.kind != b'E' {
            return None;
        }
        let mut rest = self.body.as_slice();
        while let Some((&code, tail)) = rest.split_first() {
            if code == 0 {
                break;
            }
            let end = tail.iter().position(|&b| b == 0)?;
            if code == field {
                return Some(String::from_utf8_lossy(&tail[..end]).into_owned());
            }
            rest = &tail[end + 1..];
        }
        None
    }
}

/// A typed frontend message: type byte, length, body.
pub fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    m.extend_from_slice(body);
    m
}

/// A StartupMessage (protocol 3.0) for `user` and `database`.
pub fn startup(user: &str, database: &str) -> Vec<u8> {
    let mut body = 196_608u32.to_be_bytes().to_vec();
    for (k, v) in [("user", user), ("database", database)] {
        body.extend_from_slice(k.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut m = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    m.extend_from_slice(&body);
    m
}

/// A CancelRequest for the session whose BackendKeyData gave `pid` and
/// `secret` (the message body's bytes, as the server sent them).
pub fn cancel_request(pid: &[u8], secret: &[u8]) -> Vec<u8> {
    let mut m = ((12 + secret.len()) as u32).to_be_bytes().to_vec();
    m.extend_from_slice(&80_877_102u32.to_be_bytes());
    m.extend_from_slice(pid);
    m.extend_from_slice(secret);
    m
}

/// A simple Query message.
pub fn query(sql: &str) -> Vec<u8> {
    let mut body = sql.as_bytes().to_vec();
    body.push(0);
    message(b'Q', &body)
}

/// A raw connection.
pub struct RawConn {
    stream: TcpStream,
    buf: Vec<u8>,
    pub timeout: Duration,
}

impl RawConn {
    /// Connects without starting up.
    pub async fn connect(port: u16) -> Result<RawConn> {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .context("connect")?;
        stream.set_nodelay(true)?;
        Ok(RawConn {
            stream,
            buf: Vec::new(),
            timeout: Duration::from_secs(30),
        })
    }

    /// Connects and completes start-up (up to the first ReadyForQuery).
    pub async fn start(port: u16, user: &str, database: &str) -> Result<RawConn> {
        let mut c = RawConn::connect(port).await?;
        c.send(&startup(user, database)).await?;
        c.until_ready().await?;
        Ok(c)
    }

    pub async fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.stream.write_all(bytes).await?;
        Ok(())
    }

    /// Ends the stream towards the server (it reads end-of-file).
    pub async fn finish(&mut self) -> Result<()> {
        self.stream.shutdown().await?;
        Ok(())
    }

    /// The next backend message; `None` once the server closed the
    /// connection. Fails if nothing arrives within the timeout.
    pub async fn recv(&mut self) -> Result<Option<BackendMessage>> {
        loop {
            if self.buf.len() >= 5 {
                let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]])
                    as usize;
                if len < 4 {
                    bail!("backend message with length {len}");
                }
                if self.buf.len() > len {
                    let body = self.buf[5..len + 1].to_vec();
                    let kind = self.buf[0];
                    self.buf.drain(..len + 1);
                    return Ok(Some(BackendMessage { kind, body }));
                }
            }
            let mut chunk = [0u8; 8192];
            let n = match tokio::time::timeout(self.timeout, self.stream.read(&mut chunk)).await {
                Err(_) => bail!("no answer from the server within {:?}", self.timeout),
                Ok(Err(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                    ) =>
                {
                    0
                }
                Ok(r) => r?,
            };
            if n == 0 {
                return Ok(None);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Messages up to and including the next ReadyForQuery; fails if the
    /// connection closes first.
    pub async fn until_ready(&mut self) -> Result<Vec<BackendMessage>> {
        let mut out = Vec::new();
        loop {
            match self.recv().await? {
                Some(m) if m.kind == b'Z' => {
                    out.push(m);
                    return Ok(out);
                }
                Some(m) => out.push(m),
                None => bail!("the connection closed before ReadyForQuery: {out:?}"),
            }
        }
    }

    /// Messages until the server closes the connection.
    pub async fn until_closed(&mut self) -> Result<Vec<BackendMessage>> {
        let mut out = Vec::new();
        while let Some(m) = self.recv().await? {
            out.push(m);
        }
        Ok(out)
    }
}
