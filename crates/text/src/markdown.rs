//! Markdown of knowledge-base articles rendered safely: raw HTML is shown as text (a `<script>`
//! or `<iframe>` in an article is inert), links keep only http(s), mailto and site-relative
//! targets, images become links. The output is safe to insert into a page as is.

use pulldown_cmark::{CowStr, Event, LinkType, Options, Parser, Tag, TagEnd, html};

fn safe_url(url: &str) -> bool {
    let u = url.trim().to_ascii_lowercase();
    u.starts_with("https://")
        || u.starts_with("http://")
        || u.starts_with("mailto:")
        || (u.starts_with('/') && !u.starts_with("//"))
        || u.starts_with('#')
}

/// HTML of `markdown`, safe to embed.
pub fn to_html(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        // Raw HTML becomes visible text, escaped by the renderer.
        Event::Html(s) | Event::InlineHtml(s) => Event::Text(s),
        Event::Start(Tag::Link { link_type, dest_url, title, id }) if !safe_url(&dest_url) => {
            Event::Start(Tag::Link { link_type, dest_url: CowStr::from("#"), title, id })
        }
        Event::Start(Tag::Image { dest_url, title, id, .. }) => {
            let dest_url = if safe_url(&dest_url) { dest_url } else { CowStr::from("#") };
            Event::Start(Tag::Link { link_type: LinkType::Inline, dest_url, title, id })
        }
        Event::End(TagEnd::Image) => Event::End(TagEnd::Link),
        e => e,
    });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

/// `s` with the five HTML-special characters escaped, for text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The plain text of `markdown` (for the search index and snippets).
pub fn to_text(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    for event in Parser::new(markdown) {
        match event {
            Event::Text(s) | Event::Code(s) | Event::Html(s) | Event::InlineHtml(s) => out.push_str(&s),
            Event::SoftBreak | Event::HardBreak | Event::End(_) if !out.ends_with(['\n', ' ']) => out.push(' '),
            _ => {}
        }
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_iframes_and_handlers_are_inert() {
        let html = to_html(
            "# Title\n\n<script>alert(1)</script>\n\nText <iframe src=\"https://evil\"></iframe> and <img src=x onerror=alert(1)>",
        );
        assert!(!html.contains("<script") && !html.contains("<iframe") && !html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;") && html.contains("<h1>Title</h1>"), "{html}");
    }

    #[test]
    fn only_safe_link_targets_remain() {
        let html = to_html(
            "[a](javascript:alert(1)) [b](https://thaw.example/x) [c](/security) [d](data:text/html,x) ![e](https://img.example/e.png)",
        );
        assert!(!html.contains("javascript:") && !html.contains("data:"), "{html}");
        assert!(html.contains("href=\"https://thaw.example/x\"") && html.contains("href=\"/security\""));
        assert!(html.contains("href=\"https://img.example/e.png\"") && !html.contains("<img"), "{html}");
    }

    #[test]
    fn plain_text_for_the_index() {
        assert_eq!(to_text("## Steps\n\n1. Open **Security**\n2. Press `Freeze`"), "Steps Open Security Press Freeze");
    }
}
