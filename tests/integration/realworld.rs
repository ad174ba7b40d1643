//! Regression oracle for the ARM evaluation engine (issue 3, item 7).
//!
//! The expected outcome of every cluster below was established by reading
//! the templates by hand (parameters, defaults, parameter files, variables,
//! `if()`, `union()`, `createObject()`, nested deployments in inner scope),
//! never by running this tool. Each row says why in a one-line comment.
//!
//! Keys are (file, parameter file, line of the resource's `{`), relative to
//! the scanned folder. Only error-level rule ids are compared (warnings and
//! notes do not change an outcome). A row's `name` is checked when it is
//! fully known before deployment (no `uniqueString()` of a placeholder scope,
//! no required parameter without a value).
//!
//! `Broken` means Azure rejects the template before deploying anything: the
//! scan must report an error for that file, and the cluster, if it is
//! reported at all, must be `unknown` (never pass, fail or not-applicable).
//!
//! Both tests collect every mismatch and print them all at once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use aks_authorized_ips::findings::{Level, Outcome, Report};
use aks_authorized_ips::parse::{parse, LineIndex};

use crate::corpus::{corpus, existing_clusters, json_files};
use crate::util::scan_in;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Pass,
    Fail,
    NotApplicable,
    /// No corpus row is `unknown` today; kept for rows to come.
    #[allow(dead_code)]
    Unknown,
    /// Azure rejects the template: an error for the file, and the cluster
    /// absent or `unknown`.
    Broken,
}

impl Expect {
    fn outcome(self) -> Option<Outcome> {
        match self {
            Expect::Pass => Some(Outcome::Pass),
            Expect::Fail => Some(Outcome::Fail),
            Expect::NotApplicable => Some(Outcome::NotApplicable),
            Expect::Unknown => Some(Outcome::Unknown),
            Expect::Broken => None,
        }
    }
}

use Expect::{Broken, Fail, NotApplicable, Pass};

const AUTH: &str = "Azure.AKS.AuthorizedIPs";
const INVALID: &str = "Azure.AKS.AuthorizedIPs.InvalidRange";

/// One cluster evaluation as Azure would deploy it.
struct Row {
    file: &'static str,
    params: Option<&'static str>,
    line: u32,
    /// The evaluated name, when it is known before deployment.
    name: Option<&'static str>,
    expect: Expect,
    /// Error-level rule ids, sorted.
    errors: &'static [&'static str],
}

const fn row(
    file: &'static str,
    params: Option<&'static str>,
    line: u32,
    name: Option<&'static str>,
    expect: Expect,
    errors: &'static [&'static str],
) -> Row {
    Row {
        file,
        params,
        line,
        name,
        expect,
        errors,
    }
}

/// The quickstart repository's folder, prefixed at compile time.
macro_rules! concat_qs {
    ($path:literal) => {
        concat!("Azure__azure-quickstart-templates/", $path)
    };
}

