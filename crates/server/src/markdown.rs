//! Markdown to HTML for service documentation and runbooks.
//!
//! Raw HTML in the source is shown as text, not passed through, and links are kept only with
//! the scheme http, https or mailto, or as a path on this server or a fragment: a runbook must
//! not be able to run script in a responder's browser, and a link that looks local must not
//! lead to another host (`//evil.example`, or `/\evil.example`, which browsers read alike).

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, html};

/// Renders `source` as HTML that is safe to embed in a page.
pub(crate) fn render(source: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let events = Parser::new_ext(source, options).map(|event| match event {
        Event::Html(text) | Event::InlineHtml(text) => Event::Text(text),
        Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
            Event::Start(Tag::Link { link_type, dest_url: safe_url(dest_url), title, id })
        }
        Event::Start(Tag::Image { link_type, dest_url, title, id }) => {
            Event::Start(Tag::Image { link_type, dest_url: safe_url(dest_url), title, id })
        }
        other => other,
    });
    let mut out = String::new();
    html::push_html(&mut out, events);
    out
}

fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    // Read the URL as a browser does: leading and trailing controls and spaces stripped, tabs
    // and newlines anywhere removed, backslashes taken for slashes.
    let seen: String = url
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .map(|c| if c == '\\' { '/' } else { c.to_ascii_lowercase() })
        .collect();
    let allowed = if let Some(path) = seen.strip_prefix('/') {
        !path.starts_with('/')
    } else {
        ["http://", "https://", "mailto:", "#"].iter().any(|prefix| seen.starts_with(prefix))
            || !seen.contains(':')
    };
    if allowed { url } else { CowStr::Borrowed("#") }
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn renders_safely() {
        assert_eq!(render("# Title\n\n*x*"), "<h1>Title</h1>\n<p><em>x</em></p>\n");
        assert_eq!(render("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
        assert_eq!(render("[a](javascript:alert(1))"), "<p><a href=\"#\">a</a></p>\n");
        assert_eq!(render("[a](https://x.dev/)"), "<p><a href=\"https://x.dev/\">a</a></p>\n");
        assert_eq!(render("[a](/services/3)"), "<p><a href=\"/services/3\">a</a></p>\n");
        assert_eq!(render("[a](docs/run.md#db)"), "<p><a href=\"docs/run.md#db\">a</a></p>\n");
        assert_eq!(render("[a](#db)"), "<p><a href=\"#db\">a</a></p>\n");
    }

    #[test]
    fn links_that_look_local_cannot_lead_to_another_host() {
        for source in [
            "[a](//evil.example)",
            "[a](//evil.example/path)",
            "[a](/\\evil.example)",
            r"[a](\\\\evil.example)",
            "[a](<\t//evil.example>)",
            "[a](</\t/evil.example>)",
            "![i](//evil.example/x.png)",
            "[a]: //evil.example\n\n[a]",
            "<//evil.example>",
            "[a](<java\tscript:alert(1)>)",
        ] {
            let html = render(source);
            assert!(
                !html.contains("evil.example\"") && !html.contains("script:"),
                "{source:?} rendered {html:?}"
            );
        }
    }
}
