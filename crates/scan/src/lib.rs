//! Finds swallowed errors in source code: empty catch and except blocks, handlers that only pass,
//! continue or log below warning, broad handlers that neither re-raise nor report, Go's discarded
//! `err`, Rust's discarded `Result`s, JavaScript's no-op promise rejection handlers.
//!
//! Every file is parsed with its language's tree-sitter grammar and the patterns are tree-sitter
//! queries, with the conditions a query cannot say checked on the syntax tree. The crate is pure:
//! it reads files and returns a [`Report`]; [`render`] turns the report into a table, JSON or
//! SARIF 2.1.0.

mod lang;
pub mod render;
mod rules;
mod syntax;

use std::path::{Path, PathBuf};

use anyhow::Context;

pub use rules::{RULES, Rule, rule};

/// The comment that accepts a finding on its own line or the line after it.
pub const SUPPRESSION: &str = "firebreak: allow-swallow";

/// A language the scanner reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    /// Python (`.py`, `.pyi`).
    Python,
    /// JavaScript (`.js`, `.mjs`, `.cjs`, `.jsx`).
    JavaScript,
    /// TypeScript (`.ts`, `.mts`, `.cts`, `.tsx`).
    TypeScript,
    /// Java (`.java`).
    Java,
    /// Go (`.go`).
    Go,
    /// Rust (`.rs`).
    Rust,
    /// C# (`.cs`).
    CSharp,
}

impl Language {
    /// The language of a file, from its name; `None` for files the scanner does not read.
    pub fn of(path: &Path) -> Option<Language> {
        let name = path.file_name()?.to_str()?;
        if name.ends_with(".min.js") {
            return None;
        }
        Some(match path.extension()?.to_str()? {
            "py" | "pyi" => Language::Python,
            "js" | "mjs" | "cjs" | "jsx" => Language::JavaScript,
            "ts" | "mts" | "cts" | "tsx" => Language::TypeScript,
            "java" => Language::Java,
            "go" => Language::Go,
            "rs" => Language::Rust,
            "cs" => Language::CSharp,
            _ => return None,
        })
    }

    /// The lowercase name, also the prefix of the language's pattern ids.
    pub fn name(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::JavaScript => "javascript",
            Language::TypeScript => "typescript",
            Language::Java => "java",
            Language::Go => "go",
            Language::Rust => "rust",
            Language::CSharp => "csharp",
        }
    }
}

/// One swallowed error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The file, relative to the scanned root (the file's name when a single file was scanned).
    pub file: PathBuf,
    /// 1-based line of the start of the offending code.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The file's language.
    pub language: Language,
    /// The stable id of the pattern, such as `python.broad-except-pass`.
    pub pattern: &'static str,
    /// The offending code on one line, shortened.
    pub snippet: String,
    /// Why the pattern is dangerous, in one line.
    pub why: &'static str,
}

/// How to scan.
#[derive(Clone, Debug)]
pub struct Options {
    /// Files larger than this many bytes are skipped (and counted as skipped).
    pub max_file_size: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options { max_file_size: 2 * 1024 * 1024 }
    }
}

/// How far a scan has got, reported after each file.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Files done so far.
    pub done: usize,
    /// Files to read in all.
    pub total: usize,
}

/// What a scan found.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The findings not suppressed, by file, line and column.
    pub findings: Vec<Finding>,
    /// Findings accepted with a suppression comment.
    pub suppressed: usize,
    /// Source files parsed.
    pub files_scanned: usize,
    /// Source files skipped: unreadable, not UTF-8, binary, or over the size limit.
    pub skipped: usize,
}

/// Directories never entered, besides hidden ones and what `.gitignore` files exclude: dependencies
/// and built bundles.
const SKIPPED_DIRS: &[&str] =
    &["node_modules", "target", "vendor", "third_party", "bower_components", "dist"];

