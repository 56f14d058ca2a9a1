//! Client commands: HTTP calls to a running server, printed as tables or, with `--json`, as the
//! API's JSON.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod guides;
mod heartbeats;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use firebreak_api as api;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub(crate) use guides::{GuideCommand, guide};
pub(crate) use heartbeats::{HeartbeatCommand, heartbeat};

/// Longest time a client command waits for the server.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Args, Clone)]
pub(crate) struct ClientArgs {
    /// URL of the firebreak server.
    #[arg(long, env = "FIREBREAK_URL", default_value = "http://127.0.0.1:8080", global = true)]
    url: String,
    /// API token (create one with `firebreak token create`).
    #[arg(long, env = "FIREBREAK_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
    /// Print the API's JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
pub(crate) enum IncidentCommand {
    /// List incidents, newest first.
    List {
        /// Statuses, comma-separated (triggered, acknowledged, mitigated, resolved, open) [default: open].
        #[arg(long, default_value = "open")]
        status: String,
        /// Only this service (id or name).
        #[arg(long)]
        service: Option<String>,
        /// Only services of this team (id or name).
        #[arg(long)]
        team: Option<String>,
        /// Severities, comma-separated, such as SEV1,SEV2.
        #[arg(long)]
        severity: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show an incident with its timeline.
    Show {
        id: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Declare an incident.
    Declare {
        /// The affected service (id or name).
        #[arg(long)]
        service: String,
        #[arg(long)]
        title: String,
        /// SEV1 (most severe) to SEV4.
        #[arg(long, default_value = "SEV3")]
        severity: String,
        /// signal, exception, silent, kingpin or unknown.
        #[arg(long)]
        kind: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Acknowledge an incident.
    Ack {
        id: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Assess how severe an incident is with its team's severity guide: each question is asked in
    /// a terminal, or given with --answer; sets the severity and wakes whom the guide says.
    Assess {
        id: i64,
        /// QUESTION=ANSWER, such as customers_affected=some; repeat for each question.
        #[arg(long = "answer")]
        answers: Vec<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Page the next escalation level now instead of waiting for the current level's timeout.
    Escalate {
        id: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Keep an acknowledged incident acknowledged for a while; then it is triggered again and
    /// pages from the first level, unless resolved by then.
    Snooze {
        id: i64,
        /// How long, in minutes (1 to 1440).
        #[arg(long, default_value_t = 60)]
        minutes: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Make someone the assignee and, while the incident is triggered, page them at once.
    Reassign {
        id: i64,
        /// The user (id or name).
        user: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Mark an incident mitigated.
    Mitigate {
        id: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Resolve an incident.
    Resolve {
        id: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Add a note to an incident's timeline.
    Note {
        id: i64,
        text: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Subcommand)]
pub(crate) enum ServiceCommand {
    /// List services.
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show a service (id or name).
    Show {
        service: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Choose who a service's incidents page: an escalation policy (id or name), or `none`.
    SetPolicy {
        /// The service (id or name).
        service: String,
        /// The escalation policy (id or name), or `none` to remove it.
        policy: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Create a service and print its integration key (the only time it is shown).
    Create {
        #[arg(long)]
        name: String,
        /// The owner team (id or name).
        #[arg(long)]
        team: String,
        /// What the service does, in a sentence or two.
        #[arg(long, default_value = "")]
        description: String,
        #[command(flatten)]
        fields: ServiceFields,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Change a service; what is not given stays as it is.
    Edit {
        /// The service (id or name).
        service: String,
        #[arg(long)]
        name: Option<String>,
        /// The owner team (id or name).
        #[arg(long)]
        team: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        fields: ServiceFields,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Delete a service: refused, saying why, while others depend on it or its incidents are open.
    /// Its incidents stay, for history.
    Delete {
        /// The service (id or name).
        service: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Give a service a new integration key and print it (the only time it is shown); the old key
    /// stops working.
    RotateKey {
        /// The service (id or name).
        service: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Subcommand)]
pub(crate) enum SilenceCommand {
    /// Silence alerts matching every --matcher for a while: they are kept but open no incident.
    Create {
        /// name=value, name!=value, name=~regex or name!~regex; repeat for several.
        #[arg(long = "matcher", required = true)]
        matchers: Vec<String>,
        /// Only this service (id or name) [default: every service].
        #[arg(long)]
        service: Option<String>,
        /// How long, such as 30m, 2h or 1d.
        #[arg(long, default_value = "1h")]
        duration: String,
        /// Why, for whoever wonders later.
        #[arg(long, default_value = "")]
        comment: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List silences that have not ended.
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// End a silence now.
    Expire {
        id: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
}

pub(crate) async fn silence(command: SilenceCommand) -> anyhow::Result<()> {
    match command {
        SilenceCommand::Create { matchers, service, duration, comment, client } => {
            let body = api::CreateSilence {
                service: service.as_deref().map(api::Ref::parse),
                matchers,
                starts_at: None,
                ends_at: None,
                duration_minutes: Some(minutes(&duration)?),
                comment,
            };
            let client = Client::new(client)?;
            let silence: api::Silence = client.post("/api/v1/silences", &body).await?;
            print_silences(&client, &silence, std::slice::from_ref(&silence)).await
        }
        SilenceCommand::List { client } => {
            let client = Client::new(client)?;
            let silences: Vec<api::Silence> = client.get("/api/v1/silences", &[]).await?;
            print_silences(&client, &silences, &silences).await
        }
        SilenceCommand::Expire { id, client } => {
            let client = Client::new(client)?;
            let silence: api::Silence = client.delete(&format!("/api/v1/silences/{id}")).await?;
            print_silences(&client, &silence, std::slice::from_ref(&silence)).await
        }
    }
}

/// Minutes in a duration such as `90m`, `2h` or `1d`.
fn minutes(text: &str) -> anyhow::Result<i64> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let number: i64 = number
        .parse()
        .map_err(|_| anyhow::anyhow!("invalid duration {text:?}; expected such as 30m, 2h or 1d"))?;
    let factor = match unit {
        "m" | "min" => 1,
        "h" => 60,
        "d" => 1440,
        "w" => 10080,
        _ => bail!("invalid duration {text:?}; expected such as 30m, 2h or 1d"),
    };
    Ok(number.saturating_mul(factor))
}

/// Prints `value` as JSON, or `silences` (what it holds) as a table.
async fn print_silences<T: Serialize>(
    client: &Client,
    value: &T,
    silences: &[api::Silence],
) -> anyhow::Result<()> {
    let names = client.service_names().await?;
    client.print(value, |_| silence_table(silences, &names))
}

fn silence_table(silences: &[api::Silence], names: &ServiceNames) -> String {
    if silences.is_empty() {
        return "no silences\n".to_owned();
    }
    let rows = silences
        .iter()
        .map(|s| {
            vec![
                s.id.to_string(),
                s.service_id.map_or_else(|| "all".to_owned(), |id| names.of(id)),
                s.ends_at.strftime("%Y-%m-%d %H:%M").to_string(),
                s.created_by.clone(),
                s.matchers.join(" "),
            ]
        })
        .collect();
    table(&["ID", "SERVICE", "ENDS (UTC)", "BY", "MATCHERS"], rows)
}

#[derive(Subcommand)]
pub(crate) enum OutcomeCommand {
    /// Create an expected-outcome rule: an alert is raised when the service's events do not show
    /// what it says, and resolved once they do again.
    Create {
        /// The service (id or name) whose events the rule reads.
        #[arg(long)]
        service: String,
        #[arg(long)]
        name: String,
        /// The rule's sentence, such as "at least 10 payment_captured per 1h between 08:00 and
        /// 20:00 on weekdays in Europe/Berlin", "payout_settled >= 95% of payout_requested within
        /// 30m over 1h" or "no invoice_sent for 26h".
        #[arg(long)]
        rule: String,
        /// The severity of its alert, SEV1 (most severe) to SEV4.
        #[arg(long, default_value = "SEV3")]
        severity: String,
        /// Read an event from Prometheus instead of posted events, as EVENT=PROMQL giving its
        /// count over `$window`, such as
        /// 'payment_captured=sum(increase(payments_captured_total[$window]))'; repeatable.
        #[arg(long = "query", value_name = "EVENT=PROMQL")]
        queries: Vec<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List expected-outcome rules with what they make of the events now.
    List {
        /// Only this service's (id or name).
        #[arg(long)]
        service: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show a rule with its verdict and what arrived of its events lately.
    Show {
        id: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Delete a rule; its alert, if raised, is resolved.
    Delete {
        id: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
}

pub(crate) async fn outcome(command: OutcomeCommand) -> anyhow::Result<()> {
    match command {
        OutcomeCommand::Create { service, name, rule, severity, queries, client } => {
            let queries = queries
                .iter()
                .map(|query| {
                    let (event, promql) = query
                        .split_once('=')
                        .ok_or_else(|| anyhow::anyhow!("--query {query:?}: give it as EVENT=PROMQL"))?;
                    Ok((event.trim().to_owned(), promql.trim().to_owned()))
                })
                .collect::<anyhow::Result<_>>()?;
            let body = api::CreateOutcomeRule {
                name,
                service: api::Ref::parse(&service),
                rule,
                severity: Some(severity_of(&severity)?),
                queries,
            };
            let client = Client::new(client)?;
            let rule: api::OutcomeRule = client.post("/api/v1/outcome-rules", &body).await?;
            let names = client.service_names().await?;
            client.print(&rule, |rule| outcome_detail(rule, &names))
        }
        OutcomeCommand::List { service, client } => {
            let client = Client::new(client)?;
            let query: Vec<(&str, String)> =
                service.map(|service| ("service", service)).into_iter().collect();
            let rules: Vec<api::OutcomeRule> = client.get("/api/v1/outcome-rules", &query).await?;
            let names = client.service_names().await?;
            client.print(&rules, |rules| outcome_table(rules, &names))
        }
        OutcomeCommand::Show { id, client } => {
            let client = Client::new(client)?;
            let rule: api::OutcomeRule = client.get(&format!("/api/v1/outcome-rules/{id}"), &[]).await?;
            let names = client.service_names().await?;
            client.print(&rule, |rule| outcome_detail(rule, &names))
        }
        OutcomeCommand::Delete { id, client } => {
            Client::new(client)?
                .delete_and_say(&format!("/api/v1/outcome-rules/{id}"), &format!("outcome rule {id} deleted"))
                .await
        }
    }
}

/// A severity as typed: SEV1 to SEV4, in any case.
fn severity_of(text: &str) -> anyhow::Result<api::Severity> {
    serde_json::from_value(serde_json::Value::String(text.to_ascii_uppercase()))
        .map_err(|_| anyhow::anyhow!("invalid severity {text:?}; expected SEV1, SEV2, SEV3 or SEV4"))
}

fn outcome_table(rules: &[api::OutcomeRule], names: &ServiceNames) -> String {
    if rules.is_empty() {
        return "no outcome rules\n".to_owned();
    }
    let rows = rules
        .iter()
        .map(|rule| {
            vec![
                rule.id.to_string(),
                names.of(rule.service_id),
                rule.name.clone(),
                outcome_status(rule),
                rule.rule.clone(),
            ]
        })
        .collect();
    table(&["ID", "SERVICE", "NAME", "STATUS", "RULE"], rows)
}

/// `met`, `breached` or `quiet`, and whether its alert is raised.
fn outcome_status(rule: &api::OutcomeRule) -> String {
    if rule.alerting { format!("{} (alerting)", rule.status) } else { rule.status.clone() }
}

fn outcome_detail(rule: &api::OutcomeRule, names: &ServiceNames) -> String {
    let mut out = format!(
        "outcome rule {} {:?} of {}, {}\n{}\nstatus:   {}\n",
        rule.id,
        rule.name,
        names.of(rule.service_id),
        rule.severity,
        rule.rule,
        outcome_status(rule)
    );
    for (label, text) in [("expected", &rule.expected), ("seen", &rule.seen), ("why", &rule.why)] {
        if let Some(text) = text {
            out.push_str(&format!("{:<9} {text}\n", format!("{label}:")));
        }
    }
    if let Some(counts) = &rule.counts {
        let rows = counts
            .iter()
            .map(|count| {
                vec![
                    count.event.clone(),
                    count.last_hour.to_string(),
                    count.last_day.to_string(),
                    count.last_at.map_or_else(
                        || "never".to_owned(),
                        |at| at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                    ),
                ]
            })
            .collect();
        out.push('\n');
        out.push_str(&table(&["EVENT", "LAST HOUR", "LAST DAY", "LAST (UTC)"], rows));
    }
    out
}

pub(crate) async fn incident(command: IncidentCommand) -> anyhow::Result<()> {
    match command {
        IncidentCommand::List { status, service, team, severity, limit, client } => {
            let mut query = vec![("status", status), ("limit", limit.to_string())];
            query.extend(service.map(|s| ("service", s)));
            query.extend(team.map(|t| ("team", t)));
            query.extend(severity.map(|s| ("severity", s)));
            let client = Client::new(client)?;
            let page: api::IncidentPage = client.get("/api/v1/incidents", &query).await?;
            let names = client.service_names().await?;
            client.print(&page, |page| incident_table(&page.incidents, &names))
        }
        IncidentCommand::Show { id, client } => {
            let client = Client::new(client)?;
            let detail: api::IncidentDetail = client.get(&format!("/api/v1/incidents/{id}"), &[]).await?;
            print_incident(&client, &detail).await
        }
        IncidentCommand::Declare { service, title, severity, kind, client } => {
            let severity: api::Severity = serde_json::from_value(serde_json::Value::String(severity.clone()))
                .map_err(|_| {
                    anyhow::anyhow!("invalid severity {severity:?}; expected SEV1, SEV2, SEV3 or SEV4")
                })?;
            let kind: Option<api::Kind> = kind
                .map(|kind| {
                    serde_json::from_value(serde_json::Value::String(kind.clone())).map_err(|_| {
                        anyhow::anyhow!(
                            "invalid kind {kind:?}; expected signal, exception, silent, kingpin or unknown"
                        )
                    })
                })
                .transpose()?;
            let body = api::DeclareIncident {
                title,
                service: api::Ref::parse(&service),
                severity: Some(severity),
                kind,
            };
            let client = Client::new(client)?;
            let detail: api::IncidentDetail = client.post("/api/v1/incidents", &body).await?;
            print_incident(&client, &detail).await
        }
        IncidentCommand::Ack { id, client } => act(client, id, "acknowledge").await,
        IncidentCommand::Escalate { id, client } => act(client, id, "escalate").await,
        IncidentCommand::Assess { id, answers, client } => guides::assess(client, id, answers).await,
        IncidentCommand::Snooze { id, minutes, client } => {
            let client = Client::new(client)?;
            let detail: api::IncidentDetail =
                client.post(&format!("/api/v1/incidents/{id}/snooze"), &api::Snooze { minutes }).await?;
            print_incident(&client, &detail).await
        }
        IncidentCommand::Reassign { id, user, client } => {
            let client = Client::new(client)?;
            let body = api::Reassign { user: api::Ref::parse(&user) };
            let detail: api::IncidentDetail =
                client.post(&format!("/api/v1/incidents/{id}/reassign"), &body).await?;
            print_incident(&client, &detail).await
        }
        IncidentCommand::Mitigate { id, client } => act(client, id, "mitigate").await,
        IncidentCommand::Resolve { id, client } => act(client, id, "resolve").await,
        IncidentCommand::Note { id, text, client } => {
            let client = Client::new(client)?;
            let detail: api::IncidentDetail =
                client.post(&format!("/api/v1/incidents/{id}/notes"), &api::AddNote { text }).await?;
            print_incident(&client, &detail).await
        }
    }
}

async fn act(client: ClientArgs, id: i64, action: &str) -> anyhow::Result<()> {
    let client = Client::new(client)?;
    let detail: api::IncidentDetail =
        client.post(&format!("/api/v1/incidents/{id}/{action}"), &serde_json::json!({})).await?;
    print_incident(&client, &detail).await
}

pub(crate) async fn service(command: ServiceCommand) -> anyhow::Result<()> {
    match command {
        ServiceCommand::List { client } => {
            let client = Client::new(client)?;
            let services: Vec<api::Service> = client.get("/api/v1/services", &[]).await?;
            let teams: Vec<api::Team> = client.get("/api/v1/teams", &[]).await?;
            client.print(&services, |services| {
                let rows = services
                    .iter()
                    .map(|s| {
                        vec![
                            s.id.to_string(),
                            s.name.clone(),
                            team_name(&teams, s.team_id),
                            s.description.clone(),
                        ]
                    })
                    .collect();
                table(&["ID", "NAME", "OWNER", "DESCRIPTION"], rows)
            })
        }
        ServiceCommand::SetPolicy { service, policy, client } => set_policy(service, policy, client).await,
        ServiceCommand::Create { name, team, description, fields, client } => {
            let client = Client::new(client)?;
            let body = api::CreateService {
                name,
                team: api::Ref::parse(&team),
                description,
                documentation: String::new(),
                runbook: fields.runbook()?.unwrap_or_default(),
                links: fields.links()?.unwrap_or_default(),
                dependencies: fields.dependencies().unwrap_or_default(),
            };
            let created: api::CreatedService = client.post("/api/v1/services", &body).await?;
            client.print(&created, |c| {
                format!(
                    "service {} ({}) created\nintegration key: {}\nIt is not shown again: `firebreak service rotate-key` makes a new one.\n",
                    c.service.name, c.service.id, c.integration_key
                )
            })
        }
        ServiceCommand::Edit { service, name, team, description, fields, client } => {
            let client = Client::new(client)?;
            let body = api::UpdateService {
                name,
                team: team.as_deref().map(api::Ref::parse),
                description,
                runbook: fields.runbook()?,
                links: fields.links()?,
                dependencies: fields.dependencies(),
                ..api::UpdateService::default()
            };
            let updated: api::Service =
                client.patch(&format!("/api/v1/services/{}", path_segment(&service)), &body).await?;
            client.print(&updated, |s| format!("service {} ({}) changed\n", s.name, s.id))
        }
        ServiceCommand::Delete { service, client } => {
            let path = format!("/api/v1/services/{}", path_segment(&service));
            Client::new(client)?.delete_and_say(&path, &format!("service {service} deleted")).await
        }
        ServiceCommand::RotateKey { service, client } => {
            let client = Client::new(client)?;
            let path = format!("/api/v1/services/{}/integration-key", path_segment(&service));
            let rotated: api::RotatedKey = client.post(&path, &serde_json::json!({})).await?;
            client.print(&rotated, |r| format!("{}\n", r.integration_key))
        }
        ServiceCommand::Show { service, client } => {
            let client = Client::new(client)?;
            let service: api::Service =
                client.get(&format!("/api/v1/services/{}", path_segment(&service)), &[]).await?;
            let teams: Vec<api::Team> = client.get("/api/v1/teams", &[]).await?;
            let names = client.service_names().await?;
            client.print(&service, |s| {
                let mut out = format!(
                    "{name} (service {id})\nowner:        {team}\ndescription:  {description}\ndepends on:   {deps}\n",
                    name = s.name,
                    id = s.id,
                    team = team_name(&teams, s.team_id),
                    description = s.description,
                    deps = if s.dependencies.is_empty() {
                        "-".to_owned()
                    } else {
                        s.dependencies.iter().map(|id| names.of(*id)).collect::<Vec<_>>().join(", ")
                    },
                );
                for link in &s.links {
                    out.push_str(&format!("link:         {} <{}>\n", link.title, link.url));
                }
                if !s.runbook.is_empty() {
                    out.push_str(&format!("\nRunbook\n-------\n{}\n", s.runbook));
                }
                out
            })
        }
    }
}

/// The fields of a service that `service create` and `service edit` both take.
#[derive(Args)]
pub(crate) struct ServiceFields {
    /// Services this one depends on (ids or names, comma-separated); replaces the list.
    #[arg(long, value_delimiter = ',')]
    depends_on: Option<Vec<String>>,
    /// A Markdown file holding the runbook (`-` for standard input).
    #[arg(long, value_name = "FILE")]
    runbook_file: Option<PathBuf>,
    /// A link, as TITLE=URL; repeat for several; replaces the list.
    #[arg(long = "link", value_name = "TITLE=URL")]
    links: Vec<String>,
}

impl ServiceFields {
    fn dependencies(&self) -> Option<Vec<api::Ref>> {
        self.depends_on.as_ref().map(|refs| refs.iter().map(|r| api::Ref::parse(r.trim())).collect())
    }

    fn runbook(&self) -> anyhow::Result<Option<String>> {
        self.runbook_file.as_ref().map(|path| read_text(path, "runbook")).transpose()
    }

    fn links(&self) -> anyhow::Result<Option<Vec<api::Link>>> {
        if self.links.is_empty() {
            return Ok(None);
        }
        self.links
            .iter()
            .map(|link| match link.split_once('=') {
                Some((title, url)) => {
                    Ok(api::Link { title: title.trim().to_owned(), url: url.trim().to_owned() })
                }
                None => bail!("--link {link:?} is not TITLE=URL"),
            })
            .collect::<anyhow::Result<Vec<_>>>()
            .map(Some)
    }
}

#[derive(Subcommand)]
pub(crate) enum TeamCommand {
    /// List teams.
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Create a team.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Change a team's name or description.
    Edit {
        /// The team (id or name).
        team: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Delete a team: refused, saying why, while services belong to it or policies page it.
    Delete {
        /// The team (id or name).
        team: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Manage who belongs to a team; an escalation level that targets the team pages them all.
    #[command(subcommand)]
    Member(MemberCommand),
}

#[derive(Subcommand)]
pub(crate) enum MemberCommand {
    /// Add a user to a team, or change a member's role.
    Add {
        /// The team (id or name).
        team: String,
        /// The user (id or name).
        user: String,
        /// owner, responder, viewer or stakeholder.
        #[arg(long, default_value = "responder", value_parser = ["owner", "responder", "viewer", "stakeholder"])]
        role: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List a team's members.
    List {
        /// The team (id or name).
        team: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Remove a user from a team.
    Remove {
        /// The team (id or name).
        team: String,
        /// The user (id or name).
        user: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Subcommand)]
pub(crate) enum UserCommand {
    /// List users.
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Create a user: someone who can be on call and be paged.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        /// IANA time zone, such as Europe/Lisbon.
        #[arg(long, default_value = "UTC")]
        time_zone: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Change a user's name, email or time zone.
    Edit {
        /// The user (id or name).
        user: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// IANA time zone, such as Europe/Lisbon.
        #[arg(long)]
        time_zone: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Delete a user: refused, saying why, while schedules or policies include them. Incidents
    /// keep their name.
    Delete {
        /// The user (id or name).
        user: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Set a user's password, read from standard input (one line), directly on the database
    /// (the server may be running or not); their sessions end.
    SetPassword {
        /// The user (id or name).
        user: String,
        /// Also make them an administrator of the installation.
        #[arg(long)]
        admin: bool,
        /// Database URL: sqlite:PATH or postgres://USER@HOST/DATABASE [default: sqlite:firebreak.db].
        #[arg(long, env = "FIREBREAK_DATABASE_URL")]
        database: Option<String>,
        /// TOML configuration file.
        #[arg(long, env = "FIREBREAK_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Manage where pages reach a user.
    #[command(subcommand)]
    Contact(ContactCommand),
    /// Manage how and when pages reach a user: which contact method, after how long.
    #[command(subcommand)]
    Rule(RuleCommand),
}

#[derive(Subcommand)]
pub(crate) enum ContactCommand {
    /// Add a contact method. A webhook's signing secret is printed once, here.
    Add {
        /// The user (id or name).
        user: String,
        #[arg(long = "type", value_name = "TYPE", value_parser = ["email", "webhook", "slack", "sms", "voice", "ntfy"])]
        kind: String,
        /// The email address; the webhook, Slack or ntfy topic URL; or the phone number (+15551230001).
        #[arg(long)]
        address: String,
        /// An ntfy access token, for a protected topic.
        #[arg(long = "ntfy-token", env = "FIREBREAK_NTFY_TOKEN", hide_env_values = true)]
        ntfy_token: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List a user's contact methods.
    List {
        /// The user (id or name).
        user: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Change a contact method's address (its type stays).
    Edit {
        /// The user (id or name).
        user: String,
        /// The contact method's id, as `user contact list` shows it.
        id: i64,
        #[arg(long)]
        address: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Remove a contact method.
    Remove {
        /// The user (id or name).
        user: String,
        /// The contact method's id, as `user contact list` shows it.
        id: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Subcommand)]
pub(crate) enum RuleCommand {
    /// Add a rule: pages of an urgency reach a contact method a delay after the page. Without
    /// rules, every contact method is paged at once.
    Add {
        /// The user (id or name).
        user: String,
        /// The contact method's id, as `user contact list` shows it.
        #[arg(long)]
        contact: i64,
        /// `high` (SEV1 and SEV2) or `low` (SEV3 and SEV4).
        #[arg(long, default_value = "high", value_parser = ["high", "low"])]
        urgency: String,
        /// Minutes after the page.
        #[arg(long, default_value_t = 0)]
        delay: i64,
        /// `any` hour, or by `day` only (08:00 to 20:00 in the user's time zone).
        #[arg(long, default_value = "any", value_parser = ["any", "day"])]
        hours: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List a user's notification rules.
    List {
        /// The user (id or name).
        user: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Remove a notification rule.
    Remove {
        /// The user (id or name).
        user: String,
        /// The rule's id, as `user rule list` shows it.
        id: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Subcommand)]
pub(crate) enum ScheduleCommand {
    /// List schedules.
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show a schedule's layers and overrides.
    Show {
        id: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Create a schedule from a JSON file: the body of POST /api/v1/schedules.
    Create {
        /// The file, or `-` for standard input.
        #[arg(long)]
        file: PathBuf,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Who is on call for a schedule.
    Oncall {
        id: i64,
        /// RFC 3339, such as 2026-01-31T12:00:00Z [default: now].
        #[arg(long)]
        at: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// The final shifts of a schedule, after layers and overrides.
    Shifts {
        id: i64,
        /// RFC 3339.
        #[arg(long)]
        from: String,
        /// RFC 3339.
        #[arg(long)]
        to: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Change a schedule from a JSON file: the body of PATCH /api/v1/schedules/{id} (any of name,
    /// time_zone, layers, overrides).
    Edit {
        id: i64,
        /// The file, or `-` for standard input.
        #[arg(long)]
        file: PathBuf,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Delete a schedule that no escalation policy targets.
    Delete {
        id: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Remove an override, by its number in `schedule show` (from 0).
    RemoveOverride {
        id: i64,
        index: usize,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Have someone cover a schedule from --start to --end, over every layer.
    Override {
        id: i64,
        /// Who covers (id or name).
        #[arg(long)]
        user: String,
        /// RFC 3339.
        #[arg(long)]
        start: String,
        /// RFC 3339.
        #[arg(long)]
        end: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Subcommand)]
pub(crate) enum PolicyCommand {
    /// List escalation policies.
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Show an escalation policy's levels.
    Show {
        id: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Create an escalation policy from a JSON file: the body of POST /api/v1/escalation-policies.
    Create {
        /// The file, or `-` for standard input.
        #[arg(long)]
        file: PathBuf,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Change an escalation policy from a JSON file: the body of PATCH
    /// /api/v1/escalation-policies/{id} (any of name, repeat, levels).
    Edit {
        id: i64,
        /// The file, or `-` for standard input.
        #[arg(long)]
        file: PathBuf,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Delete an escalation policy that no service uses.
    Delete {
        id: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Args)]
pub(crate) struct OncallArgs {
    /// The service (id or name).
    #[arg(long)]
    service: String,
    /// RFC 3339, such as 2026-01-31T12:00:00Z [default: now].
    #[arg(long)]
    at: Option<String>,
    #[command(flatten)]
    client: ClientArgs,
}

pub(crate) async fn team(command: TeamCommand) -> anyhow::Result<()> {
    match command {
        TeamCommand::List { client } => {
            Client::new(client)?.show("/api/v1/teams", |teams: &Vec<api::Team>| team_table(teams)).await
        }
        TeamCommand::Create { name, description, client } => {
            let client = Client::new(client)?;
            let team: api::Team =
                client.post("/api/v1/teams", &api::CreateTeam { name, description }).await?;
            client.print(&team, |team| team_table(std::slice::from_ref(team)))
        }
        TeamCommand::Edit { team, name, description, client } => {
            let client = Client::new(client)?;
            let body = api::UpdateTeam { name, description };
            let team: api::Team =
                client.patch(&format!("/api/v1/teams/{}", path_segment(&team)), &body).await?;
            client.print(&team, |team| team_table(std::slice::from_ref(team)))
        }
        TeamCommand::Delete { team, client } => {
            Client::new(client)?
                .delete_and_say(
                    &format!("/api/v1/teams/{}", path_segment(&team)),
                    &format!("team {team} deleted"),
                )
                .await
        }
        TeamCommand::Member(command) => member(command).await,
    }
}

fn team_table(teams: &[api::Team]) -> String {
    if teams.is_empty() {
        return "no teams\n".to_owned();
    }
    let rows = teams.iter().map(|t| vec![t.id.to_string(), t.name.clone(), t.description.clone()]).collect();
    table(&["ID", "NAME", "DESCRIPTION"], rows)
}

async fn member(command: MemberCommand) -> anyhow::Result<()> {
    match command {
        MemberCommand::Add { team, user, role, client } => {
            let client = Client::new(client)?;
            let found: api::User = client.get(&format!("/api/v1/users/{}", path_segment(&user)), &[]).await?;
            let body = api::AddTeamMember { user_id: found.id, role: Some(role) };
            let added: api::TeamMember =
                client.post(&format!("/api/v1/teams/{}/members", path_segment(&team)), &body).await?;
            client.print(&added, |member| member_table(std::slice::from_ref(member)))
        }
        MemberCommand::List { team, client } => {
            let path = format!("/api/v1/teams/{}/members", path_segment(&team));
            Client::new(client)?.show(&path, |members: &Vec<api::TeamMember>| member_table(members)).await
        }
        MemberCommand::Remove { team, user, client } => {
            Client::new(client)?
                .delete_and_say(
                    &format!("/api/v1/teams/{}/members/{}", path_segment(&team), path_segment(&user)),
                    &format!("removed {user} from team {team}"),
                )
                .await
        }
    }
}

fn member_table(members: &[api::TeamMember]) -> String {
    if members.is_empty() {
        return "no members\n".to_owned();
    }
    let rows: Vec<Vec<String>> = members
        .iter()
        .map(|m| vec![m.user.id.to_string(), m.user.name.clone(), m.user.email.clone(), m.role.clone()])
        .collect();
    table(&["ID", "NAME", "EMAIL", "ROLE"], rows)
}

/// Who may do what: API tokens (over HTTP) and the audit log.
#[derive(Subcommand)]
pub(crate) enum TokenClientCommand {
    /// List your tokens (every token, for an administrator).
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Make a token for yourself (or, as an administrator, `--user`; as a team's owner, `--team`),
    /// printed once.
    New {
        #[arg(long)]
        name: String,
        /// The most it may do: admin, owner, responder, viewer or stakeholder [default: yours].
        #[arg(long)]
        role: Option<String>,
        /// The person it acts as (id or name).
        #[arg(long)]
        user: Option<String>,
        /// The team it acts for (id or name).
        #[arg(long)]
        team: Option<String>,
        /// When it stops working (RFC 3339).
        #[arg(long)]
        expires_at: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Revoke a token.
    Revoke {
        id: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
}

pub(crate) async fn token(command: TokenClientCommand) -> anyhow::Result<()> {
    let table_of = |tokens: &[api::Token]| {
        let rows: Vec<Vec<String>> = tokens
            .iter()
            .map(|t| {
                vec![
                    t.id.to_string(),
                    t.name.clone(),
                    t.role.clone(),
                    t.user_id.map_or_else(String::new, |id| id.to_string()),
                    t.team_id.map_or_else(String::new, |id| id.to_string()),
                    t.last_used_at.map_or_else(|| "never".to_owned(), |at| at.to_string()),
                ]
            })
            .collect();
        table(&["ID", "NAME", "ROLE", "USER", "TEAM", "LAST USED"], rows)
    };
    match command {
        TokenClientCommand::List { client } => {
            Client::new(client)?.show("/api/v1/tokens", |tokens: &Vec<api::Token>| table_of(tokens)).await
        }
        TokenClientCommand::New { name, role, user, team, expires_at, client } => {
            let client = Client::new(client)?;
            let expires_at = match expires_at {
                Some(at) => Some(
                    at.parse().with_context(|| format!("invalid --expires-at {at:?}: expected RFC 3339"))?,
                ),
                None => None,
            };
            let body = api::CreateToken {
                name,
                role,
                user: user.as_deref().map(api::Ref::parse),
                team: team.as_deref().map(api::Ref::parse),
                expires_at,
            };
            let created: api::CreatedToken = client.post("/api/v1/tokens", &body).await?;
            client.print(&created, |created| format!("{}\n", created.token))
        }
        TokenClientCommand::Revoke { id, client } => {
            Client::new(client)?
                .delete_and_say(&format!("/api/v1/tokens/{id}"), &format!("token {id} revoked"))
                .await
        }
    }
}

/// Read the audit log (administrators).
#[derive(Args)]
pub(crate) struct AuditArgs {
    /// Only what this actor did (their name).
    #[arg(long)]
    actor: Option<String>,
    /// Only what was done to this object (service:12) or kind of object (service).
    #[arg(long)]
    object: Option<String>,
    /// Only since this instant (RFC 3339).
    #[arg(long)]
    since: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 100)]
    limit: u32,
    #[command(flatten)]
    client: ClientArgs,
}

pub(crate) async fn audit(args: AuditArgs) -> anyhow::Result<()> {
    let mut query = vec![("limit", args.limit.to_string())];
    for (name, value) in [("actor", args.actor), ("object", args.object), ("since", args.since)] {
        if let Some(value) = value {
            query.push((name, value));
        }
    }
    let client = Client::new(args.client)?;
    let entries: Vec<api::AuditEntry> = client.get("/api/v1/audit", &query).await?;
    client.print(&entries, |entries| {
        let rows: Vec<Vec<String>> = entries
            .iter()
            .map(|e| {
                vec![e.at.to_string(), e.actor.clone(), e.address.clone(), e.action.clone(), e.object.clone()]
            })
            .collect();
        table(&["AT", "ACTOR", "FROM", "ACTION", "OBJECT"], rows)
    })
}

pub(crate) async fn user(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::SetPassword { .. } => unreachable!("set-password works on the database, in main"),
        UserCommand::List { client } => {
            Client::new(client)?.show("/api/v1/users", |users: &Vec<api::User>| user_table(users)).await
        }
        UserCommand::Create { name, email, time_zone, client } => {
            let client = Client::new(client)?;
            let body = api::CreateUser { name, email, time_zone: Some(time_zone) };
            let user: api::User = client.post("/api/v1/users", &body).await?;
            client.print(&user, |user| user_table(std::slice::from_ref(user)))
        }
        UserCommand::Edit { user, name, email, time_zone, client } => {
            let client = Client::new(client)?;
            let body = api::UpdateUser { name, email, time_zone };
            let user: api::User =
                client.patch(&format!("/api/v1/users/{}", path_segment(&user)), &body).await?;
            client.print(&user, |user| user_table(std::slice::from_ref(user)))
        }
        UserCommand::Delete { user, client } => {
            Client::new(client)?
                .delete_and_say(
                    &format!("/api/v1/users/{}", path_segment(&user)),
                    &format!("user {user} deleted"),
                )
                .await
        }
        UserCommand::Contact(command) => contact(command).await,
        UserCommand::Rule(command) => rule(command).await,
    }
}

async fn rule(command: RuleCommand) -> anyhow::Result<()> {
    match command {
        RuleCommand::Add { user, contact, urgency, delay, hours, client } => {
            let client = Client::new(client)?;
            let body = api::CreateNotificationRule {
                contact_method_id: contact,
                urgency: Some(urgency),
                delay_minutes: Some(delay),
                hours: Some(hours),
            };
            let rule: api::NotificationRule = client
                .post(&format!("/api/v1/users/{}/notification-rules", path_segment(&user)), &body)
                .await?;
            client.print(&rule, |rule| rule_table(std::slice::from_ref(rule)))
        }
        RuleCommand::List { user, client } => {
            let path = format!("/api/v1/users/{}/notification-rules", path_segment(&user));
            Client::new(client)?.show(&path, |rules: &Vec<api::NotificationRule>| rule_table(rules)).await
        }
        RuleCommand::Remove { user, id, client } => {
            Client::new(client)?
                .delete_and_say(
                    &format!("/api/v1/users/{}/notification-rules/{id}", path_segment(&user)),
                    &format!("removed notification rule {id} of user {user}"),
                )
                .await
        }
    }
}

fn rule_table(rules: &[api::NotificationRule]) -> String {
    if rules.is_empty() {
        return "no notification rules: every contact method is paged at once\n".to_owned();
    }
    let rows = rules
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                r.urgency.clone(),
                format!("{} min", r.delay_minutes),
                r.contact_method_id.to_string(),
                r.hours.clone(),
            ]
        })
        .collect();
    table(&["ID", "URGENCY", "AFTER", "CONTACT", "HOURS"], rows)
}

fn user_table(users: &[api::User]) -> String {
    if users.is_empty() {
        return "no users\n".to_owned();
    }
    let rows = users
        .iter()
        .map(|u| vec![u.id.to_string(), u.name.clone(), u.email.clone(), u.time_zone.clone()])
        .collect();
    table(&["ID", "NAME", "EMAIL", "TIME ZONE"], rows)
}

async fn contact(command: ContactCommand) -> anyhow::Result<()> {
    match command {
        ContactCommand::Add { user, kind, address, ntfy_token, client } => {
            let client = Client::new(client)?;
            let body = api::CreateContactMethod { kind, address, token: ntfy_token };
            let method: api::ContactMethod =
                client.post(&format!("/api/v1/users/{}/contact-methods", path_segment(&user)), &body).await?;
            client.print(&method, |method| {
                let mut out = contact_table(std::slice::from_ref(method));
                if let Some(secret) = &method.secret {
                    out.push_str(&format!(
                        "\nsigning secret: {secret}\nIt is not shown again: the receiver checks X-Firebreak-Signature with it.\n"
                    ));
                }
                out
            })
        }
        ContactCommand::List { user, client } => {
            let path = format!("/api/v1/users/{}/contact-methods", path_segment(&user));
            Client::new(client)?.show(&path, |methods: &Vec<api::ContactMethod>| contact_table(methods)).await
        }
        ContactCommand::Edit { user, id, address, client } => {
            let client = Client::new(client)?;
            let body = api::UpdateContactMethod { address: Some(address) };
            let method: api::ContactMethod = client
                .patch(&format!("/api/v1/users/{}/contact-methods/{id}", path_segment(&user)), &body)
                .await?;
            client.print(&method, |method| contact_table(std::slice::from_ref(method)))
        }
        ContactCommand::Remove { user, id, client } => {
            Client::new(client)?
                .delete_and_say(
                    &format!("/api/v1/users/{}/contact-methods/{id}", path_segment(&user)),
                    &format!("removed contact method {id} of user {user}"),
                )
                .await
        }
    }
}

fn contact_table(methods: &[api::ContactMethod]) -> String {
    if methods.is_empty() {
        return "no contact methods\n".to_owned();
    }
    let rows = methods
        .iter()
        .map(|m| {
            vec![
                m.id.to_string(),
                m.kind.clone(),
                m.created_at.strftime("%Y-%m-%d %H:%M").to_string(),
                m.address.clone(),
            ]
        })
        .collect();
    table(&["ID", "TYPE", "ADDED (UTC)", "ADDRESS"], rows)
}

pub(crate) async fn schedule(command: ScheduleCommand) -> anyhow::Result<()> {
    match command {
        ScheduleCommand::List { client } => {
            let client = Client::new(client)?;
            let schedules: Vec<api::Schedule> = client.get("/api/v1/schedules", &[]).await?;
            client.print(&schedules, |schedules| {
                if schedules.is_empty() {
                    return "no schedules\n".to_owned();
                }
                let rows = schedules
                    .iter()
                    .map(|s| {
                        vec![
                            s.id.to_string(),
                            s.time_zone.clone(),
                            s.layers.len().to_string(),
                            s.overrides.len().to_string(),
                            s.name.clone(),
                        ]
                    })
                    .collect();
                table(&["ID", "TIME ZONE", "LAYERS", "OVERRIDES", "NAME"], rows)
            })
        }
        ScheduleCommand::Show { id, client } => {
            let client = Client::new(client)?;
            let schedule: api::Schedule = client.get(&format!("/api/v1/schedules/{id}"), &[]).await?;
            let users: Vec<api::User> = client.get("/api/v1/users", &[]).await?;
            client.print(&schedule, |s| schedule_detail(s, &users))
        }
        ScheduleCommand::Create { file, client } => {
            let body: api::CreateSchedule = read_spec(&file, "schedule")?;
            let client = Client::new(client)?;
            let schedule: api::Schedule = client.post("/api/v1/schedules", &body).await?;
            let users: Vec<api::User> = client.get("/api/v1/users", &[]).await?;
            client.print(&schedule, |s| schedule_detail(s, &users))
        }
        ScheduleCommand::Oncall { id, at, client } => {
            let client = Client::new(client)?;
            let query: Vec<(&str, String)> = at.into_iter().map(|at| ("at", at)).collect();
            let on_call: api::OnCall = client.get(&format!("/api/v1/schedules/{id}/oncall"), &query).await?;
            client.print(&on_call, |o| {
                let at = o.at.strftime("%Y-%m-%d %H:%M:%S UTC");
                match &o.user {
                    Some(user) => format!(
                        "{} (user {}) is on call for schedule {} at {at}\n",
                        user.name, user.id, o.schedule_id
                    ),
                    None => format!("nobody is on call for schedule {} at {at}\n", o.schedule_id),
                }
            })
        }
        ScheduleCommand::Shifts { id, from, to, client } => {
            let client = Client::new(client)?;
            let shifts: Vec<api::Shift> =
                client.get(&format!("/api/v1/schedules/{id}/shifts"), &[("from", from), ("to", to)]).await?;
            client.print(&shifts, |shifts| {
                if shifts.is_empty() {
                    return "nobody is on call in that range\n".to_owned();
                }
                let rows = shifts
                    .iter()
                    .map(|s| {
                        vec![
                            s.start.strftime("%Y-%m-%d %H:%M").to_string(),
                            s.end.strftime("%Y-%m-%d %H:%M").to_string(),
                            format!("{} ({})", s.user_name, s.user_id),
                        ]
                    })
                    .collect();
                table(&["START (UTC)", "END (UTC)", "ON CALL"], rows)
            })
        }
        ScheduleCommand::Edit { id, file, client } => {
            let body: api::UpdateSchedule = read_spec(&file, "schedule change")?;
            let client = Client::new(client)?;
            let schedule: api::Schedule = client.patch(&format!("/api/v1/schedules/{id}"), &body).await?;
            let users: Vec<api::User> = client.get("/api/v1/users", &[]).await?;
            client.print(&schedule, |s| schedule_detail(s, &users))
        }
        ScheduleCommand::Delete { id, client } => {
            Client::new(client)?
                .delete_and_say(&format!("/api/v1/schedules/{id}"), &format!("schedule {id} deleted"))
                .await
        }
        ScheduleCommand::RemoveOverride { id, index, client } => {
            let client = Client::new(client)?;
            let schedule: api::Schedule =
                client.delete(&format!("/api/v1/schedules/{id}/overrides/{index}")).await?;
            let users: Vec<api::User> = client.get("/api/v1/users", &[]).await?;
            client.print(&schedule, |s| schedule_detail(s, &users))
        }
        ScheduleCommand::Override { id, user, start, end, client } => {
            let body = api::Override {
                user: api::Ref::parse(&user),
                start: timestamp("--start", &start)?,
                end: timestamp("--end", &end)?,
            };
            let client = Client::new(client)?;
            let schedule: api::Schedule =
                client.post(&format!("/api/v1/schedules/{id}/overrides"), &body).await?;
            let users: Vec<api::User> = client.get("/api/v1/users", &[]).await?;
            client.print(&schedule, |s| schedule_detail(s, &users))
        }
    }
}

/// The name of the user `user` refers to, or the reference itself when it names nobody known.
fn user_name(users: &[api::User], user: &api::Ref) -> String {
    match user {
        api::Ref::Id(id) => {
            users.iter().find(|u| u.id == *id).map_or_else(|| format!("user {id}"), |u| u.name.clone())
        }
        api::Ref::Name(name) => name.clone(),
    }
}

fn schedule_detail(schedule: &api::Schedule, users: &[api::User]) -> String {
    let mut out = format!(
        "{name} (schedule {id})\ntime zone:  {tz}\n\nLayers (a higher layer wins where it has someone on call)\n",
        name = schedule.name,
        id = schedule.id,
        tz = schedule.time_zone,
    );
    for (index, layer) in schedule.layers.iter().enumerate() {
        let rotation: Vec<String> = layer.users.iter().map(|user| user_name(users, user)).collect();
        out.push_str(&format!(
            "  {number}  {length} shifts from {start}: {rotation}\n",
            number = index + 1,
            length = layer.shift_length,
            start = layer.start.strftime("%Y-%m-%d %H:%M UTC"),
            rotation = rotation.join(", "),
        ));
        for restriction in &layer.restrictions {
            let day = |day: &Option<String>| day.as_ref().map_or(String::new(), |day| format!("{day} "));
            out.push_str(&format!(
                "     only {kind} {start_day}{start}-{end_day}{end}\n",
                kind = restriction.kind,
                start_day = day(&restriction.start_day),
                start = restriction.start_time,
                end_day = day(&restriction.end_day),
                end = restriction.end_time,
            ));
        }
    }
    if schedule.overrides.is_empty() {
        out.push_str("\nOverrides: none\n");
    } else {
        out.push_str("\nOverrides (remove one with `schedule remove-override ID N`)\n");
        for (number, cover) in schedule.overrides.iter().enumerate() {
            out.push_str(&format!(
                "  {number}  {start} - {end}  {who}\n",
                start = cover.start.strftime("%Y-%m-%d %H:%M"),
                end = cover.end.strftime("%Y-%m-%d %H:%M UTC"),
                who = user_name(users, &cover.user),
            ));
        }
    }
    out
}

pub(crate) async fn policy(command: PolicyCommand) -> anyhow::Result<()> {
    match command {
        PolicyCommand::List { client } => {
            let client = Client::new(client)?;
            let policies: Vec<api::EscalationPolicy> = client.get("/api/v1/escalation-policies", &[]).await?;
            client.print(&policies, |policies| {
                if policies.is_empty() {
                    return "no escalation policies\n".to_owned();
                }
                let rows = policies
                    .iter()
                    .map(|p| {
                        vec![
                            p.id.to_string(),
                            p.levels.len().to_string(),
                            p.repeat.to_string(),
                            p.name.clone(),
                        ]
                    })
                    .collect();
                table(&["ID", "LEVELS", "REPEAT", "NAME"], rows)
            })
        }
        PolicyCommand::Show { id, client } => {
            let client = Client::new(client)?;
            let policy: api::EscalationPolicy =
                client.get(&format!("/api/v1/escalation-policies/{id}"), &[]).await?;
            let names = Names::load(&client).await?;
            client.print(&policy, |p| policy_detail(p, &names))
        }
        PolicyCommand::Create { file, client } => {
            let body: api::CreateEscalationPolicy = read_spec(&file, "escalation policy")?;
            let client = Client::new(client)?;
            let policy: api::EscalationPolicy = client.post("/api/v1/escalation-policies", &body).await?;
            let names = Names::load(&client).await?;
            client.print(&policy, |p| policy_detail(p, &names))
        }
        PolicyCommand::Edit { id, file, client } => {
            let body: api::UpdateEscalationPolicy = read_spec(&file, "escalation policy change")?;
            let client = Client::new(client)?;
            let policy: api::EscalationPolicy =
                client.patch(&format!("/api/v1/escalation-policies/{id}"), &body).await?;
            let names = Names::load(&client).await?;
            client.print(&policy, |p| policy_detail(p, &names))
        }
        PolicyCommand::Delete { id, client } => {
            Client::new(client)?
                .delete_and_say(
                    &format!("/api/v1/escalation-policies/{id}"),
                    &format!("escalation policy {id} deleted"),
                )
                .await
        }
    }
}

/// User, schedule and team names, to show targets by name.
struct Names {
    users: Vec<api::User>,
    schedules: Vec<api::Schedule>,
    teams: Vec<api::Team>,
}

impl Names {
    async fn load(client: &Client) -> anyhow::Result<Names> {
        Ok(Names {
            users: client.get("/api/v1/users", &[]).await?,
            schedules: client.get("/api/v1/schedules", &[]).await?,
            teams: client.get("/api/v1/teams", &[]).await?,
        })
    }

    fn target(&self, target: &api::EscalationTarget) -> String {
        let name = match target.kind.as_str() {
            "user" => self.users.iter().find(|u| u.id == target.id).map(|u| u.name.clone()),
            "schedule" => self.schedules.iter().find(|s| s.id == target.id).map(|s| s.name.clone()),
            "team" => self.teams.iter().find(|t| t.id == target.id).map(|t| t.name.clone()),
            _ => None,
        };
        match name {
            Some(name) => format!("{} {name} ({})", target.kind, target.id),
            None => format!("{} {}", target.kind, target.id),
        }
    }
}

fn policy_detail(policy: &api::EscalationPolicy, names: &Names) -> String {
    let mut out = format!(
        "{name} (escalation policy {id})\nrepeat:  {repeat}\n\n",
        name = policy.name,
        id = policy.id,
        repeat = match policy.repeat {
            0 => "no".to_owned(),
            n => format!("{n} more passes after the first"),
        },
    );
    let rows = policy
        .levels
        .iter()
        .enumerate()
        .map(|(index, level)| {
            let mut targets: Vec<String> = level.targets.iter().map(|t| names.target(t)).collect();
            if level.wakes_management {
                targets.push("[wakes management]".to_owned());
            }
            vec![(index + 1).to_string(), format!("{} min", level.timeout_minutes), targets.join(", ")]
        })
        .collect();
    out.push_str(&table(&["LEVEL", "TIMEOUT", "TARGETS"], rows));
    out
}

/// Sets or, with `none`, removes the escalation policy of a service.
pub(crate) async fn set_policy(service: String, policy: String, client: ClientArgs) -> anyhow::Result<()> {
    let client = Client::new(client)?;
    let policy_id = if policy.eq_ignore_ascii_case("none") {
        None
    } else if let Ok(id) = policy.parse::<i64>() {
        Some(id)
    } else {
        let policies: Vec<api::EscalationPolicy> = client.get("/api/v1/escalation-policies", &[]).await?;
        let found = policies.iter().find(|p| p.name == policy).map(|p| p.id);
        Some(found.ok_or_else(|| anyhow::anyhow!("there is no escalation policy {policy:?}"))?)
    };
    let body = serde_json::json!({ "escalation_policy": policy_id });
    let updated: api::Service =
        client.patch(&format!("/api/v1/services/{}", path_segment(&service)), &body).await?;
    client.print(&updated, |s| match s.escalation_policy_id {
        Some(id) => format!("service {} ({}) now pages through escalation policy {id}\n", s.name, s.id),
        None => {
            format!("service {} ({}) has no escalation policy now: its incidents page nobody\n", s.name, s.id)
        }
    })
}

pub(crate) async fn oncall(args: OncallArgs) -> anyhow::Result<()> {
    let OncallArgs { service, at, client } = args;
    let client = Client::new(client)?;
    let mut query = vec![("service", service.clone())];
    query.extend(at.map(|at| ("at", at)));
    let on_call: api::ServiceOnCall = client.get("/api/v1/oncall", &query).await?;
    client.print(&on_call, |o| {
        let at = o.at.strftime("%Y-%m-%d %H:%M:%S UTC");
        let Some(policy) = o.escalation_policy_id else {
            return format!("service {service} has no escalation policy: its incidents page nobody\n");
        };
        let mut out = format!("service {service}, escalation policy {policy}, at {at}\n\n");
        let mut after = 0;
        let rows = o
            .levels
            .iter()
            .map(|level| {
                let row = vec![
                    level.level.to_string(),
                    if after == 0 { "at once".to_owned() } else { format!("{after} min") },
                    if level.users.is_empty() {
                        "nobody".to_owned()
                    } else {
                        level.users.iter().map(|u| u.name.clone()).collect::<Vec<_>>().join(", ")
                    },
                ];
                after += level.timeout_minutes;
                row
            })
            .collect();
        out.push_str(&table(&["LEVEL", "PAGED AFTER", "ON CALL"], rows));
        out
    })
}

/// Reads a JSON specification from `file` (`-` for standard input), checking its shape before
/// sending it so that a typo is reported with its line and column.
/// The text of `file`, or of standard input when it is `-`.
fn read_text(file: &Path, what: &str) -> anyhow::Result<String> {
    if file == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .with_context(|| format!("reading the {what} from standard input"))?;
        Ok(text)
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading the {what} from {}", file.display()))
    }
}

fn read_spec<T: DeserializeOwned>(file: &Path, what: &str) -> anyhow::Result<T> {
    let text = read_text(file, what)?;
    serde_json::from_str(&text).with_context(|| {
        let source =
            if file == Path::new("-") { "standard input".to_owned() } else { file.display().to_string() };
        format!("{source} is not a valid {what} specification")
    })
}

fn timestamp(flag: &str, text: &str) -> anyhow::Result<jiff::Timestamp> {
    text.parse().map_err(|err| {
        anyhow::anyhow!("invalid {flag} {text:?}: {err}; expected RFC 3339 such as 2026-01-31T12:00:00Z")
    })
}

fn team_name(teams: &[api::Team], id: i64) -> String {
    teams.iter().find(|t| t.id == id).map_or_else(|| id.to_string(), |t| t.name.clone())
}

fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn incident_table(incidents: &[api::Incident], names: &ServiceNames) -> String {
    if incidents.is_empty() {
        return "no incidents\n".to_owned();
    }
    let rows = incidents
        .iter()
        .map(|i| {
            vec![
                i.id.to_string(),
                i.severity.to_string(),
                i.status.to_string(),
                names.of(i.service_id),
                i.created_at.strftime("%Y-%m-%d %H:%M").to_string(),
                i.title.clone(),
            ]
        })
        .collect();
    table(&["ID", "SEV", "STATUS", "SERVICE", "DECLARED (UTC)", "TITLE"], rows)
}

/// Prints an incident, with the names of its service and people (JSON as it came).
async fn print_incident(client: &Client, detail: &api::IncidentDetail) -> anyhow::Result<()> {
    let services = client.service_names().await?;
    let users: Vec<api::User> =
        if client.json { Vec::new() } else { client.get("/api/v1/users", &[]).await? };
    client.print(detail, |detail| incident_detail(detail, &services, &users))
}

fn incident_detail(detail: &api::IncidentDetail, services: &ServiceNames, users: &[api::User]) -> String {
    let i = &detail.incident;
    let person = |id: Option<i64>| match id {
        None => "-".to_owned(),
        Some(id) => {
            users.iter().find(|u| u.id == id).map_or_else(|| format!("user {id}"), |u| u.name.clone())
        }
    };
    let mut out = format!(
        "#{id} {title}\nstatus:     {status}\nseverity:   {severity}\nkind:       {kind}\nservice:    {service}\n\
         assignee:   {assignee}\ncommander:  {commander}\n\nTimeline\n",
        id = i.id,
        title = i.title,
        status = i.status,
        severity = i.severity,
        kind = i.kind,
        service = services.of(i.service_id),
        assignee = person(i.assignee_id),
        commander = person(i.commander_id),
    );
    for entry in &detail.timeline {
        out.push_str(&format!(
            "  {}  {:<12}  {}\n",
            entry.at.strftime("%Y-%m-%d %H:%M:%S"),
            entry.actor,
            entry.summary
        ));
    }
    out
}

/// Lays out `rows` under `headers` in aligned columns; the last column is not padded.
fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let headers: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&headers).chain(&rows) {
        let last = row.len().saturating_sub(1);
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i == last {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  "));
            }
        }
        out.push('\n');
    }
    out
}

/// Service names by id, for tables that would otherwise show a bare id.
#[derive(Default)]
struct ServiceNames(HashMap<i64, String>);

impl ServiceNames {
    /// The name of service `id`, or its id when it is not known (deleted, or created since).
    fn of(&self, id: i64) -> String {
        self.0.get(&id).cloned().unwrap_or_else(|| id.to_string())
    }
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    json: bool,
}

impl Client {
    fn new(args: ClientArgs) -> anyhow::Result<Client> {
        let Some(token) = args.token.filter(|t| !t.is_empty()) else {
            bail!(
                "no API token: set FIREBREAK_TOKEN or pass --token (create one with `firebreak token create --name NAME`)"
            );
        };
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .context("building the HTTP client")?;
        Ok(Client { http, base: args.url.trim_end_matches('/').to_owned(), token, json: args.json })
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> anyhow::Result<T> {
        let request = self.http.get(format!("{}{path}", self.base)).query(query);
        self.send(request).await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> anyhow::Result<T> {
        let request = self.http.post(format!("{}{path}", self.base)).json(body);
        self.send(request).await
    }

    async fn put<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> anyhow::Result<T> {
        let request = self.http.put(format!("{}{path}", self.base)).json(body);
        self.send(request).await
    }

    async fn patch<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> anyhow::Result<T> {
        let request = self.http.patch(format!("{}{path}", self.base)).json(body);
        self.send(request).await
    }

    async fn delete<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let request = self.http.delete(format!("{}{path}", self.base));
        self.send(request).await
    }

    /// A DELETE whose success has no body (`204 No Content`).
    async fn delete_no_content(&self, path: &str) -> anyhow::Result<()> {
        let request = self.http.delete(format!("{}{path}", self.base));
        self.send_raw(request).await.map(drop)
    }

    /// A DELETE whose success has no body, then `done` said on standard output (nothing with
    /// `--json`, where success is the exit status).
    async fn delete_and_say(&self, path: &str, done: &str) -> anyhow::Result<()> {
        self.delete_no_content(path).await?;
        if !self.json {
            println!("{done}");
        }
        Ok(())
    }

    async fn send<T: DeserializeOwned>(&self, request: reqwest::RequestBuilder) -> anyhow::Result<T> {
        let bytes = self.send_raw(request).await?;
        serde_json::from_slice(&bytes).context("the server's response is not what this client expects")
    }

    /// Sends `request` and returns the body of a successful response; a failed one becomes an error
    /// carrying the server's explanation.
    async fn send_raw(&self, request: reqwest::RequestBuilder) -> anyhow::Result<Vec<u8>> {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("cannot reach the firebreak server at {}", self.base))?;
        let status = response.status();
        let bytes = response.bytes().await.context("reading the server's response")?;
        if !status.is_success() {
            if let Ok(problem) = serde_json::from_slice::<api::Problem>(&bytes) {
                bail!("{} (HTTP {})", problem.detail, status.as_u16());
            }
            bail!("the server answered HTTP {}: {}", status.as_u16(), String::from_utf8_lossy(&bytes).trim());
        }
        Ok(bytes.to_vec())
    }

    /// GETs `path` and prints what it holds: the JSON with `--json`, else what `human` makes of it.
    async fn show<T: DeserializeOwned + Serialize>(
        &self,
        path: &str,
        human: impl FnOnce(&T) -> String,
    ) -> anyhow::Result<()> {
        let value: T = self.get(path, &[]).await?;
        self.print(&value, human)
    }

    /// The names of the services, for a table; JSON output shows ids only and needs none.
    async fn service_names(&self) -> anyhow::Result<ServiceNames> {
        if self.json {
            return Ok(ServiceNames::default());
        }
        let services: Vec<api::Service> = self.get("/api/v1/services", &[]).await?;
        Ok(ServiceNames(services.into_iter().map(|service| (service.id, service.name)).collect()))
    }

    fn print<T: Serialize>(&self, value: &T, human: impl FnOnce(&T) -> String) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value)?);
        } else {
            print!("{}", human(value));
        }
        Ok(())
    }
}
