//! Rust: `let _ =` on a call, `.ok();`, `unwrap_or_default()` on I/O, empty `if let Err` blocks and
//! `Err` arms, `.unwrap_or(())`.

use tree_sitter::Node;

use super::Match;
use crate::syntax::{self, Hits, text};

pub(super) const QUERY: &str = r#"
(let_declaration
  pattern: _ @pattern
  value: [(call_expression) (await_expression) (macro_invocation macro: (identifier) @macro)] @value
  (#eq? @pattern "_")) @let

(expression_statement
  (call_expression
    function: (field_expression field: (field_identifier) @method)
    arguments: (arguments) @args)
  (#eq? @method "ok")) @ok

(call_expression
  function: (field_expression value: (_) @receiver field: (field_identifier) @method)
  (#eq? @method "unwrap_or_default")) @default

(call_expression
  function: (field_expression field: (field_identifier) @method)
  arguments: (arguments . (unit_expression) .)
  (#eq? @method "unwrap_or")) @unit

(if_expression
  condition: (let_condition pattern: (tuple_struct_pattern type: (identifier) @ctor))
  consequence: (block) @body
  (#eq? @ctor "Err")) @if_let

(match_arm
  pattern: (match_pattern (tuple_struct_pattern type: (identifier) @ctor))
  value: (_) @value
  (#eq? @ctor "Err")) @arm
"#;

/// Functions whose failure is an I/O failure.
const IO: &[&str] = &[
    "read_to_string",
    "read",
    "read_dir",
    "read_link",
    "metadata",
    "symlink_metadata",
    "canonicalize",
    "current_dir",
    "open",
    "create",
    "var",
    "output",
    "read_line",
    "read_to_end",
];

pub(super) fn check(m: &Match<'_>, source: &str, hits: &mut Hits) {
    if let (Some(statement), Some(value)) = (m.get("let"), m.get("value")) {
        let is_call = match value.kind() {
            "macro_invocation" => {
                m.get("macro").is_some_and(|name| matches!(text(name, source), "write" | "writeln"))
            }
            "await_expression" => value.named_child(0).is_some_and(|inner| inner.kind() == "call_expression"),
            _ => true,
        };
        if is_call {
            hits.add("rust.let-underscore-result", statement, source);
        }
    } else if let (Some(statement), Some(args)) = (m.get("ok"), m.get("args")) {
        if args.named_child_count() == 0 {
            hits.add("rust.ok-discarded", statement, source);
        }
    } else if let (Some(call), Some(receiver)) = (m.get("default"), m.get("receiver")) {
        if io_call(receiver, source) {
            hits.add("rust.unwrap-or-default-io", call, source);
        }
    } else if let Some(call) = m.get("unit") {
        hits.add("rust.unwrap-or-unit", call, source);
    } else if let (Some(statement), Some(body)) = (m.get("if_let"), m.get("body")) {
        if syntax::statements(body).is_empty() && statement.child_by_field_name("alternative").is_none() {
            hits.add("rust.empty-if-let-err", statement, source);
        }
    } else if let (Some(arm), Some(value)) = (m.get("arm"), m.get("value"))
        && (value.kind() == "unit_expression"
            || (value.kind() == "block" && syntax::statements(value).is_empty()))
    {
        hits.add("rust.empty-err-arm", arm, source);
    }
}

/// Whether the receiver chain calls an I/O function, such as `fs::read_to_string(path)`.
fn io_call(receiver: Node<'_>, source: &str) -> bool {
    syntax::called_names(receiver, &["call_expression"], source).iter().any(|name| IO.contains(name))
}