/// `../shared/corpus/aks-realworld`: the 33 deployed clusters (34
/// evaluations: the minio template has two parameter files).
const AKS_REALWORLD: &[Row] = &[
    // AKS-Construction samples, `properties` is one union(createObject(...)). In these three files
    // it is broken twice: it reads parameters('ebpfDataplane'), which the inner template does not
    // declare (it declares networkDataplane), and the first createObject has 33 arguments (the
    // `nodeResourceGroupProfile` key before createObject('restrictionLevel', ...) is missing).
    // Azure rejects the template. If fixed: fail (authorizedIPRanges defaults to [], public).
    row("Azure__AKS-Construction/samples/SampleAppMain.json", None, 1442, None, Broken, &[]),
    // same two defects (undeclared ebpfDataplane, odd createObject); if fixed: fail (ranges [], public)
    row("Azure__AKS-Construction/samples/SystemPresetExample.json", None, 1384, None, Broken, &[]),
    // same two defects (undeclared ebpfDataplane, odd createObject); if fixed: fail (ranges [], public)
    row("Azure__AKS-Construction/samples/shared-acr/main.json", None, 1410, None, Broken, &[]),
    // inner scope: authorizedIPRanges not passed (default []) -> else branch {enablePrivateCluster: false} -> public, no ranges
    row("Azure__AKS-Construction/samples/peered-vnet/main.json", None, 8683, Some("aks-grid-stest"), Fail, &[AUTH]),
    // same module for the app cluster (resourceName 'app-stest'), ranges default [] and public
    row("Azure__AKS-Construction/samples/peered-vnet/main.json", None, 17639, Some("aks-app-stest"), Fail, &[AUTH]),
    // root enablePrivateCluster defaults to true, passed through two inner scopes; authorizedIPRanges nullable, not passed -> null
    row("Azure__AKS-Landing-Zone-Accelerator/Scenarios/AKS-Secure-Baseline-PrivateCluster/Bicep/All-in-One-Bicep/main.json", None, 42950, Some("aksCluster"), NotApplicable, &[]),
    // languageVersion 2.0 module alone: enablePrivateCluster default false, authorizedIPRanges default [] (name is required, unknown)
    row("Azure__ResourceModules/modules/container-service/managed-cluster/main.json", None, 1083, None, Fail, &[AUTH]),
    // no apiServerAccessProfile at all (api 2019-10-01); the parameter file only sets names and secrets
    row(concat_qs!("application-workloads/jenkins/jenkins-cicd-container/azuredeploy.json"), Some(concat_qs!("application-workloads/jenkins/jenkins-cicd-container/azuredeploy.parameters.json")), 282, Some("GEN-UNIQUE"), Fail, &[AUTH]),
    // literal cluster without apiServerAccessProfile (standard LB); parameter file sets only ssh key, user, location
    row(concat_qs!("application-workloads/minio/minio-azure-gateway/azuredeploy.json"), Some(concat_qs!("application-workloads/minio/minio-azure-gateway/azuredeploy.parameters.json")), 321, Some("minio-cluster"), Fail, &[AUTH]),
    // same template with the us-gov parameter file: only location differs
    row(concat_qs!("application-workloads/minio/minio-azure-gateway/azuredeploy.json"), Some(concat_qs!("application-workloads/minio/minio-azure-gateway/azuredeploy.parameters.us.json")), 321, Some("minio-cluster"), Fail, &[AUTH]),
    // aksClusterEnablePrivateCluster defaults to false (not in the parameter file); the profile has no ranges
    row(concat_qs!("demos/aks-nat-agic/azuredeploy.json"), Some(concat_qs!("demos/aks-nat-agic/azuredeploy.parameters.json")), 1555, None, Fail, &[AUTH]),
    // inner scope: aksClusterEnablePrivateCluster passed from the root, whose default is true; no ranges
    row(concat_qs!("demos/private-aks-cluster/azuredeploy.json"), Some(concat_qs!("demos/private-aks-cluster/azuredeploy.parameters.json")), 1904, None, NotApplicable, &[]),
    // aksClusterEnablePrivateCluster defaults to true (public DNS zone 'none' is still a private cluster); no ranges
    row(concat_qs!("demos/private-aks-cluster-with-public-dns-zone/azuredeploy.json"), Some(concat_qs!("demos/private-aks-cluster-with-public-dns-zone/azuredeploy.parameters.json")), 1442, None, NotApplicable, &[]),
    // api 2020-07-01, no apiServerAccessProfile
    row(concat_qs!("quickstarts/microsoft.containerinstance/aks-advanced-networking/azuredeploy.json"), Some(concat_qs!("quickstarts/microsoft.containerinstance/aks-advanced-networking/azuredeploy.parameters.json")), 195, Some("GEN-UNIQUE"), Fail, &[AUTH]),
    // api 2018-03-31 has no authorized-ranges setting at all
    row(concat_qs!("quickstarts/microsoft.containerinstance/aks-advanced-networking-aad/azuredeploy.json"), Some(concat_qs!("quickstarts/microsoft.containerinstance/aks-advanced-networking-aad/azuredeploy.parameters.json")), 193, Some("GEN-UNIQUE"), Fail, &[AUTH]),
    // no apiServerAccessProfile (basic LB is only checked when ranges are set)
    row(concat_qs!("quickstarts/microsoft.containerinstance/aks-azml-targetcompute/azuredeploy.json"), Some(concat_qs!("quickstarts/microsoft.containerinstance/aks-azml-targetcompute/azuredeploy.parameters.json")), 94, Some("GEN-UNIQUE"), Fail, &[AUTH]),
    // inner-scope module 'Kubernetes', no apiServerAccessProfile; prefix 'testaz' from the parameter file
    row(concat_qs!("quickstarts/microsoft.containerservice/azure-kubernetes-monitoring-with-prometheus-and-grafana/azuredeploy.json"), Some(concat_qs!("quickstarts/microsoft.containerservice/azure-kubernetes-monitoring-with-prometheus-and-grafana/azuredeploy.parameters.json")), 392, Some("testaz-aks"), Fail, &[AUTH]),
    // the AKS quickstart: no apiServerAccessProfile
    row(concat_qs!("quickstarts/microsoft.kubernetes/aks/azuredeploy.json"), Some(concat_qs!("quickstarts/microsoft.kubernetes/aks/azuredeploy.parameters.json")), 71, Some("GEN-UNIQUE"), Fail, &[AUTH]),
    // no apiServerAccessProfile
    row(concat_qs!("quickstarts/microsoft.kubernetes/aks-azure-linux/azuredeploy.json"), Some(concat_qs!("quickstarts/microsoft.kubernetes/aks-azure-linux/azuredeploy.parameters.json")), 85, Some("GEN-UNIQUE"), Fail, &[AUTH]),
    // no apiServerAccessProfile
    row(concat_qs!("quickstarts/microsoft.kubernetes/aks-helm/azuredeploy.json"), Some(concat_qs!("quickstarts/microsoft.kubernetes/aks-helm/azuredeploy.parameters.json")), 113, Some("GEN-UNIQUE"), Fail, &[AUTH]),
    // no apiServerAccessProfile
    row(concat_qs!("quickstarts/microsoft.kubernetes/aks-vmss-systemassigned-identity/azuredeploy.json"), Some(concat_qs!("quickstarts/microsoft.kubernetes/aks-vmss-systemassigned-identity/azuredeploy.parameters.json")), 70, Some("GEN-UNIQUE"), Fail, &[AUTH]),
    // prereq.azuredeploy.parameters.json -> prereq.azuredeploy.json by convention; no apiServerAccessProfile
    row(concat_qs!("quickstarts/microsoft.machinelearningservices/machine-learning-compute-attach-aks/prereqs/prereq.azuredeploy.json"), Some(concat_qs!("quickstarts/microsoft.machinelearningservices/machine-learning-compute-attach-aks/prereqs/prereq.azuredeploy.parameters.json")), 99, Some("GEN-UNIQUE"), Fail, &[AUTH]),
    // three inner-scope levels deep; enablePrivateCluster is the literal true, no ranges
    row(concat_qs!("quickstarts/microsoft.machinelearningservices/machine-learning-end-to-end-secure/azuredeploy.json"), Some(concat_qs!("quickstarts/microsoft.machinelearningservices/machine-learning-end-to-end-secure/azuredeploy.parameters.json")), 1903, None, NotApplicable, &[]),
    // same layout (v1 legacy mode); literal enablePrivateCluster true
    row(concat_qs!("quickstarts/microsoft.machinelearningservices/machine-learning-end-to-end-secure-v1-legacy-mode/azuredeploy.json"), Some(concat_qs!("quickstarts/microsoft.machinelearningservices/machine-learning-end-to-end-secure-v1-legacy-mode/azuredeploy.parameters.json")), 1885, None, NotApplicable, &[]),
    // inner scope: aksClusterEnablePrivateCluster passed from the root, default false; no ranges
    row(concat_qs!("quickstarts/microsoft.network/aks-application-gateway-ingress-controller/azuredeploy.json"), Some(concat_qs!("quickstarts/microsoft.network/aks-application-gateway-ingress-controller/azuredeploy.parameters.json")), 3227, None, Fail, &[AUTH]),
    // AVM module in inner scope: enablePrivateCluster not passed (default false), authorizedIPRanges nullable -> null
    row("Azure__bicep-registry-modules/avm/ptn/azd/aks/main.json", None, 2879, None, Fail, &[AUTH]),
    // same module for AKS Automatic: nothing about the API server passed -> public, ranges null
    row("Azure__bicep-registry-modules/avm/ptn/azd/aks-automatic-cluster/main.json", None, 2083, None, Fail, &[AUTH]),
    // apiServerAccessProfile passed as the literal object {enablePrivateCluster: false}: no ranges
    row("Azure__bicep-registry-modules/avm/ptn/sa/document-knowledge-mining/main.json", None, 54126, None, Fail, &[AUTH]),
    // module alone: apiServerAccessProfile is nullable with no value -> null -> public without ranges
    row("Azure__bicep-registry-modules/avm/res/container-service/managed-cluster/main.json", None, 1668, None, Fail, &[AUTH]),
    // no parameter file links (azuredeploy.parameters.prod.json -> azuredeploy.json, absent); clusterAuthorizedIPRanges default []
    row("mspnp__aks-baseline/cluster-stamp.json", None, 831, None, Fail, &[AUTH]),
    // parameter files name azuredeploy.json, absent; clusterAuthorizedIPRanges default [], enablePrivateCluster literal false
    row("mspnp__aks-baseline-multi-region/cluster-stamp.json", None, 801, None, Fail, &[AUTH]),
    // literal enablePrivateCluster true, no ranges
    row("mspnp__aks-baseline-regulated/cluster-stamp.json", None, 1229, None, NotApplicable, &[]),
    // literal enablePrivateCluster true, no ranges
    row("mspnp__aks-baseline-regulated/cluster-stamp.v2.json", None, 1229, None, NotApplicable, &[]),
    // parameter file not linked (names azuredeploy.json); clusterAuthorizedIPRanges default []
    row("mspnp__aks-fabrikam-dronedelivery/cluster-stamp.json", None, 821, None, Fail, &[AUTH]),
];

