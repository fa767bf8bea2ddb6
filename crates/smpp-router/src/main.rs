//! `smpp-router`: run the router, check a config, or hash a password for one. Everything
//! else lives in the library ([`smpp_router::daemon`]).
//!
//! The allocator is mimalloc: every message allocates and frees small objects on several tasks
//! (frames, tasks, store operations), and with glibc's malloc that was ~30% of the router's CPU
//! (benches/e2e/README.md has the profile; mimalloc cut its CPU per message by ~0.7×). It is
//! built without transparent huge pages (`no_thp`): with them, mimalloc backs its memory with
//! 2 MiB pages that a few live objects keep resident, and the router's RSS climbed over a long
//! run (89 → 187 MB over 4 million messages, 60 % of it huge pages) where without them it holds
//! at 60–110 MB, at the same CPU and rate.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use smpp_router::config::Config;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(version, about = "A high-throughput SMPP message router")]
struct Cli {
    /// The configuration file.
    #[arg(long, short, default_value = "config/router.toml", global = true)]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Check the configuration and exit (0 when valid).
    Check,
    /// Print an Argon2 hash of a password for `password_hash` (reads it from stdin when absent).
    HashPassword {
        /// The password.
        password: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Check) => match load(&cli.config) {
            Some(c) => {
                println!(
                    "{}: ok ({} accounts, {} connectors, {} routes)",
                    cli.config.display(),
                    c.accounts.len(),
                    c.connectors.len(),
                    c.routes.len()
                );
                ExitCode::SUCCESS
            }
            None => ExitCode::FAILURE,
        },
        Some(Command::HashPassword { password }) => {
            let password = password.unwrap_or_else(|| {
                let mut line = String::new();
                let _ = std::io::stdin().read_line(&mut line);
                line.trim_end_matches(['\r', '\n']).to_owned()
            });
            println!("{}", smpp_router::accounts::hash_password(&password));
            ExitCode::SUCCESS
        }
        None => {
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "info".into()),
                )
                .init();
            // The runtime's size is read before the daemon starts (and kept over reloads).
            let Some(workers) = load(&cli.config).map(|c| c.node.workers) else {
                return ExitCode::FAILURE;
            };
            let mut builder = if workers == 1 {
                tokio::runtime::Builder::new_current_thread()
            } else {
                let mut b = tokio::runtime::Builder::new_multi_thread();
                b.worker_threads(workers);
                b
            };
            let runtime = match builder.enable_all().build() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(smpp_router::daemon::run(&cli.config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("{}: {e}", cli.config.display());
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// The config at `path`, or `None` after printing what is wrong with it.
fn load(path: &Path) -> Option<Config> {
    Config::load(path)
        .map_err(|e| eprintln!("{}: {e}", path.display()))
        .ok()
}
