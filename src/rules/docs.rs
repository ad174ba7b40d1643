//! The rules' documentation in every shape it is shown: the Markdown in
//! `src/rules/docs/` (SARIF `help.markdown`, `explain --format markdown`), a
//! plain-text rendering of it for terminals and SARIF `help.text`, and the
//! generated pages in `docs/rules/`.
//!
//! The Markdown files hold the prose; a rule's level, PSRule ref and security
//! severity come from its [`Rule`] constant and are added here, so they are
//! written in one place only.

use std::fmt::Write as _;
use std::path::PathBuf;

use anstyle::{AnsiColor, Style};

use super::{Rule, RULES};

/// Where the generated pages live, relative to the repository root.
pub const PAGES_DIR: &str = "docs/rules";
/// The command that regenerates [`PAGES_DIR`], run from the repository root.
pub const REGENERATE: &str = "cargo run -- rules --write-docs docs/rules";

const PSRULE_PAGE: &str =
    "https://azure.github.io/PSRule.Rules.Azure/en/rules/Azure.AKS.AuthorizedIPs/";
const AKS_ARTICLE: &str = "https://learn.microsoft.com/azure/aks/api-server-authorized-ip-ranges";

/// The page a reader is sent to for more: PSRule's page for the rule PSRule
/// also has, the AKS article for the others. SARIF uses the same choice.
/// The first code example under `### {heading}` in a rule's documentation:
/// the fix shown with a finding, for the kind of file the user edits.
pub fn example(rule: &Rule, heading: &str) -> Option<&'static str> {
    let doc = rule.help_markdown;
    let title = format!("### {heading}");
    let section = doc.find(&title).map(|at| &doc[at + title.len()..])?;
    // Stop at the next heading: the example must belong to this section.
    let section = section.find("\n#").map_or(section, |end| &section[..end]);
    let open = section.find("```")?;
    let body = &section[open + 3..];
    let body = &body[body.find('\n')? + 1..];
    let close = body.find("```")?;
    Some(body[..close].trim_end())
}

pub fn help_uri(rule: &Rule) -> &'static str {
    if rule.reference.is_some() {
        PSRULE_PAGE
    } else {
        AKS_ARTICLE
    }
}

/// Finds a rule by id, PSRule ref (`AZR-000030`) or SARIF name
/// (`AuthorizedIPsBroad`), all case-insensitively.
pub fn lookup(query: &str) -> Option<&'static Rule> {
    let query = query.trim();
    RULES.iter().copied().find(|r| {
        r.id.eq_ignore_ascii_case(query)
            || r.name.eq_ignore_ascii_case(query)
            || r.reference.is_some_and(|re| re.eq_ignore_ascii_case(query))
    })
}

/// The rule's facts as a Markdown table: level, PSRule ref where there is
/// one, security severity.
fn facts_table(rule: &Rule) -> String {
    let level = rule.level.as_str();
    let severity = rule.security_severity;
    match rule.reference {
        Some(reference) => format!(
            "| Level | PSRule ref | Security severity |\n\
             | ----- | ---------- | ----------------- |\n\
             | {level} | {reference} | {severity} |\n"
        ),
        None => format!(
            "| Level | Security severity |\n\
             | ----- | ----------------- |\n\
             | {level} | {severity} |\n"
        ),
    }
}

/// Splits a doc into its first line (the `# ` title) and the rest.
fn split_title(markdown: &str) -> (&str, &str) {
    match markdown.split_once('\n') {
        Some((title, rest)) => (title, rest.trim_start_matches('\n')),
        None => (markdown, ""),
    }
}

/// The full Markdown of a rule: its title, its facts, then the doc.
pub fn markdown(rule: &Rule) -> String {
    let (title, body) = split_title(rule.help_markdown);
    format!("{title}\n\n{}\n{body}", facts_table(rule))
}

/// The generated page for one rule: [`markdown`] with a note, under the
/// title, saying where it comes from and how to regenerate it.
pub fn page(rule: &Rule) -> String {
    let (title, body) = split_title(rule.help_markdown);
    format!(
        "{title}\n\n\
         <!-- Generated file: do not edit. -->\n\
         > Generated from [`src/rules/docs/{id}.md`](../../src/rules/docs/{id}.md); edit that \
         file, then run `{REGENERATE}`.\n\n\
         {}\n{body}",
        facts_table(rule),
        id = rule.id,
    )
}