/// `../shared/corpus/psrule-tests` and `../shared/corpus/peer-fixtures`,
/// relative to the corpus: rows where the upstream test states an outcome.
const PEERS: &[Row] = &[
    // PSRule Azure.AKS.Tests.ps1 'With Template': clusterA fails (no apiServerAccessProfile)
    row("psrule-tests/tests/PSRule.Rules.Azure.Tests/Resources.AKS.Template.json", None, 44, Some("clusterA"), Fail, &[AUTH]),
    // PSRule: clusterB passes; `authorizedIpRanges` (any case) = ["0.0.0.0/32"], the documented outbound-only value
    row("psrule-tests/tests/PSRule.Rules.Azure.Tests/Resources.AKS.Template.json", None, 204, Some("clusterB"), Pass, &[]),
    // PSRule: clusterD passes; ["0.0.0.0/32"]
    row("psrule-tests/tests/PSRule.Rules.Azure.Tests/Resources.AKS.Template.json", None, 421, Some("clusterD"), Pass, &[]),
    // PSRule: clusterE passes; ["0.0.0.0/32"]
    row("psrule-tests/tests/PSRule.Rules.Azure.Tests/Resources.AKS.Template.json", None, 622, Some("clusterE"), Pass, &[]),
    // PSRule: clusterF passes; ["0.0.0.0/32"]
    row("psrule-tests/tests/PSRule.Rules.Azure.Tests/Resources.AKS.Template.json", None, 825, Some("clusterF"), Pass, &[]),
    // PSRule's documentation example (its examples pass its rules): ["0.0.0.0/32"]
    row("psrule-tests/docs/examples/resources/aks.json", None, 179, None, Pass, &[]),
    // second documentation example: ["0.0.0.0/32"]
    row("psrule-tests/docs/examples/resources/aks.json", None, 273, None, Pass, &[]),
    // documentation example of a private cluster: the rule does not apply
    row("psrule-tests/docs/examples/resources/aks.json", None, 363, None, NotApplicable, &[]),
    // Checkov PASSED: api 2019-02-01 carries the legacy properties.apiServerAuthorizedIPRanges = ["73.140.245.0/24"]
    row("peer-fixtures/checkov/tests/arm/checks/resource/example_AKSApiServerAuthorizedIpRanges/aks-authIPRanges-preview-PASSED.json", None, 86, Some("aks101cluster"), Pass, &[]),
    // Checkov FAILED: api 2019-02-01 without the legacy setting
    row("peer-fixtures/checkov/tests/arm/checks/resource/example_AKSApiServerAuthorizedIpRanges/aks-authIPRanges-preview-FAILED.json", None, 86, Some("aks101cluster"), Fail, &[AUTH]),
    // Checkov FAILED: `properties` is the string "yo" (Azure would reject it too); no ranges can be read
    row("peer-fixtures/checkov/tests/arm/checks/resource/example_AKSApiServerAuthorizedIpRanges/aks-authIPRanges-preview-FAILED-3.json", None, 86, Some("aks101cluster"), Fail, &[AUTH]),
    // Checkov PASSED: ["73.140.245.0/24"] with enablePrivateCluster "false" (a string)
    row("peer-fixtures/checkov/tests/arm/checks/resource/example_AKSApiServerAuthorizedIpRanges/aks-authIPRanges-supported-PASSED.json", None, 86, Some("aks101cluster"), Pass, &[]),
    // Checkov FAILED: api 2020-03-01, no apiServerAccessProfile
    row("peer-fixtures/checkov/tests/arm/checks/resource/example_AKSApiServerAuthorizedIpRanges/aks-authIPRanges-supported-FAILED.json", None, 86, Some("aks101cluster"), Fail, &[AUTH]),
    // Checkov FAILED: authorizedIPRanges [] with enablePrivateCluster "false"
    row("peer-fixtures/checkov/tests/arm/checks/resource/example_AKSApiServerAuthorizedIpRanges/aks-authIPRanges-supported-FAILED-2.json", None, 86, Some("aks101cluster"), Fail, &[AUTH]),
    // Checkov FAILED: api 2017-08-31 predates the setting
    row("peer-fixtures/checkov/tests/arm/checks/resource/example_AKSApiServerAuthorizedIpRanges/aks-authIPRanges-unsupported-FAILED.json", None, 271, None, Fail, &[AUTH]),
    // KICS negative: two bare IPv4 addresses (each a /32)
    row("peer-fixtures/kics/assets/queries/azureResourceManager/aks_with_authorized_ip_ranges_disabled/test/negative1.json", None, 5, Some("aksCluster1"), Pass, &[]),
    // KICS negative: api 2019-02-01 legacy setting with two addresses
    row("peer-fixtures/kics/assets/queries/azureResourceManager/aks_with_authorized_ip_ranges_disabled/test/negative2.json", None, 5, Some("aksCluster1"), Pass, &[]),
    // KICS positive: api 2017-08-31 has no such setting
    row("peer-fixtures/kics/assets/queries/azureResourceManager/aks_with_authorized_ip_ranges_disabled/test/positive1.json", None, 5, Some("aksCluster1"), Fail, &[AUTH]),
    // KICS positive: api 2019-02-01 without the legacy setting
    row("peer-fixtures/kics/assets/queries/azureResourceManager/aks_with_authorized_ip_ranges_disabled/test/positive2.json", None, 5, Some("aksCluster1"), Fail, &[AUTH]),
    // KICS positive: legacy setting []
    row("peer-fixtures/kics/assets/queries/azureResourceManager/aks_with_authorized_ip_ranges_disabled/test/positive3.json", None, 5, Some("aksCluster1"), Fail, &[AUTH]),
    // KICS positive: api 2020-02-01 without apiServerAccessProfile
    row("peer-fixtures/kics/assets/queries/azureResourceManager/aks_with_authorized_ip_ranges_disabled/test/positive4.json", None, 5, Some("aksCluster1"), Fail, &[AUTH]),
    // KICS positive: authorizedIPRanges []
    row("peer-fixtures/kics/assets/queries/azureResourceManager/aks_with_authorized_ip_ranges_disabled/test/positive5.json", None, 5, Some("aksCluster1"), Fail, &[AUTH]),
    // Template Analyzer passes ["IP1"] (a placeholder); upstream disagrees with Azure, which rejects it: InvalidRange
    row("peer-fixtures/template-analyzer/src/Analyzer.Core.BuiltInRuleTests/Tests/TA-000023/Kubernetes.json", None, 14, Some("AKS_AuthorizedIPs"), Fail, &[INVALID]),
    // Template Analyzer does not report [] (upstream disagrees: an empty list disables the feature); we fail it like PSRule
    row("peer-fixtures/template-analyzer/src/Analyzer.Core.BuiltInRuleTests/Tests/TA-000023/Kubernetes.json", None, 25, Some("AKS_AuthorizedIPsEmpty"), Fail, &[AUTH]),
    // Template Analyzer reports line 42: empty apiServerAccessProfile
    row("peer-fixtures/template-analyzer/src/Analyzer.Core.BuiltInRuleTests/Tests/TA-000023/Kubernetes.json", None, 36, Some("AKS_NoIPRestrictions"), Fail, &[AUTH]),
    // Template Analyzer passes a private cluster; for us the rule does not apply
    row("peer-fixtures/template-analyzer/src/Analyzer.Core.BuiltInRuleTests/Tests/TA-000023/Kubernetes.json", None, 45, Some("AKS_EnablePrivateClusterTrue"), NotApplicable, &[]),
    // Template Analyzer reports lines 62-63: public (enablePrivateCluster false) without ranges
    row("peer-fixtures/template-analyzer/src/Analyzer.Core.BuiltInRuleTests/Tests/TA-000023/Kubernetes.json", None, 56, Some("AKS_EnablePrivateClusterFalse"), Fail, &[AUTH]),
    // Template Analyzer passes ["IP1"] on a public cluster; upstream disagrees with Azure: InvalidRange
    row("peer-fixtures/template-analyzer/src/Analyzer.Core.BuiltInRuleTests/Tests/TA-000023/Kubernetes.json", None, 67, Some("AKS_EnablePrivateClusterFalse_AuthorizedIPs"), Fail, &[INVALID]),
];

