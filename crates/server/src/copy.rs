//! The COPY FROM STDIN sub-protocol of a [`Connection`].
//!
//! When a statement leaves the session waiting for COPY data
//! ([`SqlSession::copy_in_columns`]), [`start_copy_in`] answers
//! CopyInResponse (text format, one text column entry per column) and puts
//! pgwire in copy-in mode. pgwire then routes CopyData, CopyDone and
//! CopyFail to the [`CopyHandler`] here, which hands them to the session,
//! and ignores Sync and Flush until the copy ends. On CopyDone the tag is
//! `COPY n`; pgwire then sends ReadyForQuery (simple protocol) or waits for
//! the client's Sync (extended protocol). An error ends the copy: pgwire
//! reports it and drops the rest of the client's copy messages, so the
//! connection stays usable.

use super::{Connection, no_session, txn_status};
use crate::handler::{QueryResult, SqlEngine, SqlSession};
use crate::sqlstate::to_pgwire;
use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::copy::CopyHandler;
use pgwire::api::{ClientInfo, PgWireConnectionState};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::copy::{CopyData, CopyDone, CopyFail, CopyInResponse};
use pgwire::messages::response::CommandComplete;
use std::fmt::Debug;

/// Answers a statement that started a COPY FROM STDIN: CopyInResponse,
/// flushed, and pgwire in copy-in mode. `extended` says the statement came
/// through the extended protocol (so the copy ends waiting for Sync).
pub(super) async fn start_copy_in<C>(
    client: &mut C,
    columns: usize,
    extended: bool,
    binary: bool,
) -> PgWireResult<()>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    // A table has at most a few thousand columns; i16 is the wire's limit.
    let count = i16::try_from(columns).unwrap_or(i16::MAX);
    client
        .feed(PgWireBackendMessage::CopyInResponse(CopyInResponse::new(
            i8::from(binary),
            count,
            vec![i16::from(binary); columns],
        )))
        .await?;
    client.flush().await?;
    client.set_state(PgWireConnectionState::CopyInProgress(extended));
    Ok(())
}

#[async_trait]
impl<E: SqlEngine> CopyHandler for Connection<E> {
    async fn on_copy_data<C>(&self, client: &mut C, copy_data: CopyData) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut guard = self.state.lock().await;
        let state = &mut *guard;
        let session = state.session.as_mut().ok_or_else(no_session)?;
        let result = match state.binary_copy.as_mut() {
            Some(decoder) => match decoder.feed(&copy_data.data) {
                Ok(rows) if rows.is_empty() => Ok(()),
                Ok(rows) => session.copy_data(&rows).await,
                Err(e) => {
                    state.binary_copy = None;
                    // The session's COPY ends with the error.
                    let _ = session.copy_fail(&e.to_string());
                    Err(e)
                }
            },
            None => session.copy_data(&copy_data.data).await,
        };
        if let Err(e) = result {
            client.set_transaction_status(txn_status(session.txn_state()));
            return Err(to_pgwire(&e));
        }
        Ok(())
    }

    async fn on_copy_done<C>(&self, client: &mut C, _done: CopyDone) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut guard = self.state.lock().await;
        let state = &mut *guard;
        let session = state.session.as_mut().ok_or_else(no_session)?;
        if let Some(decoder) = state.binary_copy.take()
            && let Err(e) = decoder.finish()
        {
            let _ = session.copy_fail(&e.to_string());
            client.set_transaction_status(txn_status(session.txn_state()));
            return Err(to_pgwire(&e));
        }
        let result = session.copy_done().await;
        client.set_transaction_status(txn_status(session.txn_state()));
        let QueryResult { tag, .. } = result.map_err(|e| to_pgwire(&e))?;
        self.metrics().query(&tag);
        client
            .feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                tag,
            )))
            .await?;
        Ok(())
    }

    async fn on_copy_fail<C>(&self, client: &mut C, fail: CopyFail) -> PgWireError
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut state = self.state.lock().await;
        state.binary_copy = None;
        let Some(session) = state.session.as_mut() else {
            return no_session();
        };
        let error = session.copy_fail(&fail.message);
        client.set_transaction_status(txn_status(session.txn_state()));
        to_pgwire(&error)
    }
}
