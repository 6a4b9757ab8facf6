//! What every session of this node is doing, for `pg_stat_activity`.
//!
//! Each [`Session`](crate::Session) registers a [`SessionActivity`] with
//! the engine's [`Activity`] when it opens and leaves it when it closes.
//! The session marks the start and end of every statement and transaction;
//! the admission queue marks the wait of a statement it holds back
//! (`wait_event_type` `Admission`, `wait_event` `AnalyticsQueue`). Reading
//! the table takes a copy of every entry, one short lock each.
//!
//! A statement's mark costs one uncontended lock and no allocation (the
//! query text is shared), so point lookups pay next to nothing for it.

use crate::settings::SharedSettings;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

/// `pg_stat_activity.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Idle,
    Active,
    IdleInTransaction,
    IdleInTransactionAborted,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Idle => "idle",
            State::Active => "active",
            State::IdleInTransaction => "idle in transaction",
            State::IdleInTransactionAborted => "idle in transaction (aborted)",
        }
    }
}

/// A wait `pg_stat_activity` shows: (`wait_event_type`, `wait_event`).
pub type Wait = (&'static str, &'static str);

/// The wait of a statement held in the admission queue.
pub const ADMISSION_WAIT: Wait = ("Admission", "AnalyticsQueue");

/// One session's row.
#[derive(Debug, Clone)]
pub struct Entry {
    pub pid: i32,
    pub database: String,
    pub user: String,
    pub client_addr: Option<String>,
    pub backend_start: SystemTime,
    pub xact_start: Option<SystemTime>,
    pub query_start: Option<SystemTime>,
    pub state_change: SystemTime,
    pub state: State,
    pub wait: Option<Wait>,
    /// The last statement (the running one while `state` is active).
    pub query: Arc<str>,
    /// Counts the session's statements, so the end of one whose rows are
    /// still streamed does not end a later one.
    pub statement: u64,
}

/// A snapshot of one session's row, with its current application_name.
#[derive(Debug, Clone)]
pub struct Row {
    pub entry: Entry,
    pub application_name: String,
}

struct Registered {
    entry: Arc<Mutex<Entry>>,
    settings: SharedSettings,
}

/// Every session of one engine.
#[derive(Default)]
pub struct Activity {
    sessions: Mutex<BTreeMap<i32, Registered>>,
}

impl Activity {
    /// Registers a new session; it leaves when the returned handle drops.
    pub(crate) fn register(
        self: &Arc<Self>,
        pid: i32,
        database: &str,
        user: &str,
        settings: SharedSettings,
    ) -> SessionActivity {
        let now = SystemTime::now();
        let entry = Arc::new(Mutex::new(Entry {
            pid,
            database: database.to_string(),
            user: user.to_string(),
            client_addr: None,
            backend_start: now,
            xact_start: None,
            query_start: None,
            state_change: now,
            state: State::Idle,
            wait: None,
            query: Arc::from(""),
            statement: 0,
        }));
        self.sessions.lock().insert(
            pid,
            Registered {
                entry: entry.clone(),
                settings,
            },
        );
        SessionActivity {
            registry: self.clone(),
            pid,
            entry,
        }
    }

    /// Every session's row, by pid.
    pub fn rows(&self) -> Vec<Row> {
        let sessions = self.sessions.lock();
        sessions
            .values()
            .map(|r| Row {
                entry: r.entry.lock().clone(),
                application_name: r
                    .settings
                    .read()
                    .get("application_name")
                    .unwrap_or_default(),
            })
            .collect()
    }
}

/// A session's handle on its row.
pub struct SessionActivity {
    registry: Arc<Activity>,
    pid: i32,
    entry: Arc<Mutex<Entry>>,
}

impl Drop for SessionActivity {
    fn drop(&mut self) {
        self.registry.sessions.lock().remove(&self.pid);
    }
}

impl SessionActivity {
    pub fn set_client_addr(&self, addr: Option<String>) {
        self.entry.lock().client_addr = addr;
    }

    /// A statement starts.
    pub fn start_statement(&self, query: &Arc<str>, in_transaction: bool) {
        let now = SystemTime::now();
        let mut e = self.entry.lock();
        if !Arc::ptr_eq(&e.query, query) {
            e.query = query.clone();
        }
        e.query_start = Some(now);
        e.state_change = now;
        e.state = State::Active;
        e.wait = None;
        e.statement += 1;
        if !in_transaction {
            e.xact_start = Some(now);
        }
    }

    /// The statement ended; `state` is what the session is now.
    pub fn end_statement(&self, state: State) {
        end(&mut self.entry.lock(), state);
    }

    /// The running statement ends, as [`Self::end_statement`], when the
    /// returned value drops: for a statement whose rows are still being
    /// produced and sent. (A later statement of the session is not ended
    /// by it.)
    pub fn end_statement_later(&self, state: State) -> StatementEnd {
        StatementEnd {
            entry: self.entry.clone(),
            statement: self.entry.lock().statement,
            state,
        }
    }

    /// A transaction block began (BEGIN) at this statement.
    pub fn begin_transaction(&self) {
        let mut e = self.entry.lock();
        if e.xact_start.is_none() {
            e.xact_start = e.query_start;
        }
    }

    /// The running statement waits (or, with `None`, no longer does).
    pub fn set_wait(&self, wait: Option<Wait>) {
        self.entry.lock().wait = wait;
    }

    /// A handle the admission queue can mark the wait through.
    pub fn waiter(&self) -> WaitMarker {
        WaitMarker(self.entry.clone())
    }
}

fn end(e: &mut Entry, state: State) {
    e.state = state;
    e.wait = None;
    e.state_change = SystemTime::now();
    if state == State::Idle {
        e.xact_start = None;
    }
}

/// Ends a session's statement when dropped (see
/// [`SessionActivity::end_statement_later`]).
pub struct StatementEnd {
    entry: Arc<Mutex<Entry>>,
    statement: u64,
    state: State,
}

impl Drop for StatementEnd {
    fn drop(&mut self) {
        let mut e = self.entry.lock();
        if e.statement == self.statement {
            end(&mut e, self.state);
        }
    }
}

/// Marks a session's statement as waiting, from wherever it waits.
#[derive(Clone)]
pub struct WaitMarker(Arc<Mutex<Entry>>);

impl WaitMarker {
    pub fn set(&self, wait: Option<Wait>) {
        self.0.lock().wait = wait;
    }
}