/// Files in the peer folders that are not deployment templates (no
/// deploymentTemplate `$schema` at the top): they must give no evaluation.
/// PSRule's resource snapshots, KICS's wrapped deployments (its positives
/// 6-10 and negatives 3-4, which KICS flags but are not templates), Trivy's
/// adapter and rego inputs, and the expectation lists.
const NOT_TEMPLATES: &[&str] = &[
    "psrule-tests/tests/PSRule.Rules.Azure.Tests/Resources.AKS.json",
    "peer-fixtures/kics/assets/queries/azureResourceManager/aks_with_authorized_ip_ranges_disabled/test/positive6.json",
    "peer-fixtures/kics/assets/queries/azureResourceManager/aks_with_authorized_ip_ranges_disabled/test/positive10.json",
    "peer-fixtures/kics/assets/queries/azureResourceManager/aks_with_authorized_ip_ranges_disabled/test/negative3.json",
    "peer-fixtures/kics/assets/queries/azureResourceManager/aks_with_authorized_ip_ranges_disabled/test/negative4.json",
    "peer-fixtures/trivy/pkg/iac/adapters/arm/container/adapt_test.go.complete.json",
    "peer-fixtures/trivy/pkg/iac/adapters/arm/container/adapt_test.go.defaults.json",
    "peer-fixtures/trivy-checks/checks/cloud/azure/container/limit_authorized_ips_test.rego.test_deny_authorized_ip_ranges_undefined.input.json",
];