/// The index page: one row per rule.
pub fn index_page() -> String {
    let mut out = String::from(
        "# Rules\n\n\
         <!-- Generated file: do not edit. -->\n",
    );
    let _ = writeln!(
        out,
        "> Generated from `src/rules/mod.rs` and `src/rules/docs/`; run `{REGENERATE}` to \
         regenerate.\n"
    );
    out.push_str(
        "`aks-authorized-ips rules` prints this list; `aks-authorized-ips explain RULE` prints \
         a rule's page in the terminal.\n\n",
    );
    out.push_str("| Rule | Level | PSRule ref | What it reports |\n");
    out.push_str("| ---- | ----- | ---------- | --------------- |\n");
    for rule in RULES {
        let _ = writeln!(
            out,
            "| [`{id}`]({id}.md) | {} | {} | {} |",
            rule.level.as_str(),
            rule.reference.unwrap_or(""),
            rule.short_description.replace('|', "\\|"),
            id = rule.id,
        );
    }
    out
}

/// Every generated page, as (path relative to [`PAGES_DIR`], contents).
pub fn generate_pages() -> Vec<(PathBuf, String)> {
    let mut pages: Vec<(PathBuf, String)> = RULES
        .iter()
        .map(|r| (PathBuf::from(format!("{}.md", r.id)), page(r)))
        .collect();
    pages.push((PathBuf::from("README.md"), index_page()));
    pages
}

/// The rule's documentation as plain text, without colour: SARIF `help.text`.
pub fn plain_text(rule: &Rule) -> String {
    render_terminal(&markdown(rule), false)
}

/// Renders the Markdown our docs use for a terminal: headings underlined
/// (bold when `styled`), code blocks indented, tables aligned, links as
/// `text <url>`. Inline code keeps its backticks unless `styled`, where it
/// is coloured instead. Not a general Markdown renderer: it knows the subset
/// that `src/rules/docs/` is written in.
pub fn render_terminal(markdown: &str, styled: bool) -> String {
    let heading = if styled {
        Style::new().bold().underline()
    } else {
        Style::new()
    };
    let code_block = if styled {
        AnsiColor::Cyan.on_default()
    } else {
        Style::new()
    };
    let mut out = String::new();
    let mut in_code = false;
    let mut table: Vec<Vec<String>> = Vec::new();
    let mut last_blank = true;

    let mut push_line = |out: &mut String, line: &str| {
        let blank = line.trim().is_empty();
        if blank && last_blank {
            return;
        }
        last_blank = blank;
        out.push_str(line.trim_end());
        out.push('\n');
    };

    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            let painted = paint(code_block, line);
            push_line(&mut out, &format!("    {painted}"));
            continue;
        }
        if line.trim_start().starts_with('|') {
            let cells: Vec<String> = line
                .trim()
                .trim_matches('|')
                .split('|')
                .map(|c| inline(c.trim(), styled))
                .collect();
            let separator = cells
                .iter()
                .all(|c| !c.is_empty() && c.chars().all(|ch| ch == '-' || ch == ':'));
            if !separator {
                table.push(cells);
            }
            continue;
        }
        if !table.is_empty() {
            for row in render_table(&std::mem::take(&mut table)) {
                push_line(&mut out, &row);
            }
        }
        if line.trim_start().starts_with("<!--") {
            continue;
        }
        if let Some((level, text)) = heading_of(line) {
            let text = inline(text, false);
            let underline = match level {
                1 => Some('='),
                2 => Some('-'),
                _ => None,
            };
            push_line(&mut out, "");
            push_line(&mut out, &paint(heading, &text));
            if let Some(ch) = underline.filter(|_| !styled) {
                push_line(&mut out, &ch.to_string().repeat(text.chars().count()));
            }
            push_line(&mut out, "");
            continue;
        }
        let line = line.strip_prefix("> ").unwrap_or(line);
        push_line(&mut out, &inline(line, styled));
    }
    if !table.is_empty() {
        for row in render_table(&table) {
            push_line(&mut out, &row);
        }
    }
    let trimmed = out.trim_matches('\n');
    format!("{trimmed}\n")
}

fn heading_of(line: &str) -> Option<(usize, &str)> {
    let hashes = line.bytes().take_while(|&b| b == b'#').count();
    if (1..=6).contains(&hashes) && line[hashes..].starts_with(' ') {
        Some((hashes, line[hashes..].trim()))
    } else {
        None
    }
}

fn paint(style: Style, text: &str) -> String {
    if style == Style::new() || text.is_empty() {
        text.to_string()
    } else {
        format!("{}{text}{}", style.render(), style.render_reset())
    }
}

/// Rows with columns padded to the widest cell, two spaces apart. Widths
/// count the visible text, so styled cells line up too.
fn render_table(rows: &[Vec<String>]) -> Vec<String> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| visible_width(cell))
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                line.push_str(cell);
                if c + 1 < row.len() {
                    let pad = widths[c] - visible_width(cell) + 2;
                    line.push_str(&" ".repeat(pad));
                }
            }
            line
        })
        .collect()
}

