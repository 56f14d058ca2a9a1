//! Client commands: HTTP calls to a running server, printed as tables or, with `--json`, as the
//! API's JSON.

use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use firebreak_api as api;
use serde::Serialize;
use serde::de::DeserializeOwned;

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
            client.print(&silence, |s| silence_table(std::slice::from_ref(s)))
        }
        SilenceCommand::List { client } => {
            let client = Client::new(client)?;
            let silences: Vec<api::Silence> = client.get("/api/v1/silences", &[]).await?;
            client.print(&silences, |s| silence_table(s))
        }
        SilenceCommand::Expire { id, client } => {
            let client = Client::new(client)?;
            let silence: api::Silence = client.delete(&format!("/api/v1/silences/{id}")).await?;
            client.print(&silence, |s| silence_table(std::slice::from_ref(s)))
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

fn silence_table(silences: &[api::Silence]) -> String {
    if silences.is_empty() {
        return "no silences\n".to_owned();
    }
    let rows = silences
        .iter()
        .map(|s| {
            vec![
                s.id.to_string(),
                s.service_id.map_or_else(|| "all".to_owned(), |id| id.to_string()),
                s.ends_at.strftime("%Y-%m-%d %H:%M").to_string(),
                s.created_by.clone(),
                s.matchers.join(" "),
            ]
        })
        .collect();
    table(&["ID", "SERVICE", "ENDS (UTC)", "BY", "MATCHERS"], rows)
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
            client.print(&page, |page| incident_table(&page.incidents))
        }
        IncidentCommand::Show { id, client } => {
            let client = Client::new(client)?;
            let detail: api::IncidentDetail = client.get(&format!("/api/v1/incidents/{id}"), &[]).await?;
            client.print(&detail, incident_detail)
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
            client.print(&detail, incident_detail)
        }
        IncidentCommand::Ack { id, client } => act(client, id, "acknowledge").await,
        IncidentCommand::Mitigate { id, client } => act(client, id, "mitigate").await,
        IncidentCommand::Resolve { id, client } => act(client, id, "resolve").await,
        IncidentCommand::Note { id, text, client } => {
            let client = Client::new(client)?;
            let detail: api::IncidentDetail =
                client.post(&format!("/api/v1/incidents/{id}/notes"), &api::AddNote { text }).await?;
            client.print(&detail, incident_detail)
        }
    }
}

async fn act(client: ClientArgs, id: i64, action: &str) -> anyhow::Result<()> {
    let client = Client::new(client)?;
    let detail: api::IncidentDetail =
        client.post(&format!("/api/v1/incidents/{id}/{action}"), &serde_json::json!({})).await?;
    client.print(&detail, incident_detail)
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
        ServiceCommand::Show { service, client } => {
            let client = Client::new(client)?;
            let service: api::Service =
                client.get(&format!("/api/v1/services/{}", path_segment(&service)), &[]).await?;
            let teams: Vec<api::Team> = client.get("/api/v1/teams", &[]).await?;
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
                        s.dependencies.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
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

fn incident_table(incidents: &[api::Incident]) -> String {
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
                i.service_id.to_string(),
                i.created_at.strftime("%Y-%m-%d %H:%M").to_string(),
                i.title.clone(),
            ]
        })
        .collect();
    table(&["ID", "SEV", "STATUS", "SERVICE", "DECLARED (UTC)", "TITLE"], rows)
}

fn incident_detail(detail: &api::IncidentDetail) -> String {
    let i = &detail.incident;
    let mut out = format!(
        "#{id} {title}\nstatus:    {status}\nseverity:  {severity}\nkind:      {kind}\nservice:   {service}\n\nTimeline\n",
        id = i.id,
        title = i.title,
        status = i.status,
        severity = i.severity,
        kind = i.kind,
        service = i.service_id,
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

    async fn delete<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let request = self.http.delete(format!("{}{path}", self.base));
        self.send(request).await
    }

    async fn send<T: DeserializeOwned>(&self, request: reqwest::RequestBuilder) -> anyhow::Result<T> {
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
        serde_json::from_slice(&bytes).context("the server's response is not what this client expects")
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
