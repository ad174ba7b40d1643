//! Markdown for GitHub (job summaries, review comments) and Azure DevOps (PR
//! threads, build summaries), where text from templates must stay text: a
//! cluster named `@org/admins` must not notify a team, and one named
//! `[click](https://evil.example)` or `<img src=x>` must not become a link or
//! HTML.

/// Escapes text from templates (or any text we did not write) for use inside
/// a Markdown paragraph or table cell: every ASCII punctuation character that
/// Markdown could read as markup is backslash-escaped, `&` becomes `&amp;`,
/// line breaks become spaces, and mentions (`@name`), issue references
/// (`#123`) and bare URLs are broken with a zero-width space so they render as
/// written but link nowhere.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' | '\n' => out.push(' '),
            '&' => out.push_str("&amp;"),
            // Mentions and team mentions: `@` followed by a name.
            '@' => out.push_str("@\u{200B}"),
            // Issue and pull-request references: `#` followed by a digit.
            '#' => {
                out.push_str("\\#");
                if chars.peek().is_some_and(char::is_ascii_digit) {
                    out.push('\u{200B}');
                }
            }
            // Autolinks: `scheme://` and `www.`.
            ':' if text_follows(&mut chars, "//") => out.push_str(":\u{200B}"),
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '+' | '-' | '.' | '!'
            | '|' | '<' | '>' | '~' | '"' | '\'' | '=' | '$' | '%' | '^' | ',' | ';' | '/'
            | '?' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
        if c.eq_ignore_ascii_case(&'w')
            && chars.peek() == Some(&'.')
            && out.to_ascii_lowercase().ends_with("www")
        {
            out.push('\u{200B}');
        }
    }
    out
}

/// True when the next characters are `s` (without consuming them).
fn text_follows(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, s: &str) -> bool {
    let rest: String = chars.clone().take(s.len()).collect();
    rest == s
}

/// Shows text as an inline code span, safely: Markdown reads nothing inside
/// a code span (no mention, link or HTML), and the fence is one backtick
/// longer than any run of backticks in the text, so it cannot be closed early.
pub fn code(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let longest_run = one_line
        .split(|c| c != '`')
        .map(str::len)
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    // A space inside the fence keeps a leading or trailing backtick apart.
    format!("{fence} {one_line} {fence}")
}

/// A fenced code block whose fence cannot be closed by the content.
pub fn code_block(language: &str, text: &str) -> String {
    let longest_run = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat((longest_run + 1).max(3));
    let body = text.trim_end_matches('\n');
    format!("{fence}{language}\n{body}\n{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_references_and_links_are_broken() {
        let e = escape("@org/admins see #12 at https://evil.example or www.evil.example");
        assert!(!e.contains("@org"), "{e}");
        assert!(e.contains("@\u{200B}org"), "{e}");
        assert!(e.contains("\\#\u{200B}12"), "{e}");
        assert!(!e.contains("://"), "{e}");
        assert!(!e.contains("www."), "{e}");
    }

    #[test]
    fn markup_and_html_are_escaped() {
        assert_eq!(escape("[x](y)"), "\\[x\\]\\(y\\)");
        assert_eq!(escape("<img src=x>"), "\\<img src\\=x\\>");
        assert_eq!(escape("a|b\nc"), "a\\|b c");
        assert_eq!(escape("&lt;"), "&amp;lt\\;");
        assert_eq!(escape("**bold** `code`"), "\\*\\*bold\\*\\* \\`code\\`");
    }

    #[test]
    fn plain_names_stay_readable() {
        assert_eq!(escape("aks prod 1"), "aks prod 1");
    }

    #[test]
    fn code_spans_cannot_be_closed_early() {
        assert_eq!(code("aks"), "` aks `");
        assert_eq!(code("a`b"), "`` a`b ``");
        assert_eq!(code("x\ny"), "` x y `");
        assert_eq!(code_block("json", "```\n"), "````json\n```\n````");
    }
}
