//! Severity guides: a team's own guide, kept as the API's JSON document (checked by the
//! application before it is stored).

use firebreak_domain::Id;
use jiff::Timestamp;

use crate::rows::millis;
use crate::{Result, Store, Tx};

impl Store {
    /// Team `team_id`'s own guide document, if it has one.
    pub async fn severity_guide(&self, team_id: Id) -> Result<Option<String>> {
        let document: Option<String> = with_conn!(self.reader().await?.conn(), c => {
            sqlx::query_scalar("SELECT document FROM severity_guides WHERE team_id = $1")
                .bind(team_id)
                .fetch_optional(&mut *c)
                .await?
        });
        Ok(document)
    }
}

impl Tx {
    /// Makes `document` team `team_id`'s guide, in place of any it had.
    pub async fn put_severity_guide(
        &mut self,
        team_id: Id,
        document: &str,
        actor: &str,
        now: Timestamp,
    ) -> Result<()> {
        self.conn().team(team_id).await?;
        with_conn!(self.conn(), c => {
            sqlx::query(
                "INSERT INTO severity_guides (team_id, document, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (team_id) DO UPDATE SET document = excluded.document, \
                 updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            )
            .bind(team_id)
            .bind(document)
            .bind(millis(now))
            .bind(actor)
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }

    /// Forgets team `team_id`'s own guide: it uses the built-in one again. Says whether it had one.
    pub async fn delete_severity_guide(&mut self, team_id: Id) -> Result<bool> {
        let deleted = with_conn!(self.conn(), c => {
            sqlx::query("DELETE FROM severity_guides WHERE team_id = $1").bind(team_id).execute(&mut *c).await?.rows_affected()
        });
        Ok(deleted > 0)
    }
}
