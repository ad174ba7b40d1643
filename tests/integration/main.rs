//! Integration tests for the scanner core. One test binary (faster to link
//! than one per file), one module per area:
//!
//! - `scan`: every fixture through the library API, with exact outcomes,
//!   rule ids, lines and columns;
//! - `cli`: the real binary, with CI variables cleared (exit codes, paths,
//!   formats, filters, `.gitignore`);
//! - `snapshots`: each renderer on one shared fixture set (`tests/snapshots/`);
//! - `sarif`: SARIF against the 2.1.0 schema and GitHub code scanning's needs;
//! - `hostile`: huge, deeply nested, non-UTF-8 and UTF-16 files;
//! - `engine`: the template expansion engine, construct by construct, on
//!   `tests/fixtures/engine/`;
//! - `suppressions`: the configuration file, `ps-rule.yaml` and template
//!   metadata (rules off, levels, suppressions) through the binary;
//! - `docs`: the `rules` and `explain` commands, the rule docs, the generated
//!   pages in `docs/rules/`;
//! - `corpus`: the shared corpus of real templates, when it is present;
//! - `fixes`: each fix applied, re-parsed and re-scanned, and `scan --fix`;
//! - `github`: annotations, job summary and outputs in GitHub Actions.
//! - `azure`: logging commands, task result, SARIF artifact and build
//!   summary in Azure Pipelines.
//! - `github_review`: `scan --pr-comments` against a stand-in GitHub API on
//!   127.0.0.1.
//! - `azure_threads`: `scan --pr-comments` on Azure Pipelines against a
//!   stand-in Azure DevOps REST API on 127.0.0.1 (`stand_in` holds the HTTP
//!   plumbing).

mod azure;
mod azure_threads;
mod cli;
mod corpus;
mod docs;
mod engine;
mod fixes;
mod github;
mod github_review;
mod hostile;
mod realworld;
mod sarif;
mod scan;
mod snapshots;
mod stand_in;
mod suppressions;
mod util;
