//! Go: results discarded with `_`, empty `if err != nil` blocks, `return nil` in an
//! `if err != nil` block, and `err` assigned but never read.

use tree_sitter::Node;

use super::Match;
use crate::syntax::{self, Hits, text};

pub(super) const QUERY: &str = r#"
(assignment_statement
  left: (expression_list . (identifier) @blank .)
  right: (expression_list . (call_expression) .)
  (#eq? @blank "_")) @blank_assign

([(short_var_declaration
    left: (expression_list (_) (identifier) @last .)
    right: (expression_list . (call_expression function: (_) @callee) .))
  (assignment_statement
    left: (expression_list (_) (identifier) @last .)
    right: (expression_list . (call_expression function: (_) @callee) .))]
  (#eq? @last "_")) @blank_last

(if_statement
  condition: (binary_expression left: (identifier) @err operator: "!=" right: (nil))
  consequence: (block) @body
  (#eq? @err "err")) @err_check

([(short_var_declaration left: (expression_list (identifier) @assigned))
  (assignment_statement left: (expression_list (identifier) @assigned))]
  (#eq? @assigned "err")) @err_assign
"#;

/// Functions whose last result is a flag or a size, not an error.
const NOT_ERRORS: &[&str] = &[
    "LookupEnv",
    "Load",
    "LoadOrStore",
    "LoadAndDelete",
    "DecodeRune",
    "DecodeRuneInString",
    "DecodeLastRune",
    "DecodeLastRuneInString",
    "Cut",
    "CutPrefix",
    "CutSuffix",
    "Caller",
    "ReadRune",
    "Get",
    "Lookup",
    "Deadline",
    "Value",
];

pub(super) fn check(m: &Match<'_>, source: &str, hits: &mut Hits) {
    if let Some(statement) = m.get("blank_assign") {
        hits.add("go.blank-assign-call", statement, source);
    } else if let (Some(statement), Some(callee)) = (m.get("blank_last"), m.get("callee")) {
        if !NOT_ERRORS.contains(&syntax::last_segment(text(callee, source))) {
            hits.add("go.blank-error-result", statement, source);
        }
    } else if let (Some(statement), Some(body)) = (m.get("err_check"), m.get("body")) {
        let statements = syntax::statements(body);
        if statements.is_empty() {
            if statement.child_by_field_name("alternative").is_none() {
                hits.add("go.empty-err-check", statement, source);
            }
        } else if let [only] = statements.as_slice()
            && only.kind() == "return_statement"
            && returns_nil_last(*only, source)
        {
            hits.add("go.err-return-nil", statement, source);
        }
    } else if let (Some(statement), Some(assigned)) = (m.get("err_assign"), m.get("assigned"))
        && never_read(statement, assigned, source)
    {
        hits.add("go.err-unread", statement, source);
    }
}

/// Whether a return statement's last value is `nil`.
fn returns_nil_last(statement: Node<'_>, source: &str) -> bool {
    let Some(list) = statement.named_child(0) else {
        return false;
    };
    let last = if list.kind() == "expression_list" {
        list.named_child(list.named_child_count().saturating_sub(1))
    } else {
        Some(list)
    };
    last.is_some_and(|last| last.kind() == "nil" || text(last, source) == "nil")
}

/// Whether the `err` assigned by `statement` is never read: the next mention of `err` in the
/// function is another assignment to it, or there is none. Gives up (says it is read) on named
/// results, closures mentioning `err`, and assignments inside loops that read `err` elsewhere.
fn never_read(statement: Node<'_>, assigned: Node<'_>, source: &str) -> bool {
    let Some(function) = ancestor(statement, &["function_declaration", "method_declaration", "func_literal"])
    else {
        return false;
    };
    if let Some(result) = function.child_by_field_name("result")
        && syntax::mentions(result, "err", source)
    {
        return false;
    }
    let Some(body) = function.child_by_field_name("body") else {
        return false;
    };
    // `err = ...` in a closure that does not declare `err` sets a captured variable, which the
    // enclosing function may read after the closure runs.
    if function.kind() == "func_literal"
        && statement.kind() == "assignment_statement"
        && !syntax::any_descendant(body, &mut |n| {
            matches!(n.kind(), "short_var_declaration" | "var_spec")
                && n.named_child(0).is_some_and(|names| {
                    syntax::mentions(names, "err", source) || text(names, source) == "err"
                })
        })
    {
        return false;
    }
    let mut mentions = Vec::new();
    collect_err(body, source, &mut mentions);
    if mentions.iter().any(|n| {
        n.id() != assigned.id() && ancestor(*n, &["func_literal"]).is_some_and(|f| f.id() != function.id())
    }) {
        return false;
    }
    if let Some(for_statement) = ancestor(statement, &["for_statement"])
        && function.start_byte() < for_statement.start_byte()
        && mentions.iter().any(|n| n.id() != assigned.id() && is_inside(*n, for_statement) && !is_write(*n))
    {
        return false;
    }
    let after = mentions.iter().find(|n| n.start_byte() >= statement.end_byte());
    match after {
        None => true,
        // A write in another branch (`if ... { err = a() } else { err = b() }`) is no overwrite.
        Some(next) if statement.parent().is_some_and(|block| !is_inside(*next, block)) => false,
        Some(next) if is_write(*next) => {
            let writer = next.parent().and_then(|p| p.parent());
            !writer
                .and_then(|w| w.child_by_field_name("right"))
                .is_some_and(|r| syntax::mentions(r, "err", source))
        }
        Some(_) => false,
    }
}

fn collect_err<'t>(node: Node<'t>, source: &str, out: &mut Vec<Node<'t>>) {
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        if child.kind() == "identifier" && text(child, source) == "err" {
            out.push(child);
        } else {
            collect_err(child, source, out);
        }
    }
}

/// Whether the identifier is on the left of an assignment or short declaration.
fn is_write(identifier: Node<'_>) -> bool {
    let Some(list) = identifier.parent().filter(|p| p.kind() == "expression_list") else {
        return false;
    };
    let Some(statement) =
        list.parent().filter(|s| matches!(s.kind(), "assignment_statement" | "short_var_declaration"))
    else {
        return false;
    };
    statement.child_by_field_name("left").is_some_and(|left| left.id() == list.id())
}

fn ancestor<'t>(node: Node<'t>, kinds: &[&str]) -> Option<Node<'t>> {
    let mut current = node.parent();
    while let Some(n) = current {
        if kinds.contains(&n.kind()) {
            return Some(n);
        }
        current = n.parent();
    }
    None
}

fn is_inside(node: Node<'_>, outer: Node<'_>) -> bool {
    outer.start_byte() <= node.start_byte() && node.end_byte() <= outer.end_byte()
}
