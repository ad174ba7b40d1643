//! Stage 1: find the files to judge. Walks the given paths with ripgrep's
//! `.gitignore`-aware walker, applies `--include`/`--exclude`, tells deployment
//! templates and parameter files apart by their `$schema`, and links each
//! parameter file to its template.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use glob::{MatchOptions, Pattern};

use crate::parse::json::Outline;
use crate::parse::Node;

/// How `--include`/`--exclude` patterns match: `*` stays inside one folder,
/// `**` crosses folders.
pub const GLOB_OPTIONS: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

/// A user's file filter.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub include: Vec<Pattern>,
    pub exclude: Vec<Pattern>,
}

impl Filters {
    /// A pattern without `/` matches the file name in any folder; one with `/`
    /// matches the whole repo-relative path.
    fn matches(pattern: &Pattern, display: &str) -> bool {
        if pattern.as_str().contains('/') {
            pattern.matches_with(display, GLOB_OPTIONS)
        } else {
            let name = display.rsplit('/').next().unwrap_or(display);
            pattern.matches_with(name, GLOB_OPTIONS)
        }
    }

    /// Whether one `--include`-style pattern matches a report path.
    pub fn pattern_matches(pattern: &Pattern, display: &str) -> bool {
        Self::matches(pattern, display)
    }

    pub fn allows(&self, display: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|p| Self::matches(p, display)))
            && !self.exclude.iter().any(|p| Self::matches(p, display))
    }
}

/// A file to look at: how to open it and how to name it in reports.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Candidate {
    /// Repo-relative path with `/` (or the path as given, outside the base).
    pub display: String,
    pub path: PathBuf,
}

/// Walks `roots` and returns every `.json`/`.jsonc` file the filters allow
/// (plus any file named directly), sorted, and the roots that do not exist.
pub fn walk(roots: &[PathBuf], filters: &Filters, base: &Path) -> (Vec<Candidate>, Vec<PathBuf>) {
    let mut missing = Vec::new();
    let mut found = Vec::new();
    for root in roots {
        if !root.exists() {
            missing.push(root.clone());
            continue;
        }
        if root.is_file() {
            // A file named on the command line is read whatever its name.
            let display = display_path(root, base);
            if filters.allows(&display) {
                found.push(Candidate {
                    display,
                    path: root.clone(),
                });
            }
            continue;
        }
        // How this root is shown, worked out once: per-file canonicalising
        // costs a system call per path component.
        let shown_root = shown_relative(root, base);
        let walker = ignore::WalkBuilder::new(root)
            .hidden(false)
            .require_git(false)
            .filter_entry(|e| e.file_name() != ".git")
            .build();
        for entry in walker.flatten() {
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            let path = entry.into_path();
            let is_json = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("json") || e.eq_ignore_ascii_case("jsonc"));
            if !is_json {
                continue;
            }
            let display = match (&shown_root, path.strip_prefix(root)) {
                (Some(shown), Ok(inside)) => slash_path(&shown.join(inside)),
                _ => slash_path(&path),
            };
            if filters.allows(&display) {
                found.push(Candidate { display, path });
            }
        }
    }
    found.sort();
    found.dedup_by(|a, b| a.display == b.display);
    (found, missing)
}

/// What a JSON file is, by its top-level `$schema`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileKind {
    Template {
        /// Compiled from Bicep (`metadata._generator.name` is `bicep`).
        bicep: bool,
    },
    Parameters {
        /// `metadata.template`: the template's path relative to this file.
        template: Option<String>,
    },
    /// Not a deployment file: skipped.
    Other,
}

/// What [`classify`] reads: a file parsed with
/// [`crate::parse::json::parse_outline`] and this outline classifies as it
/// would parsed whole.
pub const CLASSIFY_OUTLINE: &[Outline] = &[
    Outline {
        key: "$schema",
        keep: &[],
    },
    Outline {
        key: "metadata",
        keep: &[
            Outline {
                key: "template",
                keep: &[],
            },
            Outline {
                key: "_generator",
                keep: &[Outline {
                    key: "name",
                    keep: &[],
                }],
            },
        ],
    },
];

/// Classifies a parsed file. The schema is matched loosely: any dated
/// version, any host, with or without `#`, in any case.
pub fn classify(root: &Node) -> FileKind {
    let Some(schema) = root.get("$schema").and_then(Node::as_str) else {
        return FileKind::Other;
    };
    let last = schema
        .trim()
        .trim_end_matches('#')
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if last.ends_with("deploymenttemplate.json") {
        let bicep = root
            .get("metadata")
            .and_then(|m| m.get("_generator"))
            .and_then(|g| g.get("name"))
            .and_then(Node::as_str)
            .is_some_and(|n| n.eq_ignore_ascii_case("bicep"));
        FileKind::Template { bicep }
    } else if last.ends_with("deploymentparameters.json") {
        let template = root
            .get("metadata")
            .and_then(|m| m.get("template"))
            .and_then(Node::as_str)
            .map(str::to_string);
        FileKind::Parameters { template }
    } else {
        FileKind::Other
    }
}

