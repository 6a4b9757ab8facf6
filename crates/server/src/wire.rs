//! Checking frontend messages before pgwire decodes them.
//!
//! pgwire frames a message by its declared length but then decodes the body
//! from the whole read buffer: a string without its terminator runs into the
//! next message, a body longer than its fields is left in the buffer and read
//! as the next message, and a count larger than the body makes `bytes` panic.
//! The connection then hangs or ends without a word. [`check`] reads every
//! message the way PostgreSQL's backend does (`pq_getmsgstring`,
//! `pq_getmsgend`): each field within the declared length, nothing left over.
//! [`GuardedStream`] sits between the socket and pgwire's codec and hands
//! pgwire only messages that passed; the connection loop (`server::drive`)
//! answers the others:
//!
//! * a malformed body inside a sound frame (a Query with an embedded NUL, a
//!   Parse with an unterminated string, a Flush with a body) is an ERROR
//!   08P01, and the connection goes on with the next message, skipping to
//!   Sync first for messages of the extended protocol — as PostgreSQL does;
//! * a broken frame (a length below 4 or above the message's limit, an
//!   unknown message type, an unsupported protocol version, a bad start-up
//!   packet) is FATAL: the stream cannot be resynchronized, so the
//!   connection closes after the ErrorResponse.
//!
//! The start-up phase is checked too: SSL and GSSAPI encryption requests are
//! refused here with `N` (the server speaks plain TCP), and only a
//! well-formed StartupMessage or CancelRequest reaches pgwire.

use bytes::{Buf, BytesMut};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::io::poll_read_buf;

/// PostgreSQL's limit on the length of a start-up packet.
const MAX_STARTUP_LEN: usize = 10_000;
/// PostgreSQL's limit on messages that carry SQL or data (PQ_LARGE_MESSAGE_LIMIT).
const LARGE_LIMIT: usize = 0x3fff_ffff - 1;
/// PostgreSQL's limit on every other message (PQ_SMALL_MESSAGE_LIMIT).
const SMALL_LIMIT: usize = 10_000;

const SSL_REQUEST: u32 = 80_877_103;
const GSSENC_REQUEST: u32 = 80_877_104;
const CANCEL_REQUEST: u32 = 80_877_102;

/// A message the server refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// SQLSTATE: 08P01, or 0A000 for what PrismDB does not support.
    pub code: &'static str,
    pub message: String,
    /// The frame itself is broken (or the client must not go on): the
    /// connection closes after the ErrorResponse.
    pub fatal: bool,
    /// A message of the extended protocol: after the error, messages are
    /// skipped up to the next Sync.
    pub extended: bool,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for Violation {}

/// The violation carried by an I/O error of a [`GuardedStream`], if any.
pub fn violation(e: &io::Error) -> Option<&Violation> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<Violation>())
}

/// Where the connection is in the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before the StartupMessage: packets without a type byte.
    Startup,
    /// After it: typed messages.
    Typed,
    /// Typed messages while a password exchange runs: password messages
    /// (whose bodies the authentication reads itself) are expected.
    Auth,
    /// A CancelRequest was passed on, or a fatal violation reported: nothing
    /// more is read.
    Closed,
}

/// What to do with the bytes at the front of the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Not a whole message yet.
    Incomplete,
    /// The first `n` bytes are a well-formed message: hand them to pgwire.
    Pass(usize),
    /// Swallow the first `n` bytes and answer them with `reply` (the `N` of
    /// a refused SSL or GSSAPI request).
    Answer(usize, u8),
    /// Drop the first `n` bytes and report the violation.
    Reject(usize, Violation),
}

fn fatal(code: &'static str, message: impl Into<String>) -> Violation {
    Violation {
        code,
        message: message.into(),
        fatal: true,
        extended: false,
    }
}

