//! Command-line definitions (clap) and dispatch to the subcommands.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "invoice-import", version, about = "Get invoice spreadsheets into VTEX OMS, exactly once.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a local VTEX OMS simulator until Ctrl-C.
    Sandbox(crate::sandbox::SandboxArgs),
}

/// Parses arguments, runs the command, returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sandbox(args) => crate::sandbox::run_cli(args).map(|()| 0),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            2
        }
    }
}
