//! `firebreak heartbeat …`: heartbeat checks, and the URLs their jobs ping.

use clap::Subcommand;
use firebreak_api as api;

use super::{Client, ClientArgs, minutes, table};

#[derive(Subcommand)]
pub(crate) enum HeartbeatCommand {
    /// Create a check; its ping URL is printed for the job to call when it runs.
    Create {
        /// The service (id or name) whose incidents the check's alert opens.
        #[arg(long)]
        service: String,
        #[arg(long)]
        name: String,
        /// The last part of the slug URL [default: made from the name].
        #[arg(long)]
        slug: Option<String>,
        /// Expect a ping this often, such as 5m, 1h or 1d.
        #[arg(long, conflicts_with = "cron", required_unless_present = "cron")]
        every: Option<String>,
        /// Expect a ping at every run of this cron expression, such as "0 3 * * *".
        #[arg(long)]
        cron: Option<String>,
        /// The IANA time zone the cron expression is read in [default: UTC].
        #[arg(long, requires = "cron")]
        time_zone: Option<String>,
        /// How late a ping may be before the check is down, such as 10m.
        #[arg(long, default_value = "1h")]
        grace: String,
        /// Failures in a row that make the check down.
        #[arg(long, default_value_t = 1)]
        failures_to_alert: u32,
        /// The severity of its alert: SEV1 to SEV4 [default: SEV3].
        #[arg(long)]
        severity: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List checks and their states.
    List {
        /// Only this service's checks (id or name).
        #[arg(long)]
        service: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show a check with its last pings.
    Show {
        id: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Pause a check: it expects nothing until resumed or pinged.
    Pause {
        id: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Resume a paused check.
    Resume {
        id: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Delete a check and its pings.
    Delete {
        id: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
}

pub(crate) async fn heartbeat(command: HeartbeatCommand) -> anyhow::Result<()> {
    match command {
        HeartbeatCommand::Create {
            service,
            name,
            slug,
            every,
            cron,
            time_zone,
            grace,
            failures_to_alert,
            severity,
            client,
        } => {
            let severity = match severity {
                Some(text) => {
                    Some(serde_json::from_value(serde_json::Value::String(text.to_ascii_uppercase()))?)
                }
                None => None,
            };
            let body = api::CreateHeartbeat {
                name,
                service: api::Ref::parse(&service),
                slug,
                period_seconds: every.as_deref().map(minutes).transpose()?.map(|m| m * 60),
                cron,
                time_zone,
                grace_seconds: minutes(&grace)? * 60,
                failures_to_alert: Some(failures_to_alert),
                severity,
            };
            let client = Client::new(client)?;
            let check: api::Heartbeat = client.post("/api/v1/heartbeats", &body).await?;
            client.print(&check, show)
        }
        HeartbeatCommand::List { service, client } => {
            let client = Client::new(client)?;
            let query: Vec<(&str, String)> = service.map(|s| ("service", s)).into_iter().collect();
            let checks: Vec<api::Heartbeat> = client.get("/api/v1/heartbeats", &query).await?;
            let names = client.service_names().await?;
            client.print(&checks, |checks| {
                if checks.is_empty() {
                    return "no heartbeat checks\n".to_owned();
                }
                let rows = checks
                    .iter()
                    .map(|c| {
                        vec![
                            c.id.to_string(),
                            c.name.clone(),
                            names.of(c.service_id),
                            c.status.clone(),
                            schedule(c),
                            c.last_ping_at.map_or_else(
                                || "never".to_owned(),
                                |at| at.strftime("%Y-%m-%d %H:%M").to_string(),
                            ),
                        ]
                    })
                    .collect();
                table(&["ID", "NAME", "SERVICE", "STATUS", "EXPECTS", "LAST PING (UTC)"], rows)
            })
        }
        HeartbeatCommand::Show { id, client } => {
            let client = Client::new(client)?;
            let check: api::Heartbeat = client.get(&format!("/api/v1/heartbeats/{id}"), &[]).await?;
            client.print(&check, show)
        }
        HeartbeatCommand::Pause { id, client } => {
            let client = Client::new(client)?;
            let check: api::Heartbeat = client.post(&format!("/api/v1/heartbeats/{id}/pause"), &()).await?;
            client.print(&check, show)
        }
        HeartbeatCommand::Resume { id, client } => {
            let client = Client::new(client)?;
            let check: api::Heartbeat = client.post(&format!("/api/v1/heartbeats/{id}/resume"), &()).await?;
            client.print(&check, show)
        }
        HeartbeatCommand::Delete { id, client } => {
            let client = Client::new(client)?;
            client
                .delete_and_say(&format!("/api/v1/heartbeats/{id}"), &format!("deleted heartbeat check {id}"))
                .await
        }
    }
}

/// What a check expects, in a few words.
fn schedule(check: &api::Heartbeat) -> String {
    let grace = check.grace_seconds / 60;
    match (&check.cron, check.period_seconds) {
        (Some(cron), _) => format!("cron \"{cron}\" {} +{grace}m", check.time_zone),
        (None, Some(seconds)) => format!("every {}m +{grace}m", seconds / 60),
        (None, None) => String::new(),
    }
}

fn show(check: &api::Heartbeat) -> String {
    let at = |at: Option<jiff::Timestamp>| {
        at.map_or_else(|| "-".to_owned(), |at| at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
    };
    let mut out = format!(
        "heartbeat {} {:?}: {}\n  expects   {}\n  ping URL  {}\n  slug URL  {}\n  last ping {}\n  next due  {}\n",
        check.id,
        check.name,
        check.status,
        schedule(check),
        check.ping_url,
        check.slug_url,
        at(check.last_ping_at),
        at(check.next_expected_at),
    );
    if let Some(pings) = &check.pings {
        let rows = pings
            .iter()
            .map(|p| {
                vec![
                    p.at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                    p.kind.clone(),
                    p.exit_status.map_or_else(String::new, |s| s.to_string()),
                    p.duration_ms.map_or_else(String::new, |ms| format!("{:.1}s", ms as f64 / 1000.0)),
                    p.address.clone(),
                    p.body.chars().take(40).filter(|c| !c.is_control()).collect(),
                ]
            })
            .collect();
        out.push('\n');
        out.push_str(&table(&["AT (UTC)", "KIND", "EXIT", "RAN", "FROM", "BODY"], rows));
    }
    out
}