type Key = (String, Option<String>, u32);

fn key_text(key: &Key) -> String {
    format!(
        "{}{}:{}",
        key.0,
        key.1
            .as_ref()
            .map(|p| format!(" [{p}]"))
            .unwrap_or_default(),
        key.2
    )
}

/// Compares a report to a table; returns every mismatch.
fn compare(report: &Report, table: &[Row]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen: BTreeSet<Key> = BTreeSet::new();
    let mut rows: BTreeMap<Key, &Row> = BTreeMap::new();
    for r in table {
        let key = (r.file.to_string(), r.params.map(str::to_string), r.line);
        assert!(
            rows.insert(key.clone(), r).is_none(),
            "duplicate table row {}",
            key_text(&key)
        );
    }
    let files_with_errors: BTreeSet<&str> = report.errors.iter().map(|e| e.file.as_str()).collect();

    for res in &report.resources {
        let key = (res.file.clone(), res.parameter_file.clone(), res.line);
        if !seen.insert(key.clone()) {
            problems.push(format!("{}: evaluated twice", key_text(&key)));
        }
        let Some(row) = rows.get(&key) else {
            problems.push(format!(
                "{}: `{}` judged {} but not in the table (an `existing` reference, a wrong line, or a parameter file linked wrongly?)",
                key_text(&key),
                res.name,
                res.outcome.as_str()
            ));
            continue;
        };
        let mut errors: Vec<&str> = res
            .findings
            .iter()
            .filter(|f| f.level == Level::Error)
            .map(|f| f.rule_id)
            .collect();
        errors.sort_unstable();
        errors.dedup();
        let reason = res.reason.as_deref().unwrap_or("");
        match row.expect.outcome() {
            Some(outcome) => {
                if res.outcome != outcome || errors != row.errors {
                    problems.push(format!(
                        "{}: expected {} {:?}, got {} {:?} {}",
                        key_text(&key),
                        outcome.as_str(),
                        row.errors,
                        res.outcome.as_str(),
                        errors,
                        reason
                    ));
                }
            }
            None => {
                if res.outcome != Outcome::Unknown {
                    problems.push(format!(
                        "{}: the template is broken (Azure rejects it); expected no verdict or unknown, got {} {:?}",
                        key_text(&key),
                        res.outcome.as_str(),
                        errors
                    ));
                }
            }
        }
        if let Some(name) = row.name {
            if res.name != name {
                problems.push(format!(
                    "{}: expected the name `{name}`, got `{}`",
                    key_text(&key),
                    res.name
                ));
            }
        }
    }

    for (key, row) in &rows {
        if row.expect == Broken {
            if !files_with_errors.contains(row.file) {
                problems.push(format!(
                    "{}: the template is broken (Azure rejects it) but no error was reported for the file",
                    key_text(key)
                ));
            }
        } else if !seen.contains(key) {
            problems.push(format!(
                "{}: expected {} but the cluster was not evaluated",
                key_text(key),
                row.expect.outcome().map(Outcome::as_str).unwrap_or("?")
            ));
        }
    }
    problems
}

