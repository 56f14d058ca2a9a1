//! Helpers on tree-sitter syntax trees shared by the languages.

use std::collections::HashSet;

use tree_sitter::Node;

/// A pattern matched at a node, before suppression.
pub(crate) struct Hit {
    pub(crate) pattern: &'static str,
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) snippet: String,
}

/// What checking one file gives: hits, and the comments with their line ranges.
#[derive(Default)]
pub(crate) struct Hits {
    pub(crate) hits: Vec<Hit>,
    /// Each comment's text and its first and last 1-based lines.
    pub(crate) comments: Vec<(String, usize, usize)>,
}

impl Hits {
    pub(crate) fn add(&mut self, pattern: &'static str, node: Node<'_>, source: &str) {
        let start = node.start_position();
        let line_start = node.start_byte() - start.column;
        let column =
            source.get(line_start..node.start_byte()).map_or(start.column, |s| s.chars().count()) + 1;
        self.hits.push(Hit { pattern, line: start.row + 1, column, snippet: snippet(text(node, source)) });
    }
}

/// The lines carrying a suppression comment.
pub(crate) fn suppression_lines(comments: &[(String, usize, usize)]) -> HashSet<usize> {
    let mut lines = HashSet::new();
    for (text, first, last) in comments {
        if text.contains(crate::SUPPRESSION) {
            lines.extend(*first..=*last);
        }
    }
    lines
}

/// Every comment in the tree, for suppressions.
pub(crate) fn comments(root: Node<'_>, source: &str) -> Vec<(String, usize, usize)> {
    let mut found = Vec::new();
    let mut cursor = root.walk();
    loop {
        let node = cursor.node();
        if is_comment(node) {
            found.push((
                text(node, source).to_owned(),
                node.start_position().row + 1,
                node.end_position().row + 1,
            ));
        }
        if !is_comment(node) && cursor.goto_first_child() {
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return found;
            }
        }
    }
}

/// The source text of `node`.
pub(crate) fn text<'s>(node: Node<'_>, source: &'s str) -> &'s str {
    source.get(node.byte_range()).unwrap_or("")
}

/// `code` on one line, whitespace collapsed, at most 120 characters.
fn snippet(code: &str) -> String {
    let collapsed = code.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() > 120 {
        let mut short: String = collapsed.chars().take(119).collect();
        short.push('…');
        short
    } else {
        collapsed
    }
}

pub(crate) fn is_comment(node: Node<'_>) -> bool {
    node.kind().contains("comment")
}

/// The statements of a block, without comments and looking through Go's `statement_list`.
pub(crate) fn statements(block: Node<'_>) -> Vec<Node<'_>> {
    let mut out = Vec::new();
    let mut cursor = block.walk();
    for child in block.named_children(&mut cursor) {
        if is_comment(child) {
            continue;
        }
        if child.kind() == "statement_list" {
            out.extend(statements(child));
        } else if child.kind() != "empty_statement" {
            out.push(child);
        }
    }
    out
}

/// Whether the block holds a comment between its braces (some grammars attach a comment that
/// follows the closing brace to the block).
pub(crate) fn has_comment(block: Node<'_>) -> bool {
    let mut cursor = block.walk();
    let end = block
        .children(&mut cursor)
        .filter(|c| c.kind() == "}")
        .last()
        .map_or(block.end_byte(), |c| c.start_byte());
    block.named_children(&mut cursor).any(|child| {
        (is_comment(child) && child.end_byte() <= end)
            || (child.kind() == "statement_list" && has_comment(child))
    })
}

/// Whether `node` or any node under it is of one of `kinds`.
pub(crate) fn contains_kind(node: Node<'_>, kinds: &[&str]) -> bool {
    any_descendant(node, &mut |n| kinds.contains(&n.kind()))
}

/// Whether an identifier under `node` spells `name`.
pub(crate) fn mentions(node: Node<'_>, name: &str, source: &str) -> bool {
    any_descendant(node, &mut |n| n.kind() == "identifier" && text(n, source) == name)
}

/// Whether `test` holds for `node` or a node under it.
pub(crate) fn any_descendant(node: Node<'_>, test: &mut dyn FnMut(Node<'_>) -> bool) -> bool {
    let mut cursor = node.walk();
    loop {
        if test(cursor.node()) {
            return true;
        }
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.node() == node {
                return false;
            }
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return false;
            }
        }
    }
}

/// The names of the functions called under `node`: the last segment of each callee, for the
/// call node kinds given.
pub(crate) fn called_names<'s>(node: Node<'_>, call_kinds: &[&str], source: &'s str) -> Vec<&'s str> {
    let mut names = Vec::new();
    any_descendant(node, &mut |n| {
        if call_kinds.contains(&n.kind()) {
            let callee = n
                .child_by_field_name("function")
                .or_else(|| n.child_by_field_name("name"))
                .or_else(|| n.named_child(0));
            if let Some(callee) = callee {
                names.push(last_segment(text(callee, source)));
            }
        }
        false
    });
    names
}

/// The last identifier of a dotted or `::` path, without generic arguments.
pub(crate) fn last_segment(path: &str) -> &str {
    let path = path.split(['<', '(']).next().unwrap_or(path);
    path.rsplit(['.', ':']).next().unwrap_or(path).trim()
}

/// Whether a callee name says it reports, raises or ends: warn, error, fail, abort, exit...
pub(crate) fn reports(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "warn",
        "error",
        "exception",
        "critical",
        "fatal",
        "fail",
        "abort",
        "exit",
        "report",
        "capture",
        "alert",
        "notify",
        "panic",
        "throw",
        "raise",
        "reject",
        "severe",
    ]
    .iter()
    .any(|word| name.contains(word))
        || name == "log"
}
