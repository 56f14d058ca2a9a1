//! Java: empty and comment-only catch blocks, catch blocks that only print the stack trace or log
//! below warning, broad catches that neither rethrow nor report, and a swallowed
//! `InterruptedException`.

use tree_sitter::Node;

use super::Match;
use crate::syntax::{self, Hits, text};

pub(super) const QUERY: &str = r#"
(catch_clause
  (catch_formal_parameter (catch_type) @types name: (_) @name)
  body: (block) @body) @handler
"#;

const CALLS: &[&str] = &["method_invocation"];

pub(super) fn check(m: &Match<'_>, source: &str, hits: &mut Hits) {
    let (Some(handler), Some(types), Some(name), Some(body)) =
        (m.get("handler"), m.get("types"), m.get("name"), m.get("body"))
    else {
        return;
    };
    let mut cursor = types.walk();
    let types: Vec<&str> =
        types.named_children(&mut cursor).map(|t| syntax::last_segment(text(t, source))).collect();
    let name = text(name, source);
    let statements = syntax::statements(body);
    let calls = syntax::called_names(body, CALLS, source);
    let throws = syntax::contains_kind(body, &["throw_statement"]);

    let pattern = if types.contains(&"InterruptedException") && !throws && !calls.contains(&"interrupt") {
        "java.interrupted-swallowed"
    } else if statements.is_empty() {
        if syntax::has_comment(body) { "java.comment-only-catch" } else { "java.empty-catch" }
    } else if statements
        .iter()
        .all(|s| invocation(*s, source).is_some_and(|(_, method)| method == "printStackTrace"))
    {
        "java.print-stack-trace-only"
    } else if statements.iter().all(|s| {
        invocation(*s, source).is_some_and(|(_, method)| {
            matches!(method, "debug" | "trace" | "info" | "fine" | "finer" | "finest" | "config")
        })
    }) {
        "java.catch-log-low"
    } else if types.iter().any(|t| matches!(*t, "Exception" | "Throwable"))
        && !throws
        && !calls.iter().any(|c| syntax::reports(c))
        && !syntax::mentions(body, name, source)
    {
        "java.broad-catch-unreported"
    } else {
        return;
    };
    hits.add(pattern, handler, source);
}

/// The object and method of a statement that is only a method call.
fn invocation<'s>(statement: Node<'_>, source: &'s str) -> Option<(&'s str, &'s str)> {
    let call = statement
        .named_child(0)
        .filter(|c| statement.kind() == "expression_statement" && c.kind() == "method_invocation")?;
    let object = call.child_by_field_name("object").map_or("", |o| text(o, source));
    Some((object, text(call.child_by_field_name("name")?, source)))
}