fn scan_or_panic(base: &Path, paths: &[&str]) -> Report {
    match std::panic::catch_unwind(|| scan_in(base, paths)) {
        Ok(report) => report,
        Err(_) => panic!("scanning {paths:?} under {} panicked", base.display()),
    }
}

fn summary(table: &[Row]) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in table {
        *counts.entry(format!("{:?}", r.expect)).or_default() += 1;
    }
    format!("{counts:?}")
}

#[test]
fn aks_realworld_matches_the_hand_made_oracle() {
    let Some(corpus) = corpus() else {
        return;
    };
    let base = corpus.join("aks-realworld");
    if !base.is_dir() {
        println!("skipped: ../shared/corpus/aks-realworld not found");
        return;
    }
    assert_eq!(
        AKS_REALWORLD.len(),
        34,
        "33 clusters, one with two parameter files"
    );
    let distinct: BTreeSet<(&str, u32)> = AKS_REALWORLD.iter().map(|r| (r.file, r.line)).collect();
    assert_eq!(distinct.len(), 33, "33 deployed clusters");

    let report = scan_or_panic(&base, &["."]);

    let mut problems = compare(&report, AKS_REALWORLD);

    // No `existing` reference is judged, and there are 26 of them.
    let references = existing_references(&base);
    if references.len() != 26 {
        problems.push(format!(
            "expected 26 `existing` cluster references in the corpus, found {}",
            references.len()
        ));
    }
    for r in &report.resources {
        if references.contains(&(r.file.clone(), r.line)) {
            problems.push(format!(
                "{}:{} (`{}`) is an `existing` reference and must not be judged",
                r.file, r.line, r.name
            ));
        }
    }

    let matched = AKS_REALWORLD.len().saturating_sub(
        problems
            .iter()
            .filter(|p| !p.starts_with("expected 26"))
            .map(|p| p.split(": ").next().unwrap_or(""))
            .collect::<BTreeSet<_>>()
            .len(),
    );
    println!(
        "aks-realworld: {matched} of {} rows match; table {}",
        AKS_REALWORLD.len(),
        summary(AKS_REALWORLD)
    );
    assert!(
        problems.is_empty(),
        "{} mismatches against the aks-realworld oracle ({matched} of {} rows match):\n{}",
        problems.len(),
        AKS_REALWORLD.len(),
        problems.join("\n")
    );
}

