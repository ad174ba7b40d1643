//! Terminal output in cargo's style: the finding, `file:line:col`, the line
//! with the offending part underlined, then a per-cluster list and a summary.

use std::io::Write;

use anstyle::{AnsiColor, Style};

use crate::findings::{Fix, Level, Outcome, Report, Safety};

struct Palette {
    error: Style,
    warning: Style,
    note: Style,
    bold: Style,
    gutter: Style,
    pass: Style,
    unknown: Style,
    help: Style,
}

impl Palette {
    fn new(styled: bool) -> Self {
        if !styled {
            let plain = Style::new();
            return Palette {
                error: plain,
                warning: plain,
                note: plain,
                bold: plain,
                gutter: plain,
                pass: plain,
                unknown: plain,
                help: plain,
            };
        }
        Palette {
            error: AnsiColor::Red.on_default().bold(),
            warning: AnsiColor::Yellow.on_default().bold(),
            note: AnsiColor::Cyan.on_default().bold(),
            bold: Style::new().bold(),
            gutter: AnsiColor::Blue.on_default().bold(),
            pass: AnsiColor::Green.on_default().bold(),
            unknown: AnsiColor::Magenta.on_default().bold(),
            help: AnsiColor::Cyan.on_default().bold(),
        }
    }

    fn level(&self, level: Level) -> Style {
        match level {
            Level::Error => self.error,
            Level::Warning => self.warning,
            Level::Note => self.note,
        }
    }

    fn outcome(&self, outcome: Outcome) -> Style {
        match outcome {
            Outcome::Pass => self.pass,
            Outcome::Fail => self.error,
            Outcome::NotApplicable => self.bold,
            Outcome::Unknown => self.unknown,
        }
    }
}

/// Writes text with a style, resetting after it.
fn paint(style: Style, text: &str) -> String {
    if style == Style::new() {
        text.to_string()
    } else {
        format!("{}{text}{}", style.render(), style.render_reset())
    }
}

/// Control characters from templates must not reach the terminal as such.
fn clean(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| match c {
            '\t' => ' ',
            c if c.is_control() => '\u{fffd}',
            c => c,
        })
        .collect();
    break_logging_commands(&one_line)
}

/// The Azure Pipelines agent acts on `##vso[` anywhere in a line of output, in
/// any case; a zero-width space after `##` keeps template text from issuing
/// commands when the text report is on a pipeline's standard output.
pub(crate) fn break_logging_commands(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    if !lower.contains("##vso[") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    let mut rest_lower = lower.as_str();
    while let Some(at) = rest_lower.find("##vso[") {
        out.push_str(&rest[..at + 2]);
        out.push('\u{200B}');
        rest = &rest[at + 2..];
        rest_lower = &rest_lower[at + 2..];
    }
    out.push_str(rest);
    out
}