/// Whether a file's text names a deployment schema: such a file is ours, so
/// if it cannot be read or parsed that is an error, never a silent skip.
pub fn names_deployment_schema(text: &[u8]) -> bool {
    contains_ignore_ascii_case(text, b"deploymenttemplate.json")
        || contains_ignore_ascii_case(text, b"deploymentparameters.json")
}

/// ASCII case-insensitive substring search; `needle` must be lowercase.
pub fn contains_ignore_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    // Lower-casing a block at a time and searching it with memchr's vector
    // search beats stopping at every occurrence of a letter of the needle,
    // as common as `m` or `d` in a template.
    const BLOCK: usize = 4096;
    if needle.is_empty() {
        return true;
    }
    if needle.len() > BLOCK {
        return haystack
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle));
    }
    let finder = memchr::memmem::Finder::new(needle);
    let mut lower = [0u8; BLOCK];
    let mut start = 0;
    loop {
        let end = haystack.len().min(start + BLOCK);
        let block = &haystack[start..end];
        let lower = &mut lower[..block.len()];
        for (l, b) in lower.iter_mut().zip(block) {
            *l = b.to_ascii_lowercase();
        }
        if finder.find(lower).is_some() {
            return true;
        }
        if end == haystack.len() {
            return false;
        }
        // Blocks overlap so that a match across their border is seen.
        start = end + 1 - needle.len();
    }
}

/// Links parameter files to templates. `templates` and `parameters` are
/// display paths; returns, for each parameter file, the index of its
/// template in `templates`, if found. `metadata.template` wins over the
/// naming conventions `x.parameters.json` and `x.parameters.<env>.json`
/// for `x.json`.
pub fn link_parameters(
    templates: &[&str],
    parameters: &[(&str, Option<&str>)],
) -> Vec<Option<usize>> {
    let by_path: HashMap<&str, usize> =
        templates.iter().enumerate().map(|(i, p)| (*p, i)).collect();
    parameters
        .iter()
        .map(|(param_path, declared)| {
            let dir = param_path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
            if let Some(declared) = declared {
                let joined = if dir.is_empty() {
                    declared.replace('\\', "/")
                } else {
                    format!("{dir}/{}", declared.replace('\\', "/"))
                };
                if let Some(&i) = by_path.get(normalize(&joined).as_str()) {
                    return Some(i);
                }
            }
            conventional_templates(param_path)
                .iter()
                .find_map(|c| by_path.get(c.as_str()).copied())
        })
        .collect()
}

/// `a/x.parameters.json` -> `a/x.json`; `a/x.parameters.prod.json` -> `a/x.json`.
fn conventional_templates(param_path: &str) -> Vec<String> {
    let (dir, name) = match param_path.rsplit_once('/') {
        Some((d, n)) => (format!("{d}/"), n),
        None => (String::new(), param_path),
    };
    let lower = name.to_ascii_lowercase();
    let Some(at) = lower.find(".parameters.") else {
        return Vec::new();
    };
    let stem = &name[..at];
    let ext = if lower.ends_with(".jsonc") {
        "jsonc"
    } else {
        "json"
    };
    let mut out = vec![format!("{dir}{stem}.{ext}")];
    if ext == "jsonc" {
        out.push(format!("{dir}{stem}.json"));
    } else {
        out.push(format!("{dir}{stem}.jsonc"));
    }
    out
}

/// Lexically resolves `.` and `..` in a `/`-separated path.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// The path to show for a file: relative to `base` with `/` when it lies
/// inside it, else the path as given.
pub fn display_path(path: &Path, base: &Path) -> String {
    match shown_relative(path, base) {
        Some(rel) => slash_path(&rel),
        None => slash_path(path),
    }
}

/// `path` relative to `base`, if it lies inside it.
fn shown_relative(path: &Path, base: &Path) -> Option<PathBuf> {
    let absolute = lexical_absolute(path);
    if let Ok(rel) = absolute.strip_prefix(base) {
        return Some(rel.to_path_buf());
    }
    // Symbolic links (a /tmp that is /private/tmp) can hide a prefix.
    let (a, b) = (absolute.canonicalize().ok()?, base.canonicalize().ok()?);
    a.strip_prefix(&b).ok().map(Path::to_path_buf)
}

/// A path as reports show it: `/` on every platform, no leading `./`.
fn slash_path(path: &Path) -> String {
    let s = path.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}

/// Makes a path absolute against the current directory without touching the
/// file system, resolving `.` and `..`.
pub fn lexical_absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The folder paths are reported relative to: the CI workspace when the tool
/// runs in GitHub Actions or Azure Pipelines, else the current directory.
pub fn report_base() -> PathBuf {
    for var in ["GITHUB_WORKSPACE", "BUILD_SOURCESDIRECTORY"] {
        if let Some(dir) = std::env::var_os(var).filter(|d| !d.is_empty()) {
            let dir = PathBuf::from(dir);
            if dir.is_dir() {
                return lexical_absolute(&dir);
            }
        }
    }
    lexical_absolute(Path::new("."))
}