#[test]
fn psrule_and_peer_fixtures_match_the_upstream_outcomes() {
    let Some(corpus) = corpus() else {
        return;
    };
    for folder in ["psrule-tests", "peer-fixtures"] {
        if !corpus.join(folder).is_dir() {
            println!("skipped: ../shared/corpus/{folder} not found");
            return;
        }
    }
    let mut report = scan_or_panic(&corpus, &["psrule-tests", "peer-fixtures"]);
    let mut problems = Vec::new();
    for file in NOT_TEMPLATES {
        if report.resources.iter().any(|r| r.file == *file) {
            problems.push(format!(
                "{file}: not a deployment template, but it was judged"
            ));
        }
    }
    // PSRule's Template.Parsing.* files test template expansion, not this
    // rule: no upstream outcome to compare, so they are left out here.
    report
        .resources
        .retain(|r| !r.file.contains("/Template.Parsing."));
    problems.extend(compare(&report, PEERS));
    println!("peers: table {}", summary(PEERS));
    assert!(
        problems.is_empty(),
        "{} mismatches against the upstream outcomes:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// (file relative to `base`, line) of every `"existing": true` cluster.
fn existing_references(base: &Path) -> BTreeSet<(String, u32)> {
    let mut out = BTreeSet::new();
    let mut files = Vec::new();
    json_files(base, &mut files);
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(root) = parse(&text) else {
            continue;
        };
        let display = path
            .strip_prefix(base)
            .expect("inside the folder")
            .to_string_lossy()
            .replace('\\', "/");
        let lines = LineIndex::new(&text);
        let mut starts = Vec::new();
        existing_clusters(&root, &mut starts);
        for start in starts {
            out.insert((display.clone(), lines.position(&text, start).line));
        }
    }
    out
}
