//! Markdown to HTML for service documentation and runbooks.
//!
//! Raw HTML in the source is shown as text, not passed through, and links with a scheme other
//! than http, https or mailto (or a relative link) are dropped: a runbook must not be able to run
//! script in a responder's browser.

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
    let lower = url.trim().to_ascii_lowercase();
    let allowed = ["http://", "https://", "mailto:", "/", "#"].iter().any(|prefix| lower.starts_with(prefix))
        || !lower.contains(':');
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
    }
}
