//! The shared corpus of real public templates (`../shared/corpus`), when it
//! is present: every subfolder scans without a panic, every error is a file
//! known to be broken, and the AKS collection is judged as its README says.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use aks_authorized_ips::findings::Report;
use aks_authorized_ips::parse::{parse, Json, LineIndex, Node};

use crate::util::{manifest_dir, scan_in};

/// Files of the corpus that are really broken (a defect in the file, not in
/// the scanner), as `folder/path` relative to the corpus, with why.
///
/// Only what a verdict depends on is evaluated, so a defect in an unrelated
/// resource (such as the expression that does not parse in quickstart's
/// orchard-cms-video-portal) is not reached and not listed.
const KNOWN_BROKEN: &[&str] = &[
    // AKS-Construction's compiled samples use parameters('ebpfDataplane') in the
    // cluster's properties (the branch taken when networkPlugin is 'azure',
    // the default) but declare no such parameter: Azure rejects them.
    "aks-realworld/Azure__AKS-Construction/samples/SampleAppMain.json",
    "aks-realworld/Azure__AKS-Construction/samples/SystemPresetExample.json",
    "aks-realworld/Azure__AKS-Construction/samples/shared-acr/main.json",
];

pub(crate) fn corpus() -> Option<PathBuf> {
    let dir = manifest_dir().join("../shared/corpus");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipped: ../shared/corpus not found");
        None
    }
}

fn scan_folder(corpus: &Path, folder: &str) -> Report {
    let scanned = std::panic::catch_unwind(|| scan_in(corpus, &[folder]));
    match scanned {
        Ok(report) => report,
        Err(_) => panic!("scanning the corpus folder {folder} panicked"),
    }
}

#[test]
fn every_corpus_folder_scans_without_panic_or_unexpected_errors() {
    let Some(corpus) = corpus() else {
        return;
    };
    let mut folders: Vec<String> = std::fs::read_dir(&corpus)
        .expect("read the corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    folders.sort();
    assert!(!folders.is_empty(), "the corpus has folders");

    let known: BTreeSet<&str> = KNOWN_BROKEN.iter().copied().collect();
    let mut templates = 0;
    for folder in &folders {
        let report = scan_folder(&corpus, folder);
        let unexpected: Vec<String> = report
            .errors
            .iter()
            .filter(|e| !known.contains(e.file.as_str()))
            .map(|e| format!("{}:{}:{}: {}", e.file, e.line, e.column, e.message))
            .collect();
        assert!(
            unexpected.is_empty(),
            "{folder}: errors in files not known to be broken:\n{}",
            unexpected.join("\n")
        );
        for r in &report.resources {
            assert!(
                r.file.starts_with(&format!("{folder}/")),
                "paths are relative to the corpus: {}",
                r.file
            );
            if r.outcome == aks_authorized_ips::findings::Outcome::Unknown {
                assert!(r.reason.is_some(), "{}: unknown without a reason", r.file);
            }
        }
        templates += report.stats.templates;
    }
    assert!(
        templates > 1000,
        "the corpus holds many templates: {templates}"
    );
}

#[test]
fn the_aks_collection_judges_every_cluster_and_no_existing_reference() {
    let Some(corpus) = corpus() else {
        return;
    };
    let folder = "aks-realworld";
    if !corpus.join(folder).is_dir() {
        println!("skipped: ../shared/corpus/{folder} not found");
        return;
    }
    let report = scan_folder(&corpus, folder);
    assert!(
        report.resources.len() >= 30,
        "at least 30 cluster evaluations, got {}",
        report.resources.len()
    );

    // Where each `"existing": true` cluster reference starts.
    let mut references: BTreeSet<(String, u32)> = BTreeSet::new();
    let mut files = Vec::new();
    json_files(&corpus.join(folder), &mut files);
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(root) = parse(&text) else {
            continue;
        };
        let display = path
            .strip_prefix(&corpus)
            .expect("inside the corpus")
            .to_string_lossy()
            .replace('\\', "/");
        let lines = LineIndex::new(&text);
        let mut starts = Vec::new();
        existing_clusters(&root, &mut starts);
        for start in starts {
            references.insert((display.clone(), lines.position(&text, start).line));
        }
    }
    assert!(
        references.len() >= 20,
        "the collection holds many existing references (the README counts 26): {}",
        references.len()
    );
    for r in &report.resources {
        assert!(
            !references.contains(&(r.file.clone(), r.line)),
            "{}:{} ({}) is an `existing` reference and must not be judged",
            r.file,
            r.line,
            r.name
        );
    }
}

pub(crate) fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read a corpus folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

/// Byte offsets of every object that declares a managed cluster with
/// `"existing": true`, anywhere in the tree.
pub(crate) fn existing_clusters(node: &Node, out: &mut Vec<usize>) {
    match &node.value {
        Json::Object(members) => {
            let is_cluster = node.get("type").and_then(Node::as_str).is_some_and(|t| {
                t.eq_ignore_ascii_case("Microsoft.ContainerService/managedClusters")
            });
            let existing = matches!(
                node.get("existing").map(|n| &n.value),
                Some(Json::Bool(true))
            );
            if is_cluster && existing {
                out.push(node.span.start as usize);
            }
            for m in members {
                existing_clusters(&m.value, out);
            }
        }
        Json::Array(items) => {
            for item in items {
                existing_clusters(item, out);
            }
        }
        _ => {}
    }
}
