//! Stage 6: reporters. One file per format, all fed the same [`Report`];
//! none re-evaluates anything.

pub mod azure;
pub mod ci;
pub mod comment;
pub mod github;
pub mod json;
pub mod markdown;
pub mod sarif;
pub mod text;

use std::io::Write;

use crate::cli::Format;
use crate::findings::Report;

/// Writes `report` in `format`. `styled` allows colour in text output (the
/// stream decides whether it really shows: terminals only, and `NO_COLOR`).
pub fn render(
    report: &Report,
    format: Format,
    out: &mut dyn Write,
    styled: bool,
) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    match format {
        Format::Text => return text::render(report, out, styled),
        Format::Json => json::render(report, &mut buffer)?,
        Format::Sarif => sarif::render(report, &mut buffer)?,
    }
    out.write_all(&escape_logging_commands_in_json(&buffer))
}

/// The Azure Pipelines agent acts on `##vso[` anywhere in a line, and a JSON
/// or SARIF report on a pipeline's standard output carries template text
/// verbatim inside its strings. Writing those `#` as the JSON escape
/// `\u0023` keeps every decoded value the same while no line holds the
/// command prefix. `#` only occurs inside strings in our reports.
pub fn escape_logging_commands_in_json(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len());
    let mut i = 0;
    while i < json.len() {
        let rest = &json[i..];
        if rest.len() >= 6 && rest[..2] == *b"##" && rest[2..6].eq_ignore_ascii_case(b"vso[") {
            out.extend_from_slice(b"\\u0023\\u0023");
            i += 2;
        } else {
            out.push(json[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_its_values_but_loses_the_command_prefix() {
        let json = br#"{"name":"a ##vso[task.complete result=Succeeded]b ##VSO[x]"}"#;
        let escaped = escape_logging_commands_in_json(json);
        let text = String::from_utf8(escaped.clone()).expect("utf-8");
        assert!(!text.to_ascii_lowercase().contains("##vso["), "{text}");
        let before: serde_json::Value = serde_json::from_slice(json).expect("json");
        let after: serde_json::Value = serde_json::from_slice(&escaped).expect("json");
        assert_eq!(before, after);
    }

    #[test]
    fn text_breaks_the_command_prefix_in_any_case() {
        let t = text::break_logging_commands("x ##vso[a] y ##VsO[b]");
        assert!(!t.to_ascii_lowercase().contains("##vso["), "{t}");
        assert_eq!(t.replace('\u{200B}', ""), "x ##vso[a] y ##VsO[b]");
    }
}