/// Whether a template can hold a cluster at all. Resource types are literal
/// strings in ARM, so a template whose text never says `managedClusters`
/// declares none.
pub fn may_declare_cluster(text: &str) -> bool {
    contains_ignore_ascii_case(text.as_bytes(), b"managedclusters")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    fn kind(text: &str) -> FileKind {
        classify(&parse(text).expect("parse"))
    }

    #[test]
    fn classifies_by_schema_loosely() {
        for schema in [
            "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "https://schema.management.azure.com/schemas/2015-01-01/deploymentTemplate.json",
            "http://SCHEMA.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
            "https://schema.management.azure.com/schemas/2019-08-01/managementGroupDeploymentTemplate.json#",
            "https://schema.management.azure.com/schemas/2019-08-01/tenantDeploymentTemplate.json#",
        ] {
            assert_eq!(
                kind(&format!(r#"{{"$schema": "{schema}"}}"#)),
                FileKind::Template { bicep: false },
                "{schema}"
            );
        }
        assert_eq!(
            kind(
                r#"{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#", "metadata": {"template": "../main.json"}}"#
            ),
            FileKind::Parameters {
                template: Some("../main.json".into())
            }
        );
        assert_eq!(
            kind(
                r#"{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", "metadata": {"_generator": {"name": "bicep"}}}"#
            ),
            FileKind::Template { bicep: true }
        );
        assert_eq!(
            kind(r#"{"$schema": "http://json-schema.org/draft-07/schema#"}"#),
            FileKind::Other
        );
        assert_eq!(kind(r#"{"name": "package"}"#), FileKind::Other);
        assert_eq!(kind(r#"[1]"#), FileKind::Other);
    }

    #[test]
    fn the_outline_classifies_as_the_whole_tree() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut dirs = vec![root.join("tests/fixtures"), root.join("examples")];
        let mut texts: Vec<String> = [
            r#"{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#", "METADATA": {"Template": "a.json"}, "metadata": {"template": "b.json"}}"#,
            r#"{"\u0024schema": "deploymentTemplate.json", "metadata": {"_generator": {"name": "Bicep"}}, "$Schema": "x"}"#,
            r#"{"$schema": "deploymentTemplate.json", "metadata": {"_generator": [{"name": "bicep"}]}}"#,
        ]
        .map(String::from)
        .to_vec();
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("fixture folder") {
                let path = entry.expect("fixture entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else if let Ok(text) = std::fs::read_to_string(&path) {
                    texts.push(text);
                }
            }
        }
        for text in &texts {
            let Ok(whole) = parse(text) else { continue };
            let outline = crate::parse::json::parse_outline(text, CLASSIFY_OUTLINE);
            assert_eq!(
                classify(&outline.expect("outline")),
                classify(&whole),
                "{text}"
            );
        }
    }

    #[test]
    fn links_parameter_files() {
        let templates = ["infra/main.json", "infra/aks/cluster.json", "x.jsonc"];
        let params = [
            ("infra/main.parameters.json", None),
            ("infra/main.parameters.prod.json", None),
            ("infra/env/dev.json", Some("../aks/cluster.json")),
            ("infra/env/bad.json", Some("nowhere.json")),
            ("x.parameters.jsonc", None),
            ("orphan.parameters.json", None),
        ];
        assert_eq!(
            link_parameters(&templates, &params),
            [Some(0), Some(0), Some(1), None, Some(2), None]
        );
    }

    #[test]
    fn filters_match_names_and_paths() {
        let f = Filters {
            include: vec![Pattern::new("infra/**/*.json").expect("glob")],
            exclude: vec![Pattern::new("*.parameters.json").expect("glob")],
        };
        assert!(f.allows("infra/a/b.json"));
        assert!(f.allows("infra/b.json"));
        assert!(!f.allows("other/b.json"));
        assert!(!f.allows("infra/b.parameters.json"));
        let star = Filters {
            include: vec![Pattern::new("infra/*.json").expect("glob")],
            exclude: vec![],
        };
        assert!(!star.allows("infra/a/b.json"), "* must not cross folders");
    }

    #[test]
    fn case_insensitive_search() {
        assert!(contains_ignore_ascii_case(
            b"xx DeploymentTemplate.JSON#",
            b"deploymenttemplate.json"
        ));
        assert!(!contains_ignore_ascii_case(
            b"deploymenttemplate.jso",
            b"deploymenttemplate.json"
        ));
        assert!(contains_ignore_ascii_case(b"ddeploy", b"deploy"));
        assert!(contains_ignore_ascii_case(b"", b""));
        assert!(!contains_ignore_ascii_case(b"", b"x"));
        // Matches across the border of the blocks searched one at a time.
        for at in [0, 4080, 4090, 4095, 4096, 8190, 9000] {
            let mut text = vec![b'm'; 9100];
            text[at..at + 15].copy_from_slice(b"ManagedClusters");
            assert!(
                contains_ignore_ascii_case(&text, b"managedclusters"),
                "{at}"
            );
            text[at + 14] = b'.';
            assert!(
                !contains_ignore_ascii_case(&text, b"managedclusters"),
                "{at}"
            );
        }
    }
}
