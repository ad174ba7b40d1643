//! Stage 6: reporters. One file per format, all fed the same [`Report`];
//! none re-evaluates anything.

pub mod azure;
pub mod ci;
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
    match format {
        Format::Text => text::render(report, out, styled),
        Format::Json => json::render(report, out),
        Format::Sarif => sarif::render(report, out),
    }
}