/// Scans every source file under `root` (or `root` itself when it is a file), calling `progress`
/// after each file.
pub fn scan_path(
    root: &Path,
    options: &Options,
    progress: &mut dyn FnMut(Progress),
) -> anyhow::Result<Report> {
    let metadata = std::fs::metadata(root).with_context(|| format!("reading {}", root.display()))?;
    let mut files = Vec::new();
    if metadata.is_file() {
        if let Some(language) = Language::of(root) {
            let name = root.file_name().map(PathBuf::from).unwrap_or_else(|| root.to_path_buf());
            files.push((root.to_path_buf(), name, language));
        }
    } else {
        let walk = ignore::WalkBuilder::new(root)
            .require_git(false)
            .filter_entry(|entry| {
                !(entry.file_type().is_some_and(|t| t.is_dir())
                    && entry.file_name().to_str().is_some_and(|name| SKIPPED_DIRS.contains(&name)))
            })
            .build();
        for entry in walk {
            let entry = entry.with_context(|| format!("walking {}", root.display()))?;
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            if let Some(language) = Language::of(entry.path()) {
                let relative = entry.path().strip_prefix(root).unwrap_or(entry.path()).to_path_buf();
                files.push((entry.path().to_path_buf(), relative, language));
            }
        }
    }
    files.sort_by(|a, b| a.1.cmp(&b.1));

    let mut scanner = Scanner::new();
    let mut report = Report::default();
    let total = files.len();
    for (done, (path, relative, language)) in files.into_iter().enumerate() {
        match read_source(&path, options.max_file_size) {
            Some(source) => {
                report.files_scanned += 1;
                let (findings, suppressed) = scanner.scan_source(language, &source, &relative);
                report.findings.extend(findings);
                report.suppressed += suppressed;
            }
            None => report.skipped += 1,
        }
        progress(Progress { done: done + 1, total });
    }
    Ok(report)
}

/// The file's text, or `None` when it is unreadable, too large, binary or not UTF-8.
fn read_source(path: &Path, max_file_size: u64) -> Option<String> {
    let size = std::fs::metadata(path).ok()?.len();
    if size > max_file_size {
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    if bytes.iter().take(8192).any(|&b| b == 0) {
        return None;
    }
    String::from_utf8(bytes).ok()
}

/// Scans one source text as if it were the file `file`: its findings and how many were suppressed.
pub fn scan_source(language: Language, source: &str, file: &Path) -> (Vec<Finding>, usize) {
    Scanner::new().scan_source(language, source, file)
}

/// Parsers and compiled queries, made once per language and reused for every file.
struct Scanner {
    checkers: Vec<(Language, lang::Checker)>,
}

impl Scanner {
    fn new() -> Self {
        Scanner { checkers: Vec::new() }
    }

    fn scan_source(&mut self, language: Language, source: &str, file: &Path) -> (Vec<Finding>, usize) {
        let index = match self.checkers.iter().position(|(l, _)| *l == language) {
            Some(index) => index,
            None => {
                self.checkers.push((language, lang::Checker::new(language)));
                self.checkers.len() - 1
            }
        };
        let tsx = file.extension().is_some_and(|e| e == "tsx");
        let hits = self.checkers[index].1.check(source, tsx);
        let allowed = syntax::suppression_lines(&hits.comments);
        let mut findings = Vec::new();
        let mut suppressed = 0;
        for hit in hits.hits {
            let line = hit.line;
            if allowed.contains(&line) || (line > 1 && allowed.contains(&(line - 1))) {
                suppressed += 1;
                continue;
            }
            debug_assert!(rule(hit.pattern).is_some(), "{} has no rule", hit.pattern);
            let Some(rule) = rule(hit.pattern) else { continue };
            findings.push(Finding {
                file: file.to_path_buf(),
                line,
                column: hit.column,
                language,
                pattern: rule.id,
                snippet: hit.snippet,
                why: rule.why,
            });
        }
        findings.sort_by_key(|f| (f.line, f.column, f.pattern));
        findings.dedup_by_key(|f| (f.line, f.column, f.pattern));
        (findings, suppressed)
    }
}
