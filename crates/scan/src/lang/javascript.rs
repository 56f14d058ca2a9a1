//! JavaScript and TypeScript: empty and comment-only catch blocks, catch blocks that only write to
//! the console, and promise rejection handlers that do nothing or resolve to null.

use tree_sitter::Node;

use super::Match;
use crate::syntax::{self, Hits, text};

pub(super) const QUERY: &str = r#"
(catch_clause body: (statement_block) @body) @handler

(call_expression
  function: (member_expression property: (property_identifier) @method)
  arguments: (arguments) @args
  (#any-of? @method "catch" "then")) @call
"#;

pub(super) fn check_javascript(m: &Match<'_>, source: &str, hits: &mut Hits) {
    check(m, source, hits, Ids::JAVASCRIPT);
}

pub(super) fn check_typescript(m: &Match<'_>, source: &str, hits: &mut Hits) {
    check(m, source, hits, Ids::TYPESCRIPT);
}

/// The pattern ids of one of the two languages.
struct Ids {
    empty_catch: &'static str,
    comment_only: &'static str,
    console_only: &'static str,
    promise_empty: &'static str,
    promise_null: &'static str,
    then_empty: &'static str,
}

impl Ids {
    const JAVASCRIPT: Ids = Ids {
        empty_catch: "javascript.empty-catch",
        comment_only: "javascript.comment-only-catch",
        console_only: "javascript.catch-console-only",
        promise_empty: "javascript.promise-catch-empty",
        promise_null: "javascript.promise-catch-null",
        then_empty: "javascript.promise-then-empty-rejection",
    };
    const TYPESCRIPT: Ids = Ids {
        empty_catch: "typescript.empty-catch",
        comment_only: "typescript.comment-only-catch",
        console_only: "typescript.catch-console-only",
        promise_empty: "typescript.promise-catch-empty",
        promise_null: "typescript.promise-catch-null",
        then_empty: "typescript.promise-then-empty-rejection",
    };
}

fn check(m: &Match<'_>, source: &str, hits: &mut Hits, ids: Ids) {
    if let (Some(handler), Some(body)) = (m.get("handler"), m.get("body")) {
        let statements = syntax::statements(body);
        if statements.is_empty() {
            let pattern = if syntax::has_comment(body) { ids.comment_only } else { ids.empty_catch };
            hits.add(pattern, handler, source);
        } else if statements.iter().all(|s| console_call(*s, source)) {
            hits.add(ids.console_only, handler, source);
        }
    } else if let (Some(call), Some(method), Some(args)) = (m.get("call"), m.get("method"), m.get("args")) {
        let mut cursor = args.walk();
        let args: Vec<Node<'_>> =
            args.named_children(&mut cursor).filter(|a| !syntax::is_comment(*a)).collect();
        match (text(method, source), args.as_slice()) {
            ("catch", [handler]) => match handler_kind(*handler, source) {
                Some(Handler::Empty) => hits.add(ids.promise_empty, call, source),
                Some(Handler::Null) => hits.add(ids.promise_null, call, source),
                None => {}
            },
            ("then", [_, handler]) if matches!(handler_kind(*handler, source), Some(Handler::Empty)) => {
                hits.add(ids.then_empty, call, source)
            }
            _ => {}
        }
    }
}

enum Handler {
    Empty,
    Null,
}

/// What a rejection handler does, when it does nothing or resolves to null.
fn handler_kind(handler: Node<'_>, source: &str) -> Option<Handler> {
    if !matches!(handler.kind(), "arrow_function" | "function_expression" | "function") {
        return None;
    }
    let body = handler.child_by_field_name("body")?;
    if body.kind() == "statement_block" {
        let statements = syntax::statements(body);
        return match statements.as_slice() {
            [] => Some(Handler::Empty),
            [only] if only.kind() == "return_statement" => match only.named_child(0) {
                None => Some(Handler::Null),
                Some(value) if nullish(value, source) => Some(Handler::Null),
                Some(_) => None,
            },
            _ => None,
        };
    }
    nullish(body, source).then_some(Handler::Null)
}

fn nullish(value: Node<'_>, source: &str) -> bool {
    matches!(value.kind(), "null" | "undefined") || matches!(text(value, source), "undefined" | "void 0")
}

/// Whether `statement` is a call such as `console.log(...)`, `console.debug(...)`.
fn console_call(statement: Node<'_>, source: &str) -> bool {
    if statement.kind() != "expression_statement" {
        return false;
    }
    let Some(call) = statement.named_child(0).filter(|c| c.kind() == "call_expression") else {
        return false;
    };
    let Some(function) = call.child_by_field_name("function").filter(|f| f.kind() == "member_expression")
    else {
        return false;
    };
    let object = function.child_by_field_name("object").map(|o| text(o, source));
    let property = function.child_by_field_name("property").map(|p| text(p, source));
    object == Some("console") && matches!(property, Some("log" | "debug" | "info" | "trace"))
}
