//! `firebreak guide …` (a team's severity guide) and `firebreak incident assess`.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::bail;
use clap::Subcommand;
use firebreak_api as api;

use super::{Client, ClientArgs, read_spec};

#[derive(Subcommand)]
pub(crate) enum GuideCommand {
    /// Show the severity guide in force for a team (its own, or the built-in one).
    Show {
        /// The team (id or name).
        team: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Replace a team's severity guide with a JSON document (the shape `show --json` prints).
    Set {
        team: String,
        /// The guide's JSON (`-` reads standard input).
        #[arg(long)]
        file: PathBuf,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Forget a team's own guide: the built-in one is in force again.
    Reset {
        team: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

pub(crate) async fn guide(command: GuideCommand) -> anyhow::Result<()> {
    match command {
        GuideCommand::Show { team, client } => {
            let client = Client::new(client)?;
            let guide: api::SeverityGuide =
                client.get(&format!("/api/v1/severity-guides/{team}"), &[]).await?;
            client.print(&guide, show)
        }
        GuideCommand::Set { team, file, client } => {
            let body: api::SeverityGuide = read_spec(&file, "severity guide")?;
            let client = Client::new(client)?;
            let guide: api::SeverityGuide =
                client.put(&format!("/api/v1/severity-guides/{team}"), &body).await?;
            client.print(&guide, show)
        }
        GuideCommand::Reset { team, client } => {
            let client = Client::new(client)?;
            client
                .delete_and_say(
                    &format!("/api/v1/severity-guides/{team}"),
                    &format!("team {team} uses the built-in severity guide again"),
                )
                .await
        }
    }
}

fn show(guide: &api::SeverityGuide) -> String {
    let mut out = format!("severity guide ({})\n", guide.source.as_deref().unwrap_or("?"));
    for question in &guide.questions {
        out.push_str(&format!("  {} — {} [{}]\n", question.id, question.text, question.answers.join(", ")));
    }
    out.push_str("rules\n");
    for rule in &guide.rules {
        let when: Vec<String> = rule.when.iter().map(|(q, a)| format!("{q} is {}", a.join(" or "))).collect();
        let wake =
            if rule.wake.is_empty() { String::new() } else { format!(", wake {}", rule.wake.join(", ")) };
        out.push_str(&format!(
            "  {}: when {}{wake} ({})\n",
            serde_json::to_value(rule.severity)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            when.join(" and "),
            rule.reason
        ));
    }
    out
}

/// `firebreak incident assess`: answers from `--answer QUESTION=ANSWER`, or asked one by one in a
/// terminal.
pub(crate) async fn assess(args: ClientArgs, id: i64, given: Vec<String>) -> anyhow::Result<()> {
    let client = Client::new(args)?;
    let mut answers = BTreeMap::new();
    for pair in &given {
        let Some((question, answer)) = pair.split_once('=') else {
            bail!("--answer takes QUESTION=ANSWER, such as customers_affected=some, not {pair:?}");
        };
        answers.insert(question.trim().to_owned(), answer.trim().to_owned());
    }
    if answers.is_empty() {
        if !std::io::stdin().is_terminal() {
            bail!(
                "give --answer QUESTION=ANSWER for the questions of the guide (`firebreak guide show TEAM` lists them)"
            );
        }
        let incident: api::IncidentDetail = client.get(&format!("/api/v1/incidents/{id}"), &[]).await?;
        let service: api::Service =
            client.get(&format!("/api/v1/services/{}", incident.incident.service_id), &[]).await?;
        let guide: api::SeverityGuide =
            client.get(&format!("/api/v1/severity-guides/{}", service.team_id), &[]).await?;
        let stdin = std::io::stdin();
        for question in &guide.questions {
            loop {
                let choices: Vec<String> =
                    question.answers.iter().enumerate().map(|(n, a)| format!("{}) {a}", n + 1)).collect();
                eprint!("{} {}: ", question.text, choices.join("  "));
                std::io::stderr().flush().ok();
                let mut line = String::new();
                if stdin.lock().read_line(&mut line)? == 0 {
                    bail!("no answer to {:?}", question.id);
                }
                let line = line.trim();
                let chosen = match line.parse::<usize>() {
                    Ok(n) if (1..=question.answers.len()).contains(&n) => {
                        Some(question.answers[n - 1].clone())
                    }
                    _ => question.answers.iter().find(|a| a.eq_ignore_ascii_case(line)).cloned(),
                };
                match chosen {
                    Some(answer) => {
                        answers.insert(question.id.clone(), answer);
                        break;
                    }
                    None => eprintln!("answer with a number or one of: {}", question.answers.join(", ")),
                }
            }
        }
    }
    let assessed: api::Assessment =
        client.post(&format!("/api/v1/incidents/{id}/assess"), &api::Assess { answers }).await?;
    client.print(&assessed, |a| {
        let severity = serde_json::to_value(a.severity)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let wake = if a.wake.is_empty() { "no one more".to_owned() } else { a.wake.join(", ") };
        format!(
            "incident {id} is {severity}; woke {wake}\n{}\n",
            a.reasons.iter().map(|r| format!("  {r}")).collect::<Vec<_>>().join("\n")
        )
    })
}
