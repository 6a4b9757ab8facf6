//! The message loop of one client connection.
//!
//! [`drive`] takes the accepted socket, puts [`GuardedStream`] between it
//! and pgwire's codec (so pgwire decodes only well-formed messages, see
//! [`crate::wire`]), and hands each message to pgwire's `process_message`,
//! which calls the [`Connection`]'s handlers. Around that it does what
//! pgwire's own loop cannot:
//!
//! * a client that asks for TLS gets it first, when a certificate is
//!   configured ([`crate::tls`]);
//! * a message [`crate::wire::check`] refused gets its ErrorResponse
//!   (08P01): FATAL and the end of the connection for a broken frame, ERROR
//!   and the next message (after Sync, for the extended protocol) for a
//!   malformed body;
//! * while a statement runs (Query, Execute), the socket is looked at once
//!   a second for a hang-up (`POLLRDHUP`, as PostgreSQL's
//!   `client_connection_check_interval` does): a client that went away
//!   cancels its statement, which then ends at its next check instead of
//!   running to completion for nobody.

use super::Connection;
use crate::handler::SqlEngine;
use crate::wire::{self, GuardedStream};
use futures::{SinkExt, StreamExt};
use pgwire::api::{ClientInfo, DefaultClient, ErrorHandler, PgWireConnectionState};
use pgwire::error::{ErrorInfo, PgWireError, SEVERITY_ERROR, SEVERITY_FATAL};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use pgwire::tokio::server::{MaybeTls, PgWireMessageServerCodec, process_error, process_message};
use std::future::Future;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::codec::Framed;

/// How long a client may take to complete start-up.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// How often a running statement's client is checked for a hang-up.
const HANGUP_CHECK: Duration = Duration::from_secs(1);

type Socket<S> = Framed<GuardedStream<MaybeTls>, PgWireMessageServerCodec<S>>;

/// Serves one client until it leaves, breaks the protocol fatally or the
/// connection fails.
pub(super) async fn drive<E: SqlEngine>(
    tcp: TcpStream,
    connection: Arc<Connection<E>>,
) -> std::io::Result<()> {
    tcp.set_nodelay(true)?;
    let addr = tcp.peer_addr()?;
    // A second descriptor of the socket, to look for a hang-up while the
    // codec owns the first.
    let watch = tcp.as_fd().try_clone_to_owned().ok();
    let startup_deadline = Instant::now() + STARTUP_TIMEOUT;
    let (stream, secure) = crate::tls::negotiate(tcp, connection.tls(), STARTUP_TIMEOUT).await?;
    let client = DefaultClient::new(addr, secure);
    let mut socket: Socket<String> = Framed::new(
        GuardedStream::new(stream),
        PgWireMessageServerCodec::new(client),
    );
    socket.set_state(PgWireConnectionState::AwaitingStartup);

    // The connection plays every handler role.
    let handler = &connection;

    loop {
        let next = if matches!(
            socket.state(),
            PgWireConnectionState::AwaitingStartup
                | PgWireConnectionState::AuthenticationInProgress
        ) {
            tokio::time::timeout_at(startup_deadline, socket.next())
                .await
                .unwrap_or(None)
        } else {
            socket.next().await
        };
        let message = match next {
            None => break,
            Some(Ok(message)) => message,
            Some(Err(PgWireError::IoError(e))) if wire::violation(&e).is_some() => {
                let Some(v) = wire::violation(&e).cloned() else {
                    break;
                };
                // The codec stops after an error; a fresh one over the same
                // buffers and state goes on with the next message.
                socket = Framed::from_parts(socket.into_parts());
                connection.metrics().error(v.code);
                tracing::debug!(%addr, "protocol violation: {v}");
                if v.fatal {
                    let info = ErrorInfo::new(SEVERITY_FATAL.into(), v.code.into(), v.message);
                    let _ = socket
                        .send(PgWireBackendMessage::ErrorResponse(info.into()))
                        .await;
                    break;
                }
                let info = ErrorInfo::new(SEVERITY_ERROR.into(), v.code.into(), v.message);
                process_error(
                    &mut socket,
                    PgWireError::UserError(Box::new(info)),
                    v.extended,
                )
                .await?;
                continue;
            }
            Some(Err(e)) => {
                tracing::debug!(%addr, "connection ended: {e}");
                break;
            }
        };
        // A Terminate ends the session; some clients (asyncpg) wait for the
        // server to close the socket.
        if matches!(message, PgWireFrontendMessage::Terminate(_)) {
            break;
        }
        let runs_statement = matches!(
            message,
            PgWireFrontendMessage::Query(_) | PgWireFrontendMessage::Execute(_)
        );
        let is_extended = match socket.state() {
            PgWireConnectionState::CopyInProgress(extended) => extended,
            _ => message.is_extended_query(),
        };
        let is_cancel = matches!(message, PgWireFrontendMessage::CancelRequest(_));
        let work = process_message(
            message,
            &mut socket,
            handler.clone(),
            handler.clone(),
            handler.clone(),
            handler.clone(),
            handler.clone(),
        );
        let outcome = match (&watch, runs_statement) {
            (Some(fd), true) => {
                until_done_or_hangup(work, fd, || connection.cancel_running()).await
            }
            _ => work.await,
        };
        if let Err(mut e) = outcome {
            connection.on_error(&socket, &mut e);
            let fatal = e.is_fatal();
            process_error(&mut socket, e, is_extended).await?;
            if fatal {
                break;
            }
        }
        if is_cancel {
            break;
        }
        let authenticating = matches!(
            socket.state(),
            PgWireConnectionState::AuthenticationInProgress
        );
        socket.get_mut().set_authenticating(authenticating);
    }
    Ok(())
}

/// Awaits `work`, checking every [`HANGUP_CHECK`] whether the client hung
/// up; the first time it has, calls `on_hangup` (which cancels the
/// statement) and goes on waiting for `work` to end.
async fn until_done_or_hangup<F: Future>(
    work: F,
    fd: &OwnedFd,
    on_hangup: impl FnOnce(),
) -> F::Output {
    tokio::pin!(work);
    let mut on_hangup = Some(on_hangup);
    let check = tokio::time::sleep(HANGUP_CHECK);
    tokio::pin!(check);
    loop {
        tokio::select! {
            biased;
            out = &mut work => return out,
            () = &mut check, if on_hangup.is_some() => {
                if hung_up(fd) {
                    if let Some(cancel) = on_hangup.take() {
                        cancel();
                    }
                } else {
                    check.as_mut().reset(Instant::now() + HANGUP_CHECK);
                }
            }
        }
    }
}

/// Whether the peer closed its end of the socket (or the socket failed).
fn hung_up(fd: &OwnedFd) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let mut fds = [PollFd::new(fd, PollFlags::RDHUP)];
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    match poll(&mut fds, Some(&zero)) {
        Ok(_) => fds[0]
            .revents()
            .intersects(PollFlags::RDHUP | PollFlags::HUP | PollFlags::ERR),
        Err(_) => false,
    }
}
