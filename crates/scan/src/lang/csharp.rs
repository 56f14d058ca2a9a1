//! C#: empty and comment-only catch blocks, catch blocks that only write to the console or log
//! below warning, and broad catches that neither rethrow nor report.

use tree_sitter::Node;

use super::Match;
use crate::syntax::{self, Hits, text};

pub(super) const QUERY: &str = r#"
(catch_clause body: (block) @body) @handler
"#;

const CALLS: &[&str] = &["invocation_expression"];

pub(super) fn check(m: &Match<'_>, source: &str, hits: &mut Hits) {
    let (Some(handler), Some(body)) = (m.get("handler"), m.get("body")) else {
        return;
    };
    let declaration = named_child_of_kind(handler, "catch_declaration");
    let catch_type = declaration
        .and_then(|d| d.child_by_field_name("type"))
        .map(|t| syntax::last_segment(text(t, source)));
    let name = declaration.and_then(|d| d.child_by_field_name("name")).map(|n| text(n, source));
    let statements = syntax::statements(body);
    let calls = syntax::called_names(body, CALLS, source);

    let pattern = if statements.is_empty() {
        if syntax::has_comment(body) { "csharp.comment-only-catch" } else { "csharp.empty-catch" }
    } else if statements.iter().all(|s| {
        invocation(*s, source).is_some_and(|(object, method)| {
            matches!(syntax::last_segment(object), "Console" | "Debug" | "Trace")
                && matches!(method, "WriteLine" | "Write" | "Print" | "TraceInformation")
        })
    }) {
        "csharp.catch-console-only"
    } else if statements.iter().all(|s| {
        invocation(*s, source).is_some_and(|(_, method)| {
            matches!(
                method,
                "LogDebug"
                    | "LogTrace"
                    | "LogInformation"
                    | "Debug"
                    | "Trace"
                    | "Info"
                    | "Information"
                    | "Verbose"
            )
        })
    }) {
        "csharp.catch-log-low"
    } else if catch_type.is_none_or(|t| matches!(t, "Exception" | "SystemException"))
        && !syntax::contains_kind(body, &["throw_statement", "throw_expression"])
        && !calls.iter().any(|c| syntax::reports(c))
        && !name.is_some_and(|name| syntax::mentions(body, name, source))
    {
        "csharp.broad-catch-unreported"
    } else {
        return;
    };
    hits.add(pattern, handler, source);
}

fn named_child_of_kind<'t>(node: Node<'t>, kind: &str) -> Option<Node<'t>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).find(|c| c.kind() == kind)
}

/// The object and method of a statement that is only a method call, such as `Console.WriteLine(e)`.
fn invocation<'s>(statement: Node<'_>, source: &'s str) -> Option<(&'s str, &'s str)> {
    let call = statement
        .named_child(0)
        .filter(|c| statement.kind() == "expression_statement" && c.kind() == "invocation_expression")?;
    let function = call.child_by_field_name("function")?;
    if function.kind() == "member_access_expression" {
        let object = function.child_by_field_name("expression").map_or("", |o| text(o, source));
        let name = function.child_by_field_name("name").map_or("", |n| syntax::last_segment(text(n, source)));
        Some((object, name))
    } else {
        Some(("", syntax::last_segment(text(function, source))))
    }
}
