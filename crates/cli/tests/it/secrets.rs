//! Database passwords never reach the terminal or the log, in any form a URL can hold them.

use crate::support::run;

#[test]
fn database_passwords_are_redacted_in_every_url_form() {
    let dir = tempfile::tempdir().unwrap();
    // An unknown role on the test server, and an unsupported scheme: both fail at once, with
    // the URL in the message.
    for url in [
        "postgres://fb:p@ss@127.0.0.1:5432/nowhere?application_name=fb",
        "postgres://fb@127.0.0.1:5432/nowhere?password=hunter2",
        "postgres://fb:hunter2@127.0.0.1:5432/nowhere?sslmode=disable&password=hunter2",
        "mysql://fb:hunter2@127.0.0.1/nowhere",
    ] {
        for args in [
            &["token", "create", "--name", "x", "--database", url][..],
            &["migrate", "--database", url],
            &["serve", "--listen", "127.0.0.1:0", "--database", url],
        ] {
            let output = run(dir.path(), args, &[]);
            let stderr = String::from_utf8_lossy(&output.stderr);
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(!output.status.success(), "{args:?} succeeded: {stdout}");
            assert!(stderr.contains("***"), "{args:?}: the message names the database: {stderr}");
            for secret in ["hunter2", "ss@"] {
                assert!(
                    !stderr.contains(secret) && !stdout.contains(secret),
                    "{args:?} shows {secret:?}: {stderr}"
                );
            }
        }
    }
}
