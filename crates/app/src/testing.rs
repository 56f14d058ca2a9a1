//! For tests and simulations of this crate and the crates above it: a transport that records
//! pages instead of sending them, and fresh databases.
//!
//! Nothing here is used when serving.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};

use firebreak_domain::Clock;
use firebreak_notify::{Channel, Delivered, Page, SendError};
use jiff::Timestamp;

pub use firebreak_store::testing::{TEST_DATABASE_URL_VAR, fresh_postgres, fresh_postgres_url, fresh_sqlite};

use crate::paging::{Sending, Transport};
use crate::{App, Options};

/// An application started over a new SQLite file in `dir` (so with the ingest journal, as served).
///
/// Fails when the database cannot be made or the application cannot start.
pub async fn start_on_sqlite(dir: &Path, clock: Arc<dyn Clock>, options: Options) -> anyhow::Result<App> {
    App::start(fresh_sqlite(dir).await?, clock, options).await
}

/// An application started over a new PostgreSQL schema, or `None` when
/// `FIREBREAK_TEST_DATABASE_URL` is not set.
///
/// Fails when the database cannot be made or the application cannot start.
pub async fn start_on_postgres(
    test: &str,
    clock: Arc<dyn Clock>,
    options: Options,
) -> anyhow::Result<Option<App>> {
    match fresh_postgres(test).await? {
        Some(store) => Ok(Some(App::start(store, clock, options).await?)),
        None => Ok(None),
    }
}

/// A deterministic wobble in [-1, 1] for sample `i`: noise for synthetic metric series that is the
/// same in every run.
pub fn wobble(i: u64) -> f64 {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    (x % 2001) as f64 / 1000.0 - 1.0
}

/// One page as a [`Recording`] transport saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub at: Timestamp,
    pub channel: Channel,
    pub address: String,
    pub incident_id: i64,
    pub recipient: String,
    pub level: u32,
    pub wakes_management: bool,
    pub title: String,
    /// Which page this is (it names the incident, generation, pass, level and target), and which
    /// notification of it.
    pub delivery_id: String,
    /// The page's signed link that acknowledges the incident.
    pub acknowledge_url: String,
}

/// A transport that records every page it is given and delivers it, or gives the outcomes it was
/// scripted to give first.
#[derive(Clone, Default)]
pub struct Recording {
    sent: Arc<Mutex<Vec<Sent>>>,
    script: Arc<Mutex<VecDeque<Result<(), SendError>>>>,
}

impl Recording {
    /// Every page delivered so far, in order.
    pub fn sent(&self) -> Vec<Sent> {
        self.sent.lock().expect("the recording lock is never poisoned").clone()
    }

    /// Every page delivered since the last call.
    pub fn take(&self) -> Vec<Sent> {
        std::mem::take(&mut *self.sent.lock().expect("the recording lock is never poisoned"))
    }

    /// Makes the next attempts give `outcomes`, in order, before delivering normally again.
    pub fn script(&self, outcomes: impl IntoIterator<Item = Result<(), SendError>>) {
        self.script.lock().expect("the recording lock is never poisoned").extend(outcomes);
    }
}

impl Transport for Recording {
    fn send<'a>(
        &'a self,
        channel: Channel,
        address: &'a str,
        _secret: Option<&'a str>,
        page: &'a Page,
        now: Timestamp,
    ) -> Sending<'a> {
        let outcome =
            self.script.lock().expect("the recording lock is never poisoned").pop_front().unwrap_or(Ok(()));
        if outcome.is_ok() {
            self.sent.lock().expect("the recording lock is never poisoned").push(Sent {
                at: now,
                channel,
                address: address.to_owned(),
                incident_id: page.incident_id,
                recipient: page.recipient.clone(),
                level: page.level,
                wakes_management: page.wakes_management,
                title: page.title.clone(),
                delivery_id: page.delivery_id.clone(),
                acknowledge_url: page.acknowledge_url.clone(),
            });
        }
        Box::pin(std::future::ready(outcome.map(|()| Delivered { detail: "recorded".into() })))
    }
}
