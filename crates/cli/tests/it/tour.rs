//! The README's five-minute tour, run as a new user would run it: its shell block, with the
//! server's address and the receiver's port changed to free ones, against `firebreak serve` in a
//! fresh directory. It must end with the incident acknowledged by the person paged, from the link
//! in the page, and resolved.

use std::path::Path;
use std::process::Command;

use crate::support::{Server, binary, free_port};

/// The shell block under "A five-minute tour".
fn tour() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap();
    let start = readme.find("## A five-minute tour").expect("the README has a tour");
    let block = &readme[start..];
    let open = block.find("```sh\n").expect("the tour has a shell block") + "```sh\n".len();
    let close = block[open..].find("```").unwrap();
    block[open..open + close].to_owned()
}

#[tokio::test]
async fn the_readme_tour_works() {
    if Command::new("python3").arg("--version").output().is_err() {
        skipped_or_fail();
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), "sqlite:firebreak.db").await;
    let hook_port = free_port();
    let bin = binary().parent().unwrap().to_path_buf();
    let script = tour()
        .replace("$PWD/target/release", bin.to_str().unwrap())
        .replace("FIREBREAK_URL=http://127.0.0.1:8080", &format!("FIREBREAK_URL={}", server.url))
        .replace("127.0.0.1:9000", &format!("127.0.0.1:{hook_port}"))
        .replace("(\"127.0.0.1\", 9000)", &format!("(\"127.0.0.1\", {hook_port})"));
    assert!(!script.contains("8080") && !script.contains("9000"), "every address was replaced:\n{script}");
    // A tour that hangs (waiting for a page that never comes) fails after a minute.
    let output = Command::new("timeout")
        .args(["60", "bash", "-euo", "pipefail", "-c", &format!("{script}\nkill %1")])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the tour failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains(r#""severity":"SEV1""#), "the page was printed: {stdout}");
    assert!(stdout.contains("acknowledged"), "{stdout}");
    // The timeline, as `incident show` printed it: acknowledged by the person paged, then resolved.
    let acknowledged = stdout.lines().any(|line| line.contains("Ana") && line.contains("acknowledged"));
    assert!(acknowledged, "acknowledged by Ana from the page's link: {stdout}");
    assert!(stdout.contains("resolved"), "{stdout}");
    drop(server);
}

fn skipped_or_fail() {
    crate::support::skipped("the_readme_tour_works: skipped: python3 is not installed");
}
