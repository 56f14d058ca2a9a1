//! Python: handlers that pass, continue or log at debug; bare and broad handlers that neither
//! re-raise nor report; `contextlib.suppress(Exception)`.

use tree_sitter::Node;

use super::Match;
use crate::syntax::{self, Hits, text};

pub(super) const QUERY: &str = r#"
(except_clause) @handler

(call
  function: [(identifier) @name (attribute attribute: (identifier) @name)]
  arguments: (argument_list) @args
  (#eq? @name "suppress")) @suppress
"#;

/// Exceptions that are routinely and safely ignored: optional imports, the end of an iteration.
const EXPECTED: &[&str] =
    &["ImportError", "ModuleNotFoundError", "StopIteration", "StopAsyncIteration", "GeneratorExit"];
const BROAD: &[&str] = &["Exception", "BaseException"];
const CALLS: &[&str] = &["call"];

pub(super) fn check(m: &Match<'_>, source: &str, hits: &mut Hits) {
    if let Some(handler) = m.get("handler") {
        if let Some(pattern) = handler_pattern(handler, source) {
            hits.add(pattern, handler, source);
        }
    } else if let (Some(call), Some(args)) = (m.get("suppress"), m.get("args")) {
        let mut cursor = args.walk();
        let broad = args
            .named_children(&mut cursor)
            .any(|arg| BROAD.contains(&syntax::last_segment(text(arg, source))));
        if broad {
            hits.add("python.suppress-broad", call, source);
        }
    }
}

fn handler_pattern(handler: Node<'_>, source: &str) -> Option<&'static str> {
    let mut types = Vec::new();
    let mut alias = handler.child_by_field_name("alias").map(|a| text(a, source));
    let mut cursor = handler.walk();
    for value in handler.children_by_field_name("value", &mut cursor) {
        let value = if value.kind() == "as_pattern" {
            alias = value.named_child(1).map(|a| text(a, source));
            value.named_child(0).unwrap_or(value)
        } else {
            value
        };
        if value.kind() == "tuple" || value.kind() == "parenthesized_expression" {
            let mut inner = value.walk();
            types.extend(value.named_children(&mut inner).map(|t| syntax::last_segment(text(t, source))));
        } else {
            types.push(syntax::last_segment(text(value, source)));
        }
    }
    let bare = types.is_empty();
    let broad = bare || types.iter().any(|t| BROAD.contains(t));
    let mut cursor = handler.walk();
    let block = handler.named_children(&mut cursor).filter(|c| c.kind() == "block").last()?;
    let body = syntax::statements(block);
    let only = |test: &dyn Fn(Node<'_>) -> bool| body.iter().all(|s| test(*s));
    let is_pass = |s: Node<'_>| {
        s.kind() == "pass_statement"
            || (s.kind() == "expression_statement" && text(s, source).trim() == "...")
    };

    if only(&is_pass) {
        return if broad {
            Some("python.broad-except-pass")
        } else if types.iter().all(|t| EXPECTED.contains(t)) {
            None
        } else {
            Some("python.except-pass")
        };
    }
    if broad && only(&|s| is_pass(s) || s.kind() == "continue_statement") {
        return Some("python.except-continue");
    }
    if only(&|s| is_pass(s) || low_log(s, source)) {
        return Some("python.except-log-low");
    }
    if syntax::contains_kind(block, &["raise_statement"]) {
        return None;
    }
    if bare {
        return Some("python.bare-except");
    }
    let reported = syntax::called_names(block, CALLS, source).iter().any(|name| syntax::reports(name));
    let uses_alias = alias.is_some_and(|alias| syntax::mentions(block, alias, source));
    if broad && !reported && !uses_alias {
        return Some("python.broad-except-unreported");
    }
    None
}

/// Whether `statement` is a call such as `logger.debug(...)` or `logging.info(...)`.
fn low_log(statement: Node<'_>, source: &str) -> bool {
    let Some(call) =
        statement.named_child(0).filter(|c| statement.kind() == "expression_statement" && c.kind() == "call")
    else {
        return false;
    };
    let Some(function) = call.child_by_field_name("function").filter(|f| f.kind() == "attribute") else {
        return false;
    };
    function.child_by_field_name("attribute").is_some_and(|a| matches!(text(a, source), "debug" | "info"))
}