/// Checks the message at the front of `buf` in `phase`; returns what to do
/// and the phase after it.
pub fn check(buf: &[u8], phase: Phase) -> (Check, Phase) {
    match phase {
        Phase::Startup => check_startup(buf),
        Phase::Typed => (check_typed(buf, false), Phase::Typed),
        Phase::Auth => (check_typed(buf, true), Phase::Auth),
        Phase::Closed => (Check::Incomplete, Phase::Closed),
    }
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn check_startup(buf: &[u8]) -> (Check, Phase) {
    if buf.len() < 4 {
        return (Check::Incomplete, Phase::Startup);
    }
    let len = be_u32(buf) as usize;
    if !(8..=MAX_STARTUP_LEN).contains(&len) {
        let v = fatal("08P01", "invalid length of startup packet");
        return (Check::Reject(buf.len(), v), Phase::Closed);
    }
    if buf.len() < len {
        return (Check::Incomplete, Phase::Startup);
    }
    let code = be_u32(&buf[4..8]);
    match code {
        SSL_REQUEST | GSSENC_REQUEST if len == 8 => (Check::Answer(len, b'N'), Phase::Startup),
        CANCEL_REQUEST if len >= 16 => (Check::Pass(len), Phase::Closed),
        SSL_REQUEST | GSSENC_REQUEST | CANCEL_REQUEST => {
            let v = fatal("08P01", "invalid length of startup packet");
            (Check::Reject(len, v), Phase::Closed)
        }
        _ if code >> 16 == 3 => match startup_parameters(&buf[8..len]) {
            Ok(()) if len > 8 => (Check::Pass(len), Phase::Typed),
            Ok(()) => {
                let v = fatal(
                    "08P01",
                    "invalid startup packet layout: expected terminator as last byte",
                );
                (Check::Reject(len, v), Phase::Closed)
            }
            Err(message) => (Check::Reject(len, fatal("08P01", message)), Phase::Closed),
        },
        _ => {
            let v = fatal(
                "0A000",
                format!(
                    "unsupported frontend protocol {}.{}: server supports 3.0 to 3.0",
                    code >> 16,
                    code & 0xffff
                ),
            );
            (Check::Reject(len, v), Phase::Closed)
        }
    }
}

/// The StartupMessage's name/value pairs: strings, ending with an empty name.
fn startup_parameters(body: &[u8]) -> Result<(), String> {
    let mut r = Reader::new(body);
    loop {
        let name = r.cstring().map_err(|_| {
            "invalid startup packet layout: expected terminator as last byte".to_string()
        })?;
        if name.is_empty() {
            break;
        }
        r.cstring().map_err(|_| {
            "invalid startup packet layout: expected terminator as last byte".to_string()
        })?;
    }
    r.end()
        .map_err(|_| "invalid startup packet layout: expected terminator as last byte".to_string())
}

fn check_typed(buf: &[u8], authenticating: bool) -> Check {
    if buf.len() < 5 {
        return Check::Incomplete;
    }
    let kind = buf[0];
    let len = be_u32(&buf[1..5]) as usize;
    let limit = match kind {
        b'Q' | b'P' | b'B' | b'd' | b'F' => LARGE_LIMIT,
        b'D' | b'C' | b'E' | b'H' | b'S' | b'X' | b'c' | b'f' | b'p' => SMALL_LIMIT,
        other => {
            return Check::Reject(
                buf.len(),
                fatal("08P01", format!("invalid frontend message type {other}")),
            );
        }
    };
    if len < 4 || len > limit {
        return Check::Reject(buf.len(), fatal("08P01", "invalid message length"));
    }
    let total = len + 1;
    if buf.len() < total {
        return Check::Incomplete;
    }
    let body = &buf[5..total];
    if authenticating && kind == b'p' {
        return Check::Pass(total);
    }
    match check_body(kind, body) {
        Ok(()) => Check::Pass(total),
        Err(v) => Check::Reject(total, v),
    }
}

/// Reads a message body field by field, like PostgreSQL's `pq_getmsg*`.
struct Reader<'a> {
    rest: &'a [u8],
    /// A string field was not UTF-8.
    bad_text: bool,
}

/// A field ran past the end of its message.
struct Short;

