//! A faithful local VTEX OMS simulator (axum), embedded with `--sandbox` or standalone.
//! (Skeleton: the sandbox helper replaces this file.)

/// Options of `invoice-import sandbox`.
#[derive(Debug, clap::Args)]
pub struct SandboxArgs {}

/// Runs the standalone sandbox until Ctrl-C.
pub fn run_cli(_args: SandboxArgs) -> anyhow::Result<()> {
    anyhow::bail!("sandbox not built yet")
}
