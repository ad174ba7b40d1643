//! The `rules` and `explain` commands: the rule list and each rule's
//! documentation, from [`crate::rules::docs`].

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::ValueEnum;
use serde_json::json;

use crate::cli::{EXIT_ERROR, EXIT_OK};
use crate::rules::{docs, RULES};

#[derive(Debug, clap::Args)]
pub struct RulesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = RulesFormat::Text)]
    pub format: RulesFormat,

    /// Write the generated documentation pages (one per rule and an index,
    /// README.md) into DIR instead of listing the rules. The repository keeps
    /// them in docs/rules.
    #[arg(long, value_name = "DIR")]
    pub write_docs: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The rule: its id (Azure.AKS.AuthorizedIPs.Broad), PSRule ref
    /// (AZR-000030) or name (AuthorizedIPsBroad), in any case.
    #[arg(value_name = "RULE")]
    pub rule: String,

    /// `text` renders the documentation for a terminal; `markdown` prints it
    /// as written.
    #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
    pub format: ExplainFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    Text,
    Markdown,
}

/// `aks-authorized-ips rules`.
pub fn rules(args: RulesArgs) -> anyhow::Result<i32> {
    if let Some(dir) = &args.write_docs {
        write_docs(dir)?;
        return Ok(EXIT_OK);
    }
    let mut out = anstream::stdout();
    match args.format {
        RulesFormat::Json => {
            let list: Vec<serde_json::Value> = RULES
                .iter()
                .map(|r| {
                    json!({
                        "id": r.id,
                        "name": r.name,
                        "level": r.level.as_str(),
                        "shortDescription": r.short_description,
                        "fullDescription": r.full_description,
                        "securitySeverity": r.security_severity,
                        "tags": r.tags,
                        "ref": r.reference,
                        "helpUri": docs::help_uri(r),
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &list)?;
            writeln!(out)?;
        }
        RulesFormat::Text => {
            let width = RULES.iter().map(|r| r.id.len()).max().unwrap_or(0);
            for r in RULES {
                writeln!(
                    out,
                    "{:<width$}  {:<7}  {}",
                    r.id,
                    r.level.as_str(),
                    r.short_description
                )?;
            }
            writeln!(
                out,
                "\nRun `aks-authorized-ips explain RULE` for a rule's documentation."
            )?;
        }
    }
    out.flush()?;
    Ok(EXIT_OK)
}

fn write_docs(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, contents) in docs::generate_pages() {
        let path = dir.join(&name);
        std::fs::write(&path, contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// `aks-authorized-ips explain RULE`.
pub fn explain(args: ExplainArgs) -> anyhow::Result<i32> {
    let Some(rule) = docs::lookup(&args.rule) else {
        let ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        eprintln!(
            "error: no rule {:?}; the rules are:\n  {}\n(a PSRule ref such as AZR-000030 or a \
             name such as AuthorizedIPsBroad also works)",
            args.rule,
            ids.join("\n  ")
        );
        return Ok(EXIT_ERROR);
    };
    let mut out = anstream::stdout();
    match args.format {
        ExplainFormat::Markdown => write!(out, "{}", docs::markdown(rule))?,
        ExplainFormat::Text => {
            // Colour on a terminal; otherwise the plain form, which marks
            // headings and code with characters instead.
            let styled =
                anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never;
            write!(
                out,
                "{}",
                docs::render_terminal(&docs::markdown(rule), styled)
            )?
        }
    }
    out.flush()?;
    Ok(EXIT_OK)
}