/// Characters shown, not counting ANSI escape sequences.
fn visible_width(text: &str) -> usize {
    let mut width = 0;
    let mut in_escape = false;
    for ch in text.chars() {
        match (in_escape, ch) {
            (false, '\u{1b}') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => width += 1,
        }
    }
    width
}

/// Inline Markdown: `[text](url)` becomes `text <url>`; `**bold**` loses its
/// stars (bold when styled); `code` is coloured when styled.
fn inline(text: &str, styled: bool) -> String {
    let code = AnsiColor::Cyan.on_default();
    let bold = Style::new().bold();
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(['`', '[', '*']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix('`') {
            if let Some(end) = after.find('`') {
                let span = &after[..end];
                if styled {
                    out.push_str(&paint(code, span));
                } else {
                    out.push('`');
                    out.push_str(span);
                    out.push('`');
                }
                rest = &after[end + 1..];
                continue;
            }
        } else if let Some(after) = tail.strip_prefix("**") {
            if let Some(end) = after.find("**") {
                let span = &after[..end];
                out.push_str(&if styled {
                    paint(bold, span)
                } else {
                    span.to_string()
                });
                rest = &after[end + 2..];
                continue;
            }
        } else if let Some(after) = tail.strip_prefix('[') {
            if let Some((label, url, consumed)) = link(after) {
                out.push_str(&inline(label, styled));
                out.push_str(" <");
                out.push_str(url);
                out.push('>');
                rest = &after[consumed..];
                continue;
            }
        }
        // Not markup after all: keep the character.
        let ch = tail.chars().next().unwrap_or(' ');
        out.push(ch);
        rest = &tail[ch.len_utf8()..];
    }
    out.push_str(rest);
    out
}

/// After a `[`: the label, the URL and how many bytes `label](url)` took.
fn link(after: &str) -> Option<(&str, &str, usize)> {
    let close = after.find("](")?;
    let label = &after[..close];
    let url_start = close + 2;
    let url_len = after[url_start..].find(')')?;
    let url = &after[url_start..url_start + url_len];
    Some((label, url, url_start + url_len + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_rules_by_id_ref_and_name() {
        let id = |q: &str| lookup(q).map(|r| r.id);
        assert_eq!(
            id("azure.aks.authorizedips.broad"),
            Some("Azure.AKS.AuthorizedIPs.Broad")
        );
        assert_eq!(id("azr-000030"), Some("Azure.AKS.AuthorizedIPs"));
        assert_eq!(
            id("AuthorizedIPsBroad"),
            Some("Azure.AKS.AuthorizedIPs.Broad")
        );
        assert_eq!(id("Broad"), None);
    }

    #[test]
    fn renders_markdown_plainly() {
        let md = "# Title\n\nSome `code` and [a link](https://example.com).\n\n\
                  | A | Bee |\n| - | --- |\n| long cell | b |\n\n\
                  ## Part\n\n```json\n{\"a\": 1}\n```\n";
        let text = render_terminal(md, false);
        assert_eq!(
            text,
            "Title\n=====\n\nSome `code` and a link <https://example.com>.\n\n\
             A          Bee\nlong cell  b\n\nPart\n----\n\n    {\"a\": 1}\n"
        );
    }

    #[test]
    fn styled_rendering_uses_escapes_and_no_underline_rows() {
        let text = render_terminal("# Title\n\nSome `code`.\n", true);
        assert!(text.contains('\u{1b}'), "{text:?}");
        assert!(!text.contains("====="), "{text:?}");
        assert!(!text.contains('`'), "{text:?}");
    }

    #[test]
    fn plain_text_has_no_markdown_noise() {
        for rule in RULES {
            let text = plain_text(rule);
            assert!(!text.contains("```"), "{}", rule.id);
            assert!(!text.contains("](http"), "{}", rule.id);
            assert!(!text.contains("\n#"), "{}", rule.id);
            assert!(text.starts_with(rule.id), "{}", rule.id);
        }
    }

    #[test]
    fn sources_leave_the_facts_to_the_rule_constants() {
        for rule in RULES {
            assert!(
                rule.help_markdown.starts_with(&format!("# {}", rule.id)),
                "{} must start with `# {}`",
                rule.id,
                rule.id
            );
            assert!(
                !rule.help_markdown.contains("| Level"),
                "{}: the level table is generated from the rule constant",
                rule.id
            );
        }
    }

    #[test]
    fn every_rule_has_an_arm_and_a_bicep_example() {
        for rule in crate::rules::RULES {
            let arm = example(rule, "Azure template (ARM JSON)").expect(rule.id);
            let bicep = example(rule, "Bicep").expect(rule.id);
            assert!(!arm.is_empty() && !arm.contains("```"), "{}", rule.id);
            assert!(!bicep.is_empty() && !bicep.contains("```"), "{}", rule.id);
            assert_ne!(arm, bicep, "{}", rule.id);
        }
    }
}
