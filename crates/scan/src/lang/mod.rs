//! The patterns of each language: a tree-sitter query finds the candidates, and Rust checks what
//! the query cannot say (what a handler's body does, whether a variable is read).

mod csharp;
mod go;
mod java;
mod javascript;
mod python;
mod rust;

use tree_sitter::{Node, Parser, Query, QueryCursor, StreamingIterator};

use crate::Language;
use crate::syntax::{self, Hits};

/// The captures of one query match, by name.
pub(super) struct Match<'t> {
    captures: Vec<(&'t str, Node<'t>)>,
}

impl<'t> Match<'t> {
    /// The node captured as `name`.
    pub(super) fn get(&self, name: &str) -> Option<Node<'t>> {
        self.captures.iter().find(|(n, _)| *n == name).map(|(_, node)| *node)
    }
}

type Check = fn(&Match<'_>, &str, &mut Hits);

/// A grammar with its compiled query.
struct Grammar {
    parser: Parser,
    query: Query,
    names: Vec<String>,
}

impl Grammar {
    fn new(language: tree_sitter::Language, query: &str) -> Grammar {
        let mut parser = Parser::new();
        parser.set_language(&language).expect("the grammars are compatible with the tree-sitter version");
        let query = Query::new(&language, query).unwrap_or_else(|err| panic!("invalid query: {err}"));
        let names = query.capture_names().iter().map(|n| (*n).to_owned()).collect();
        Grammar { parser, query, names }
    }
}

/// Checks the files of one language.
pub(crate) struct Checker {
    grammar: Grammar,
    /// TypeScript's TSX dialect, which has a grammar of its own.
    tsx: Option<Grammar>,
    check: Check,
}

impl Checker {
    pub(crate) fn new(language: Language) -> Checker {
        let (grammar, tsx, check): (tree_sitter::Language, Option<tree_sitter::Language>, Check) =
            match language {
                Language::Python => (tree_sitter_python::LANGUAGE.into(), None, python::check),
                Language::JavaScript => {
                    (tree_sitter_javascript::LANGUAGE.into(), None, javascript::check_javascript)
                }
                Language::TypeScript => (
                    tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
                    Some(tree_sitter_typescript::LANGUAGE_TSX.into()),
                    javascript::check_typescript,
                ),
                Language::Java => (tree_sitter_java::LANGUAGE.into(), None, java::check),
                Language::Go => (tree_sitter_go::LANGUAGE.into(), None, go::check),
                Language::Rust => (tree_sitter_rust::LANGUAGE.into(), None, rust::check),
                Language::CSharp => (tree_sitter_c_sharp::LANGUAGE.into(), None, csharp::check),
            };
        let query = match language {
            Language::Python => python::QUERY,
            Language::JavaScript | Language::TypeScript => javascript::QUERY,
            Language::Java => java::QUERY,
            Language::Go => go::QUERY,
            Language::Rust => rust::QUERY,
            Language::CSharp => csharp::QUERY,
        };
        Checker { grammar: Grammar::new(grammar, query), tsx: tsx.map(|tsx| Grammar::new(tsx, query)), check }
    }

    /// The hits and comments of one source file; `tsx` picks TypeScript's TSX grammar.
    pub(crate) fn check(&mut self, source: &str, tsx: bool) -> Hits {
        let grammar = match (&mut self.tsx, tsx) {
            (Some(tsx), true) => tsx,
            _ => &mut self.grammar,
        };
        let mut hits = Hits::default();
        let Some(tree) = grammar.parser.parse(source, None) else {
            return hits;
        };
        let root = tree.root_node();
        let mut cursor = QueryCursor::new();
        let mut matches = cursor.matches(&grammar.query, root, source.as_bytes());
        while let Some(m) = matches.next() {
            let found = Match {
                captures: m
                    .captures
                    .iter()
                    .map(|c| (grammar.names[c.index as usize].as_str(), c.node))
                    .collect(),
            };
            (self.check)(&found, source, &mut hits);
        }
        hits.comments = syntax::comments(root, source);
        hits
    }
}
