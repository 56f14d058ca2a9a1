//! The catalog from the command line, against a real server: services, teams, users, contact
//! methods and notification rules are created, edited and deleted with the CLI alone, and deleting
//! something in use fails saying what uses it; incidents are reassigned and snoozed.

use std::path::Path;

use crate::support::{Fresh, run};

fn ok(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> String {
    let output = run(dir, args, envs);
    assert!(output.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn fails(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> String {
    let output = run(dir, args, envs);
    assert!(!output.status.success(), "{args:?} succeeded: {}", String::from_utf8_lossy(&output.stdout));
    String::from_utf8(output.stderr).unwrap()
}

#[tokio::test]
async fn the_catalog_is_created_edited_and_deleted_from_the_command_line() {
    let Fresh { dir, token, server, .. } = Fresh::start("cli-catalog.db", "ana").await;
    let envs = [("FIREBREAK_URL", server.url.as_str()), ("FIREBREAK_TOKEN", token.as_str())];
    let dir = dir.path();

    ok(dir, &["team", "create", "--name", "payments"], &envs);
    ok(dir, &["team", "create", "--name", "spare"], &envs);
    let edited = ok(dir, &["team", "edit", "spare", "--name", "web", "--description", "the site"], &envs);
    assert!(edited.contains("web") && edited.contains("the site"), "{edited}");

    // A service, with its key printed once; edited; a dependency.
    let runbook = dir.join("runbook.md");
    std::fs::write(&runbook, "## Restart\n`systemctl restart ledger`\n").unwrap();
    let created = ok(
        dir,
        &[
            "service",
            "create",
            "--name",
            "ledger",
            "--team",
            "payments",
            "--description",
            "books",
            "--runbook-file",
            runbook.to_str().unwrap(),
            "--link",
            "Dashboard=https://grafana.example/d/1",
        ],
        &envs,
    );
    assert!(
        created.contains("service ledger (1) created") && created.contains("integration key: fbk_"),
        "{created}"
    );
    ok(
        dir,
        &["service", "create", "--name", "checkout", "--team", "payments", "--depends-on", "ledger"],
        &envs,
    );
    ok(dir, &["service", "edit", "checkout", "--description", "takes card payments", "--team", "web"], &envs);
    let shown = ok(dir, &["service", "show", "checkout"], &envs);
    assert!(shown.contains("owner:        web") && shown.contains("depends on:   ledger"), "{shown}");
    assert!(shown.contains("takes card payments"), "{shown}");
    let shown = ok(dir, &["service", "show", "ledger"], &envs);
    assert!(
        shown.contains("systemctl restart ledger")
            && shown.contains("Dashboard <https://grafana.example/d/1>"),
        "{shown}"
    );
    let refused = fails(dir, &["service", "delete", "ledger"], &envs);
    assert!(refused.contains("services checkout depend on it") && refused.contains("HTTP 409"), "{refused}");
    let refused = fails(dir, &["team", "delete", "web"], &envs);
    assert!(refused.contains("services checkout belong to it"), "{refused}");
    let bad =
        fails(dir, &["service", "create", "--name", "x", "--team", "payments", "--link", "no-equals"], &envs);
    assert!(bad.contains("is not TITLE=URL"), "{bad}");

    // People: edited, contact methods edited, notification rules added and removed.
    ok(dir, &["user", "create", "--name", "Ana", "--email", "ana@example.com"], &envs);
    ok(dir, &["user", "create", "--name", "Bo", "--email", "bo@example.com"], &envs);
    let edited =
        ok(dir, &["user", "edit", "Bo", "--email", "bo@example.org", "--time-zone", "Europe/Lisbon"], &envs);
    assert!(edited.contains("bo@example.org") && edited.contains("Europe/Lisbon"), "{edited}");
    ok(dir, &["user", "contact", "add", "Bo", "--type", "sms", "--address", "+15551230002"], &envs);
    ok(
        dir,
        &[
            "user",
            "contact",
            "add",
            "Bo",
            "--type",
            "ntfy",
            "--address",
            "https://ntfy.example/bo-pages",
            "--ntfy-token",
            "tk_secret",
        ],
        &envs,
    );
    let edited = ok(dir, &["user", "contact", "edit", "Bo", "1", "--address", "+15551230009"], &envs);
    assert!(edited.contains("+15551230009"), "{edited}");
    let invalid = fails(dir, &["user", "contact", "edit", "Bo", "1", "--address", "555-1234"], &envs);
    assert!(invalid.contains("HTTP 422"), "{invalid}");
    let rule = ok(dir, &["user", "rule", "add", "Bo", "--contact", "2", "--delay", "0"], &envs);
    assert!(rule.contains("high") && rule.contains("0 min"), "{rule}");
    ok(dir, &["user", "rule", "add", "Bo", "--contact", "1", "--delay", "2"], &envs);
    let rules = ok(dir, &["user", "rule", "list", "Bo"], &envs);
    assert_eq!(rules.lines().count(), 3, "{rules}");
    ok(dir, &["user", "rule", "remove", "Bo", "1"], &envs);
    let rules = ok(dir, &["user", "rule", "list", "Bo"], &envs);
    assert_eq!(rules.lines().count(), 2, "{rules}");

    // Incidents: reassigned, acknowledged and snoozed.
    ok(dir, &["incident", "declare", "--service", "checkout", "--title", "slow"], &envs);
    let reassigned = ok(dir, &["incident", "reassign", "1", "Bo"], &envs);
    assert!(reassigned.contains("Bo"), "{reassigned}");
    let refused = fails(dir, &["incident", "snooze", "1"], &envs);
    assert!(refused.contains("cannot snooze an incident that is triggered"), "{refused}");
    ok(dir, &["incident", "ack", "1"], &envs);
    let snoozed = ok(dir, &["incident", "snooze", "1", "--minutes", "30"], &envs);
    assert!(snoozed.contains("snoozed"), "{snoozed}");
    ok(dir, &["incident", "resolve", "1"], &envs);

    // Deleted once nothing uses them; the deleted person's incident still names them.
    ok(dir, &["service", "delete", "checkout"], &envs);
    ok(dir, &["service", "delete", "ledger"], &envs);
    ok(dir, &["team", "delete", "web"], &envs);
    ok(dir, &["user", "delete", "Bo"], &envs);
    let users = ok(dir, &["user", "list"], &envs);
    assert!(!users.contains("Bo"), "{users}");
    let services = ok(dir, &["service", "list"], &envs);
    assert!(!services.contains("checkout"), "{services}");
    let missing = fails(dir, &["user", "delete", "Bo"], &envs);
    assert!(missing.contains("there is no user") && missing.contains("HTTP 404"), "{missing}");
    drop(server);
}
