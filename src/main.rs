//! The `aks-authorized-ips` binary: parse arguments, run, map to an exit code.

use clap::Parser;

fn main() {
    let cli = aks_authorized_ips::cli::Cli::parse();
    let code = match aks_authorized_ips::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            aks_authorized_ips::cli::EXIT_ERROR
        }
    };
    std::process::exit(code);
}
