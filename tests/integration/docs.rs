//! Rule documentation: the `rules` and `explain` commands on the real
//! binary, the content every doc must have, the SARIF help text, and the
//! generated pages in `docs/rules/`, which must match their sources.

use aks_authorized_ips::cli::Format;
use aks_authorized_ips::rules::{docs, RULES};

use crate::util::{fixtures, manifest_dir, render, run, scan_fixtures};

#[test]
fn rules_lists_every_rule_with_its_level() {
    let (code, stdout, stderr) = run(&fixtures(), &["rules"]);
    assert_eq!(code, 0, "{stderr}");
    for rule in RULES {
        let line = stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(rule.id))
            .unwrap_or_else(|| panic!("{} is not listed:\n{stdout}", rule.id));
        assert!(line.contains(rule.level.as_str()), "{line}");
        assert!(line.contains(rule.short_description), "{line}");
    }
}

#[test]
fn rules_as_json_has_every_field() {
    let (code, stdout, stderr) = run(&fixtures(), &["rules", "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let list: serde_json::Value = serde_json::from_str(&stdout).expect("rules JSON parses");
    let list = list.as_array().expect("an array");
    assert_eq!(list.len(), RULES.len());
    for (item, rule) in list.iter().zip(RULES) {
        assert_eq!(item["id"], rule.id);
        assert_eq!(item["name"], rule.name);
        assert_eq!(item["level"], rule.level.as_str());
        assert_eq!(item["shortDescription"], rule.short_description);
        assert_eq!(item["fullDescription"], rule.full_description);
        assert_eq!(item["securitySeverity"], rule.security_severity);
        assert!(item["tags"].as_array().is_some_and(|t| !t.is_empty()));
        match rule.reference {
            Some(r) => assert_eq!(item["ref"], r),
            None => assert!(item["ref"].is_null(), "{item}"),
        }
        assert!(item["helpUri"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://")));
    }
    assert_eq!(list[0]["ref"], "AZR-000030");
}

#[test]
fn rules_json_and_sarif_agree_on_the_help_uri() {
    let sarif: serde_json::Value =
        serde_json::from_str(&render(&scan_fixtures(&["rules/pass.json"]), Format::Sarif))
            .expect("SARIF parses");
    let descriptors = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules")
        .clone();
    for (d, rule) in descriptors.iter().zip(RULES) {
        assert_eq!(d["helpUri"], docs::help_uri(rule), "{}", rule.id);
    }
}

#[test]
fn explain_finds_a_rule_by_id_in_any_case() {
    let (code, stdout, stderr) = run(&fixtures(), &["explain", "azure.aks.authorizedips.broad"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with("Azure.AKS.AuthorizedIPs.Broad"),
        "{stdout}"
    );
    assert!(stdout.contains("How to fix"), "{stdout}");
    assert!(stdout.contains("--broad-prefix"), "{stdout}");
    // Not a terminal: no colour, no raw Markdown fences or heading marks.
    assert!(!stdout.contains('\u{1b}'), "{stdout}");
    assert!(!stdout.contains("```"), "{stdout}");
    assert!(!stdout.lines().any(|l| l.starts_with('#')), "{stdout}");
}

#[test]
fn explain_finds_a_rule_by_psrule_ref_and_by_name() {
    let (code, stdout, _) = run(&fixtures(), &["explain", "AZR-000030"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("Azure.AKS.AuthorizedIPs:"), "{stdout}");
    assert!(stdout.contains("AZR-000030"), "{stdout}");
    let (code, stdout, _) = run(&fixtures(), &["explain", "AuthorizedIPsNodePublicIP"]);
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with("Azure.AKS.AuthorizedIPs.NodePublicIP"),
        "{stdout}"
    );
}

#[test]
fn explain_colours_only_when_asked_or_on_a_terminal() {
    let output = crate::util::bin(&fixtures())
        .args(["explain", "Azure.AKS.AuthorizedIPs.HostBits"])
        .env("CLICOLOR_FORCE", "1")
        .output()
        .expect("runs");
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(stdout.contains("\u{1b}["), "{stdout}");
}

#[test]
fn explain_markdown_prints_the_source_with_the_facts() {
    let (code, stdout, _) = run(
        &fixtures(),
        &[
            "explain",
            "Azure.AKS.AuthorizedIPs.Redundant",
            "--format",
            "markdown",
        ],
    );
    assert_eq!(code, 0);
    let rule = docs::lookup("Azure.AKS.AuthorizedIPs.Redundant").expect("a rule");
    assert_eq!(stdout, docs::markdown(rule));
    assert!(stdout.contains("```json"), "{stdout}");
    assert!(stdout.contains("| note |"), "{stdout}");
}

#[test]
fn explain_an_unknown_rule_exits_2_and_lists_the_rules() {
    let (code, stdout, stderr) = run(&fixtures(), &["explain", "Azure.AKS.NoSuchRule"]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("Azure.AKS.NoSuchRule"), "{stderr}");
    for rule in RULES {
        assert!(stderr.contains(rule.id), "{stderr}");
    }
}

#[test]
fn every_doc_shows_each_kind_of_fix_and_both_links() {
    for rule in RULES {
        let doc = rule.help_markdown;
        let id = rule.id;
        for needle in [
            "## What it checks",
            "## Why it matters",
            "## When it does not apply",
            "## How to fix",
            "```json",
            "```bicep",
            "https://learn.microsoft.com/azure/aks/api-server-authorized-ip-ranges",
            "https://azure.github.io/PSRule.Rules.Azure/en/rules/Azure.AKS.AuthorizedIPs/",
        ] {
            assert!(doc.contains(needle), "{id}: missing {needle:?}");
        }
        assert!(
            doc.lines().any(|l| l.trim_start().starts_with("az aks ")),
            "{id}: no `az aks` command"
        );
        assert!(
            doc.contains("--api-server-authorized-ip-ranges")
                || doc.contains("--enable-private-cluster"),
            "{id}: no CLI example for the ranges"
        );
        assert!(
            doc.lines().any(|l| {
                let l = l.trim_start();
                l.starts_with("Set-AzAksCluster ") || l.starts_with("New-AzAksCluster ")
            }),
            "{id}: no Set-AzAksCluster or New-AzAksCluster command"
        );
    }
}

#[test]
fn sarif_help_text_is_plain_and_markdown_is_markdown() {
    let sarif: serde_json::Value =
        serde_json::from_str(&render(&scan_fixtures(&["rules/pass.json"]), Format::Sarif))
            .expect("SARIF parses");
    let descriptors = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules")
        .clone();
    assert_eq!(descriptors.len(), RULES.len());
    for d in &descriptors {
        let text = d["help"]["text"].as_str().expect("help.text");
        let markdown = d["help"]["markdown"].as_str().expect("help.markdown");
        assert!(!text.contains("```"), "{}: {text}", d["id"]);
        assert!(!text.contains("](https://"), "{}: {text}", d["id"]);
        assert!(markdown.contains("```bicep"), "{}", d["id"]);
    }
}

/// The pages in `docs/rules/` are generated; regenerate them with
/// `cargo run -- rules --write-docs docs/rules`.
#[test]
fn docs_pages_are_up_to_date() {
    let dir = manifest_dir().join(docs::PAGES_DIR);
    let pages = docs::generate_pages();
    let mut stale = Vec::new();
    for (name, expected) in &pages {
        let committed = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        if committed.replace("\r\n", "\n") != *expected {
            stale.push(name.display().to_string());
        }
    }
    let expected_names: Vec<String> = pages.iter().map(|(n, _)| n.display().to_string()).collect();
    let extra: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".md") && !expected_names.contains(n))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        stale.is_empty() && extra.is_empty(),
        "docs/rules/ is out of date (stale or missing: {stale:?}; no longer generated: \
         {extra:?}).\nRegenerate with `{}` (and delete the pages no longer generated), then \
         commit the result.",
        docs::REGENERATE
    );
}

#[test]
fn write_docs_writes_every_page() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let out = dir.path().join("pages");
    let (code, _, stderr) = run(
        &fixtures(),
        &["rules", "--write-docs", out.to_str().expect("UTF-8 path")],
    );
    assert_eq!(code, 0, "{stderr}");
    for (name, expected) in docs::generate_pages() {
        let written = std::fs::read_to_string(out.join(&name)).expect("the page is written");
        assert_eq!(written, expected, "{}", name.display());
    }
    let index = std::fs::read_to_string(out.join("README.md")).expect("the index");
    for rule in RULES {
        assert!(index.contains(&format!("({}.md)", rule.id)), "{index}");
    }
}

/// A template with a warning the tool cannot fix by itself, compiled from
/// Bicep or not.
fn broad_template(bicep: bool) -> String {
    let generator = if bicep {
        r#""metadata": {"_generator": {"name": "bicep", "version": "0.30.23.60470"}},"#
    } else {
        ""
    };
    format!(
        r#"{{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  {generator}
  "resources": [
    {{
      "type": "Microsoft.ContainerService/managedClusters",
      "apiVersion": "2024-02-01",
      "name": "aks-broad",
      "properties": {{
        "apiServerAccessProfile": {{ "authorizedIPRanges": ["10.0.0.0/7"] }}
      }}
    }}
  ]
}}
"#
    )
}