pub fn render(report: &Report, out: &mut dyn Write, styled: bool) -> std::io::Result<()> {
    let p = Palette::new(styled);

    for u in report.unique_findings() {
        let f = u.finding;
        let level = f.level.as_str();
        let suppressed = if f.suppression.is_some() {
            " (suppressed)"
        } else {
            ""
        };
        writeln!(
            out,
            "{}{suppressed}{} {}",
            paint(p.level(f.level), &format!("{level}[{}]", f.rule_id)),
            paint(p.bold, ":"),
            paint(p.bold, &clean(&f.message))
        )?;
        let line_no = f.region.start_line.to_string();
        let pad = " ".repeat(line_no.len());
        writeln!(
            out,
            "{pad}{} {}:{}:{}",
            paint(p.gutter, "-->"),
            clean(&f.region.file),
            f.region.start_line,
            f.region.start_column
        )?;
        let snippet = clean(&f.snippet);
        writeln!(out, "{pad} {}", paint(p.gutter, "|"))?;
        writeln!(
            out,
            "{} {} {snippet}",
            paint(p.gutter, &line_no),
            paint(p.gutter, "|")
        )?;
        let start = f.region.start_column.saturating_sub(1) as usize;
        let line_len = snippet.chars().count();
        let end = if f.region.end_line == f.region.start_line {
            (f.region.end_column.saturating_sub(1) as usize).min(line_len)
        } else {
            line_len
        };
        let width = end.saturating_sub(start).max(1);
        writeln!(
            out,
            "{pad} {} {}{}",
            paint(p.gutter, "|"),
            " ".repeat(start),
            paint(p.level(f.level), &"^".repeat(width))
        )?;
        if !u.parameter_files.is_empty() {
            writeln!(
                out,
                "{pad} {} evaluated with: {}",
                paint(p.gutter, "="),
                clean(&u.parameter_files.join(", "))
            )?;
        }
        if let Some(s) = &f.suppression {
            writeln!(
                out,
                "{pad} {} suppressed in {}: {}",
                paint(p.gutter, "="),
                s.source.describe(),
                clean(&s.justification)
            )?;
        }
        for r in &f.related {
            writeln!(
                out,
                "{pad} {} {}: {}:{}:{}",
                paint(p.gutter, "="),
                clean(&r.message),
                clean(&r.region.file),
                r.region.start_line,
                r.region.start_column
            )?;
        }
        match &f.fix {
            Some(fix) => render_fix(out, &p, fix, &f.region.file)?,
            None => render_example(out, &p, f.rule_id, u.resource.from_bicep, &pad)?,
        }
        writeln!(
            out,
            "{pad} {} more: aks-authorized-ips explain {}",
            paint(p.gutter, "="),
            f.rule_id
        )?;
        writeln!(out)?;
    }

    for e in &report.errors {
        let place = if e.line == 0 {
            clean(&e.file)
        } else {
            format!("{}:{}:{}", clean(&e.file), e.line, e.column)
        };
        writeln!(
            out,
            "{}{} {place}: {}",
            paint(p.error, "error"),
            paint(p.bold, ":"),
            clean(&e.message)
        )?;
    }
    for n in &report.notices {
        writeln!(
            out,
            "{}{} {}:{}:{}: {}",
            paint(p.note, "note"),
            paint(p.bold, ":"),
            clean(&n.file),
            n.line,
            n.column,
            clean(&n.message)
        )?;
    }
    if !report.errors.is_empty() || !report.notices.is_empty() {
        writeln!(out)?;
    }

    if !report.resources.is_empty() {
        writeln!(out, "{}", paint(p.bold, "Clusters:"))?;
        for r in &report.resources {
            let with = r
                .parameter_file
                .as_ref()
                .map(|p| format!(" with {}", clean(p)))
                .unwrap_or_default();
            // Pad before painting: escape codes would count as width.
            let outcome = format!("{:<14}", r.outcome.as_str());
            writeln!(
                out,
                "  {} {}:{}  {}{with}",
                paint(p.outcome(r.outcome), &outcome),
                clean(&r.file),
                r.line,
                clean(&r.name),
            )?;
            if let Some(reason) = &r.reason {
                writeln!(out, "  {:<14} {}", "", clean(reason))?;
            }
        }
        writeln!(out)?;
    }

    let counts = report.finding_counts();
    let count = |level: Level| counts.of(level);
    let suppressed = counts.suppressed;
    let s = &report.stats;
    let unlinked = if s.unlinked_parameter_files > 0 {
        format!(
            ", {} not linked to a scanned template",
            s.unlinked_parameter_files
        )
    } else {
        String::new()
    };
    writeln!(
        out,
        "{} {} read: {}, {}{unlinked}.",
        paint(p.bold, "Summary:"),
        plural(s.files_read, "file"),
        plural(s.templates, "template"),
        plural(s.parameter_files, "parameter file"),
    )?;
    writeln!(
        out,
        "  {}: {} pass, {} fail, {} not applicable, {} unknown.",
        plural(report.resources.len(), "cluster evaluation"),
        report.count_outcome(Outcome::Pass),
        report.count_outcome(Outcome::Fail),
        report.count_outcome(Outcome::NotApplicable),
        report.count_outcome(Outcome::Unknown),
    )?;
    writeln!(
        out,
        "  Findings: {}, {}, {}{}.",
        plural(count(Level::Error), "error"),
        plural(count(Level::Warning), "warning"),
        plural(count(Level::Note), "note"),
        if suppressed > 0 {
            format!(", {suppressed} suppressed")
        } else {
            String::new()
        }
    )?;
    if !report.errors.is_empty() || !report.notices.is_empty() {
        writeln!(
            out,
            "  Problems: {} (a file or path that could not be read, parsed or evaluated), {}.",
            plural(report.errors.len(), "error"),
            plural(report.notices.len(), "notice"),
        )?;
    }
    Ok(())
}

/// `help: …` and the changed lines, `-` before and `+` after.
/// A finding without an edit shows the fix from the rule's documentation,
/// in the language the user writes: Bicep when the template was compiled from
/// it, else ARM JSON.
fn render_example(
    out: &mut dyn Write,
    p: &Palette,
    rule_id: &str,
    bicep: bool,
    pad: &str,
) -> std::io::Result<()> {
    let Some(rule) = crate::rules::find(rule_id) else {
        return Ok(());
    };
    let (heading, language) = if bicep {
        ("Bicep", "Bicep")
    } else {
        ("Azure template (ARM JSON)", "an ARM template")
    };
    let Some(example) = crate::rules::docs::example(rule, heading) else {
        return Ok(());
    };
    writeln!(
        out,
        "{}: in {language}, for example:",
        paint(p.help, "help")
    )?;
    for line in example.lines() {
        writeln!(out, "{pad} {} {line}", paint(p.gutter, "|"))?;
    }
    Ok(())
}

fn render_fix(out: &mut dyn Write, p: &Palette, fix: &Fix, file: &str) -> std::io::Result<()> {
    let safety = match fix.safety {
        Safety::Safe => "safe fix",
        Safety::Unsafe => "unsafe fix",
    };
    writeln!(
        out,
        "{}{} {} ({safety})",
        paint(p.help, "help"),
        paint(p.bold, ":"),
        clean(&fix.description)
    )?;
    for hunk in &fix.preview {
        let last = hunk.start_line as usize + hunk.old.len().max(hunk.new.len());
        let pad = " ".repeat(last.to_string().len());
        if hunk.file != file {
            writeln!(
                out,
                "{pad}{} {}:{}",
                paint(p.gutter, "-->"),
                clean(&hunk.file),
                hunk.start_line
            )?;
        }
        writeln!(out, "{pad} {}", paint(p.gutter, "|"))?;
        let lines = hunk
            .old
            .iter()
            .enumerate()
            .map(|(i, l)| (i, l, "-", p.error))
            .chain(
                hunk.new
                    .iter()
                    .enumerate()
                    .map(|(i, l)| (i, l, "+", p.pass)),
            );
        for (i, line, sign, style) in lines {
            let number = format!(
                "{:>width$}",
                hunk.start_line as usize + i,
                width = pad.len()
            );
            writeln!(
                out,
                "{} {} {}",
                paint(p.gutter, &number),
                paint(style, sign),
                clean(line)
            )?;
        }
        writeln!(out, "{pad} {}", paint(p.gutter, "|"))?;
    }
    Ok(())
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