impl<'a> Reader<'a> {
    fn new(body: &'a [u8]) -> Self {
        Reader {
            rest: body,
            bad_text: false,
        }
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], Short> {
        if n > self.rest.len() {
            return Err(Short);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, Short> {
        Ok(self.bytes(1)?[0])
    }

    fn i16(&mut self) -> Result<i16, Short> {
        let b = self.bytes(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self) -> Result<i32, Short> {
        let b = self.bytes(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A NUL-terminated string (without its NUL); a string that is not
    /// UTF-8 is remembered in `bad_text`.
    fn cstring(&mut self) -> Result<&'a [u8], Short> {
        let Some(end) = self.rest.iter().position(|&b| b == 0) else {
            return Err(Short);
        };
        let s = &self.rest[..end];
        self.rest = &self.rest[end + 1..];
        if std::str::from_utf8(s).is_err() {
            self.bad_text = true;
        }
        Ok(s)
    }

    fn end(&self) -> Result<(), Short> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Short)
        }
    }
}

fn check_body(kind: u8, body: &[u8]) -> Result<(), Violation> {
    let extended = matches!(kind, b'P' | b'B' | b'D' | b'E' | b'C' | b'H' | b'S');
    let malformed = |message: &str| Violation {
        code: "08P01",
        message: message.to_string(),
        fatal: false,
        extended,
    };
    let mut r = Reader::new(body);
    let layout = match kind {
        b'Q' => r.cstring().and_then(|_| r.end()),
        b'P' => (|| {
            r.cstring()?;
            r.cstring()?;
            let n = r.i16()?;
            if n < 0 {
                return Err(Short);
            }
            r.bytes(4 * n as usize)?;
            r.end()
        })(),
        b'B' => (|| {
            r.cstring()?;
            r.cstring()?;
            let formats = r.i16()?;
            if formats < 0 {
                return Err(Short);
            }
            r.bytes(2 * formats as usize)?;
            let params = r.i16()?;
            if params < 0 {
                return Err(Short);
            }
            for _ in 0..params {
                let len = r.i32()?;
                if len < -1 {
                    return Err(Short);
                }
                if len > 0 {
                    r.bytes(len as usize)?;
                }
            }
            let results = r.i16()?;
            if results < 0 {
                return Err(Short);
            }
            r.bytes(2 * results as usize)?;
            r.end()
        })(),
        b'D' | b'C' => r.u8().and_then(|_| r.cstring()).and_then(|_| r.end()),
        b'E' => r.cstring().and_then(|_| r.i32()).and_then(|_| r.end()),
        b'H' | b'S' | b'X' | b'c' => r.end(),
        b'f' => r.cstring().and_then(|_| r.end()),
        b'd' => Ok(()),
        b'F' => {
            return Err(Violation {
                code: "0A000",
                message: "the function call sub-protocol is not supported".into(),
                fatal: false,
                extended: false,
            });
        }
        // No authentication exchange is in progress: a password message is
        // out of place, and what follows it cannot be trusted.
        b'p' => {
            return Err(fatal("08P01", "unexpected password message"));
        }
        _ => Ok(()),
    };
    if layout.is_err() {
        let message = match kind {
            b'Q' | b'P' | b'B' | b'E' | b'D' | b'C' | b'f' => "invalid message format",
            _ => "invalid message format: unexpected message body",
        };
        return Err(malformed(message));
    }
    // Strings must be UTF-8 (the only client_encoding PrismDB speaks).
    if r.bad_text {
        let mut v = malformed("invalid byte sequence for encoding \"UTF8\"");
        v.code = "22021";
        return Err(v);
    }
    Ok(())
}

/// A socket that hands its reader only messages that passed [`check`].
///
/// Reading fills an internal buffer from the socket; whole, well-formed
/// messages move to the part the reader may take. A refused SSL/GSSAPI
/// request is answered on the socket directly. A violation is returned as
/// an `io::Error` carrying the [`Violation`] (see [`violation`]) once the
/// messages before it were read; the offending bytes are dropped, so a
/// non-fatal violation leaves the stream at the next message.
pub struct GuardedStream<S> {
    inner: S,
    /// Bytes read from the socket; the first `passed` of them checked.
    buf: BytesMut,
    passed: usize,
    phase: Phase,
    /// A violation to report once the checked bytes are taken.
    pending: Option<Violation>,
    /// A reply owed to the client (a refused SSL request).
    reply: Option<u8>,
    eof: bool,
}

impl<S> GuardedStream<S> {
    pub fn new(inner: S) -> Self {
        GuardedStream {
            inner,
            buf: BytesMut::with_capacity(8 * 1024),
            passed: 0,
            phase: Phase::Startup,
            pending: None,
            reply: None,
            eof: false,
        }
    }

    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Whether a password exchange is running (password messages pass).
    pub fn set_authenticating(&mut self, on: bool) {
        self.phase = match (self.phase, on) {
            (Phase::Typed, true) => Phase::Auth,
            (Phase::Auth, false) => Phase::Typed,
            (phase, _) => phase,
        };
    }

    /// Checks as many whole messages as the buffer holds.
    fn advance(&mut self) {
        while self.pending.is_none() && self.reply.is_none() && self.phase != Phase::Closed {
            let (outcome, next) = check(&self.buf[self.passed..], self.phase);
            match outcome {
                Check::Incomplete => break,
                Check::Pass(n) => {
                    self.passed += n;
                    self.phase = next;
                }
                Check::Answer(n, reply) => {
                    self.drop_range(n);
                    self.reply = Some(reply);
                    self.phase = next;
                }
                Check::Reject(n, v) => {
                    self.drop_range(n);
                    self.phase = if v.fatal { Phase::Closed } else { next };
                    self.pending = Some(v);
                }
            }
        }
    }

    /// Removes `n` unchecked bytes right after the checked ones.
    fn drop_range(&mut self, n: usize) {
        let n = n.min(self.buf.len() - self.passed);
        if self.passed == 0 {
            self.buf.advance(n);
        } else {
            let tail = self.buf.split_off(self.passed);
            let mut tail = tail;
            tail.advance(n);
            self.buf.unsplit(tail);
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for GuardedStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            this.advance();
            if let Some(reply) = this.reply {
                let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &[reply]))?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                ready!(Pin::new(&mut this.inner).poll_flush(cx))?;
                this.reply = None;
                continue;
            }
            if this.passed > 0 {
                let n = this.passed.min(out.remaining());
                out.put_slice(&this.buf[..n]);
                this.buf.advance(n);
                this.passed -= n;
                return Poll::Ready(Ok(()));
            }
            if let Some(v) = this.pending.take() {
                return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, v)));
            }
            if this.eof || this.phase == Phase::Closed {
                return Poll::Ready(Ok(()));
            }
            if this.buf.capacity() - this.buf.len() < 4096 {
                this.buf.reserve(8 * 1024);
            }
            let read = ready!(poll_read_buf(Pin::new(&mut this.inner), cx, &mut this.buf))?;
            if read == 0 {
                this.eof = true;
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for GuardedStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
#[path = "wire_test.rs"]
mod tests;
