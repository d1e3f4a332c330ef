//! Text panels: the panel's Markdown as HTML that Vigil writes itself, tag by tag, from
//! pulldown-cmark's events, so that nothing the author wrote passes as HTML: raw HTML shows
//! as text, and links and images keep only http(s) and relative addresses (no `javascript:`).

use leptos::prelude::*;
use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use vigil_shared::dashboard::Panel;

/// Text for HTML, as content or inside a quoted attribute.
fn escape(text: &str, html: &mut String) {
    for c in text.chars() {
        match c {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#39;"),
            c => html.push(c),
        }
    }
}

/// Whether an address is safe to follow: http(s), or relative (no scheme). Browsers ignore
/// tabs, line breaks and control characters in a scheme (`java\tscript:`), so they are
/// ignored here too before the scheme is read.
fn safe_url(url: &str) -> bool {
    let cleaned: String = url
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect();
    match cleaned.find([':', '/', '?', '#']) {
        Some(at) if cleaned[at..].starts_with(':') => {
            matches!(
                cleaned[..at].to_ascii_lowercase().as_str(),
                "http" | "https"
            )
        }
        _ => true,
    }
}

fn heading(level: HeadingLevel) -> &'static str {
    match level {
        HeadingLevel::H1 => "h1",
        HeadingLevel::H2 => "h2",
        HeadingLevel::H3 => "h3",
        HeadingLevel::H4 => "h4",
        HeadingLevel::H5 => "h5",
        HeadingLevel::H6 => "h6",
    }
}

/// Markdown (CommonMark with tables, strikethrough and task lists) as safe HTML.
pub fn markdown_html(markdown: &str) -> String {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    // Whether each open link was written (its address was safe).
    let mut links: Vec<bool> = Vec::new();
    // An image being read: its address (if safe) and its alt text so far.
    let mut image: Option<(Option<String>, String)> = None;
    let mut in_head = false;
    let mut body_open = false;
    for event in Parser::new_ext(markdown, options) {
        if let Some((_, alt)) = image.as_mut() {
            match event {
                Event::End(TagEnd::Image) => {
                    let (src, alt) = image.take().unwrap_or_default();
                    match src {
                        Some(src) => {
                            html.push_str("<img src=\"");
                            escape(&src, &mut html);
                            html.push_str("\" alt=\"");
                            escape(&alt, &mut html);
                            html.push_str("\">");
                        }
                        None => escape(&alt, &mut html),
                    }
                }
                Event::Text(text) | Event::Code(text) => alt.push_str(&text),
                _ => {}
            }
            continue;
        }
        match event {
            Event::Start(tag) => match tag {
                Tag::Paragraph | Tag::HtmlBlock => html.push_str("<p>"),
                Tag::Heading { level, .. } => {
                    html.push('<');
                    html.push_str(heading(level));
                    html.push('>');
                }
                Tag::BlockQuote(_) => html.push_str("<blockquote>"),
                Tag::CodeBlock(_) => html.push_str("<pre><code>"),
                Tag::List(Some(start)) => html.push_str(&format!("<ol start=\"{start}\">")),
                Tag::List(None) => html.push_str("<ul>"),
                Tag::Item => html.push_str("<li>"),
                Tag::Table(_) => {
                    html.push_str("<table class=\"table\">");
                    body_open = false;
                }
                Tag::TableHead => {
                    html.push_str("<thead><tr>");
                    in_head = true;
                }
                Tag::TableRow => {
                    if !body_open {
                        html.push_str("<tbody>");
                        body_open = true;
                    }
                    html.push_str("<tr>");
                }
                Tag::TableCell => html.push_str(if in_head { "<th>" } else { "<td>" }),
                Tag::Emphasis => html.push_str("<em>"),
                Tag::Strong => html.push_str("<strong>"),
                Tag::Strikethrough => html.push_str("<del>"),
                Tag::Link {
                    dest_url, title, ..
                } => {
                    let safe = safe_url(&dest_url);
                    if safe {
                        html.push_str("<a href=\"");
                        escape(&dest_url, &mut html);
                        html.push('"');
                        if !title.is_empty() {
                            html.push_str(" title=\"");
                            escape(&title, &mut html);
                            html.push('"');
                        }
                        if dest_url.contains(':') {
                            html.push_str(" target=\"_blank\" rel=\"noopener noreferrer\"");
                        }
                        html.push('>');
                    }
                    links.push(safe);
                }
                Tag::Image { dest_url, .. } => {
                    let src = safe_url(&dest_url).then(|| dest_url.to_string());
                    image = Some((src, String::new()));
                }
                _ => {}
            },
            Event::End(tag) => match tag {
                TagEnd::Paragraph | TagEnd::HtmlBlock => html.push_str("</p>"),
                TagEnd::Heading(level) => {
                    html.push_str("</");
                    html.push_str(heading(level));
                    html.push('>');
                }
                TagEnd::BlockQuote(_) => html.push_str("</blockquote>"),
                TagEnd::CodeBlock => html.push_str("</code></pre>"),
                TagEnd::List(true) => html.push_str("</ol>"),
                TagEnd::List(false) => html.push_str("</ul>"),
                TagEnd::Item => html.push_str("</li>"),
                TagEnd::Table => {
                    if body_open {
                        html.push_str("</tbody>");
                    }
                    html.push_str("</table>");
                }
                TagEnd::TableHead => {
                    html.push_str("</tr></thead>");
                    in_head = false;
                }
                TagEnd::TableRow => html.push_str("</tr>"),
                TagEnd::TableCell => html.push_str(if in_head { "</th>" } else { "</td>" }),
                TagEnd::Emphasis => html.push_str("</em>"),
                TagEnd::Strong => html.push_str("</strong>"),
                TagEnd::Strikethrough => html.push_str("</del>"),
                TagEnd::Link if links.pop() == Some(true) => html.push_str("</a>"),
                _ => {}
            },
            // Raw HTML is shown as the text it is.
            Event::Text(text) | Event::Html(text) | Event::InlineHtml(text) => {
                escape(&text, &mut html)
            }
            Event::Code(code) => {
                html.push_str("<code>");
                escape(&code, &mut html);
                html.push_str("</code>");
            }
            Event::SoftBreak => html.push('\n'),
            Event::HardBreak => html.push_str("<br>"),
            Event::Rule => html.push_str("<hr>"),
            Event::TaskListMarker(done) => html.push_str(if done { "☑ " } else { "☐ " }),
            _ => {}
        }
    }
    html
}

