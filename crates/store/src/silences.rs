//! Silences: matchers and a time window during which matching alerts open no incident.
//!
//! Matchers are stored as a JSON list of `{name, op, value}` with Alertmanager's operators.

use firebreak_domain::{Id, MatchOp, Matcher, Silence};
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::rows::{self, millis};
use crate::{Conn, Result, Store, StoreError, Tx};

/// A silence to create.
#[derive(Clone, Debug)]
pub struct NewSilence {
    pub service_id: Option<Id>,
    pub matchers: Vec<Matcher>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub comment: String,
}

#[derive(sqlx::FromRow)]
pub(crate) struct SilenceRow {
    id: i64,
    service_id: Option<i64>,
    matchers: String,
    starts_at: i64,
    ends_at: i64,
    comment: String,
    created_by: String,
    created_at: i64,
}

pub(crate) const SILENCE_COLUMNS: &str =
    "id, service_id, matchers, starts_at, ends_at, comment, created_by, created_at";

impl Store {
    /// Fails with [`StoreError::NotFound`] when there is no silence `id`.
    pub async fn silence(&self, id: Id) -> Result<Silence> {
        self.primary().await?.conn().silence(id).await
    }

    /// Silences that have not ended at `now`, soonest ending first.
    pub async fn silences(&self, now: Timestamp) -> Result<Vec<Silence>> {
        let rows: Vec<SilenceRow> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_as(&format!("SELECT {SILENCE_COLUMNS} FROM silences WHERE ends_at > $1 ORDER BY ends_at, id"))
                .bind(millis(now))
                .fetch_all(&mut *c)
                .await?
        });
        rows.into_iter().map(silence_from_row).collect()
    }
}

impl Tx {
    /// Fails with [`StoreError::NotFound`] when the silence names a service that does not exist.
    pub async fn create_silence(
        &mut self,
        silence: &NewSilence,
        actor: &str,
        now: Timestamp,
    ) -> Result<Silence> {
        let matchers = matchers_to_json(&silence.matchers);
        if let Some(service_id) = silence.service_id {
            self.conn().service(service_id).await?;
        }
        let id: i64 = with_conn!(self.conn(), c => {
            sqlx::query_scalar(
                "INSERT INTO silences (service_id, matchers, starts_at, ends_at, comment, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(silence.service_id)
            .bind(&matchers)
            .bind(millis(silence.starts_at))
            .bind(millis(silence.ends_at))
            .bind(&silence.comment)
            .bind(actor)
            .bind(millis(now))
            .fetch_one(&mut *c)
            .await?
        });
        self.conn().silence(id).await
    }

    /// Ends silence `id` at `now` (it stays listed in history by its end time).
    ///
    /// Fails with [`StoreError::NotFound`] when there is no silence `id` and
    /// [`StoreError::Conflict`] when it has ended already.
    pub async fn expire_silence(&mut self, id: Id, now: Timestamp) -> Result<Silence> {
        let silence = self.conn().silence(id).await?;
        if silence.ends_at <= now {
            return Err(StoreError::Conflict(format!("silence {id} has already ended")));
        }
        with_conn!(self.conn(), c => {
            sqlx::query("UPDATE silences SET ends_at = $1 WHERE id = $2")
                .bind(millis(now.max(silence.starts_at)))
                .bind(id)
                .execute(&mut *c)
                .await?;
        });
        self.conn().silence(id).await
    }
}

impl Conn<'_> {
    async fn silence(self, id: Id) -> Result<Silence> {
        let row: Option<SilenceRow> = with_conn!(self, c => {
            sqlx::query_as(&format!("SELECT {SILENCE_COLUMNS} FROM silences WHERE id = $1"))
                .bind(id)
                .fetch_optional(&mut *c)
                .await?
        });
        silence_from_row(row.ok_or_else(|| StoreError::NotFound(format!("there is no silence {id}")))?)
    }
}

fn matchers_to_json(matchers: &[Matcher]) -> String {
    let items: Vec<Value> = matchers
        .iter()
        .map(|m| {
            let op = match m.op {
                MatchOp::Equal => "=",
                MatchOp::NotEqual => "!=",
                MatchOp::Regex => "=~",
                MatchOp::NotRegex => "!~",
            };
            json!({"name": m.name, "op": op, "value": m.value})
        })
        .collect();
    Value::Array(items).to_string()
}

pub(crate) fn silence_from_row(row: SilenceRow) -> Result<Silence> {
    let what = format!("silence {}", row.id);
    let items: Vec<Value> = serde_json::from_str(&row.matchers).map_err(|err| rows::corrupt(&what, err))?;
    let matchers = items
        .iter()
        .map(|item| {
            let op = match item["op"].as_str() {
                Some("=") => MatchOp::Equal,
                Some("!=") => MatchOp::NotEqual,
                Some("=~") => MatchOp::Regex,
                _ => MatchOp::NotRegex,
            };
            Matcher::new(
                item["name"].as_str().unwrap_or_default(),
                op,
                item["value"].as_str().unwrap_or_default(),
            )
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|err| rows::corrupt(&what, err))?;
    Ok(Silence {
        id: row.id,
        service_id: row.service_id,
        matchers,
        starts_at: rows::from_millis(row.starts_at),
        ends_at: rows::from_millis(row.ends_at),
        comment: row.comment,
        created_by: row.created_by,
        created_at: rows::from_millis(row.created_at),
    })
}