#[test]
fn a_finding_without_an_edit_shows_the_example_for_the_kind_of_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    crate::util::write(dir.path(), "arm/main.json", broad_template(false));
    crate::util::write(dir.path(), "bicep/main.json", broad_template(true));
    let rule = aks_authorized_ips::rules::find("Azure.AKS.AuthorizedIPs.Broad").expect("rule");
    let arm_example = docs::example(rule, "Azure template (ARM JSON)").expect("ARM example");
    let bicep_example = docs::example(rule, "Bicep").expect("Bicep example");

    let (_, arm_out, _) = run(dir.path(), &["scan", "arm"]);
    assert!(
        arm_out.contains("help: in an ARM template, for example:"),
        "{arm_out}"
    );
    let first_arm_line = arm_example.lines().next().expect("a line");
    assert!(arm_out.contains(first_arm_line), "{arm_out}");
    assert!(arm_out.contains("more: aks-authorized-ips explain Azure.AKS.AuthorizedIPs.Broad"));

    let (_, bicep_out, _) = run(dir.path(), &["scan", "bicep"]);
    assert!(
        bicep_out.contains("help: in Bicep, for example:"),
        "{bicep_out}"
    );
    let first_bicep_line = bicep_example.lines().next().expect("a line");
    assert!(bicep_out.contains(first_bicep_line), "{bicep_out}");
}