#[component]
pub(super) fn TextPanel(panel: Signal<Panel>, height: Signal<u32>) -> impl IntoView {
    let html = Memo::new(move |_| panel.with(|panel| markdown_html(&panel.text)));
    view! {
        <div
            class="panel-body panel-text"
            style:max-height=move || format!("{}px", height.get())
            inner_html=move || html.get()
        ></div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_html() {
        let html = markdown_html(
            "# Title\n\nSome *emphasis*, **strong** and `code`.\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        );
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(html.contains("<em>emphasis</em>"), "{html}");
        assert!(html.contains("<strong>strong</strong>"), "{html}");
        assert!(html.contains("<code>code</code>"), "{html}");
        assert!(html.contains("<ul><li>one</li><li>two</li></ul>"), "{html}");
        assert!(
            html.contains("<thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>1</td><td>2</td></tr></tbody>"),
            "{html}"
        );
    }

    #[test]
    fn script_tags_do_not_pass() {
        let html =
            markdown_html("<script>alert(1)</script>\n\nand inline <script>alert(2)</script>");
        assert!(!html.contains("<script"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
    }

    #[test]
    fn image_handlers_do_not_pass() {
        for markdown in [
            "<img src=x onerror=alert(1)>",
            "text <img src=x onerror=alert(1)> text",
            "![x\" onerror=\"alert(1)](x.png)",
        ] {
            let html = markdown_html(markdown);
            assert!(!html.contains("<img src=x"), "{html}");
            assert!(!html.contains("\" onerror"), "{html}");
        }
    }

    #[test]
    fn javascript_links_do_not_pass() {
        for markdown in [
            "[x](javascript:alert(1))",
            "[x](JavaScript:alert(1))",
            "[x](<java\tscript:alert(1)>)",
            "[x](&#106;avascript:alert(1))",
            "<javascript:alert(1)>",
            "![x](javascript:alert(1))",
            "[x](data:text/html,<script>alert(1)</script>)",
        ] {
            let html = markdown_html(markdown);
            assert!(!html.contains("href"), "{markdown}: {html}");
            assert!(!html.contains("src="), "{markdown}: {html}");
        }
    }

    #[test]
    fn safe_links_and_images_pass() {
        let html = markdown_html(
            "[docs](https://example.com/a?b=1&c=2 \"The docs\") and [alerts](/alerts)",
        );
        assert!(
            html.contains("<a href=\"https://example.com/a?b=1&amp;c=2\" title=\"The docs\" target=\"_blank\" rel=\"noopener noreferrer\">docs</a>"),
            "{html}"
        );
        assert!(html.contains("<a href=\"/alerts\">alerts</a>"), "{html}");
        let html = markdown_html("![logo *big*](/static/logo.png)");
        assert!(
            html.contains("<img src=\"/static/logo.png\" alt=\"logo big\">"),
            "{html}"
        );
    }
}
