//! The configuration file (TOML) and the one validated [`Settings`] a submit run uses, built from
//! flags > environment (credentials only) > file > defaults. Nothing downstream re-reads raw flags.
//!
//! The file is `--config PATH`, else `./invoice-import.toml`, else `invoice-import/config.toml` in
//! the user's config directory; none at all is fine. Unknown keys are errors naming file and key, so
//! a typo (`concurency = 4`) never silently falls back to a default.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::cli::{InputArgs, SendArgs};
use crate::mapping::Override;
use crate::report::results::ResultsDelimiter;
use crate::vtex::client::{Credentials, CredentialsError, Target, TargetError};

pub const DEFAULT_ENVIRONMENT: &str = "vtexcommercestable";
pub const DEFAULT_RATE: f64 = 10.0;
pub const DEFAULT_CONCURRENCY: usize = 8;
pub const DEFAULT_TIMEOUT: f64 = 30.0;
pub const DEFAULT_MAX_ATTEMPTS: u32 = 6;
/// Seconds. Longer than any rate limit's usual Retry-After, short enough that an unattended
/// run told to wait hours says so instead of sleeping through them.
pub const DEFAULT_MAX_WAIT: f64 = 900.0;
/// Seconds an order is looked at before an uncertain invoice is sent again: VTEX shows a new
/// invoice within seconds.
pub const DEFAULT_LOOK_FOR: f64 = 6.0;
/// Requests per second accepted for `--rate`: one an hour at least, far beyond any API at most.
const MIN_RATE: f64 = 1.0 / 3600.0;
const MAX_RATE: f64 = 1e9;
/// A week: the most any time setting accepts (a longer one is a typo, and overflows clocks).
const MAX_SECONDS: f64 = 7.0 * 24.0 * 3600.0;
pub const FILE_NAME: &str = "invoice-import.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // The cause is this error's source, which a report of the chain prints after it.
    #[error("can't read the config file {path}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// toml's message names the unknown key and shows the line.
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config file {path}: {key}: {message}")]
    Value {
        path: PathBuf,
        key: String,
        message: String,
    },
    #[error("{0}")]
    Invalid(String),
    #[error(
        "secrets file {path} is readable by group or others (mode {mode:o}); run `chmod 600 {path}`"
    )]
    SecretsExposed { path: PathBuf, mode: u32 },
    #[error("can't read the secrets file {path}")]
    SecretsRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// The secrets file was read and lacks what the environment lacks too.
    #[error("secrets file {path}: {source}")]
    SecretsIncomplete {
        path: PathBuf,
        source: CredentialsError,
    },
    /// One of the two variables is in the environment: mixing it with the file's other one
    /// would send a key and a token of two accounts.
    #[error(
        "{set} is set in the environment but {unset} is not; set both, or neither to use the \
         secrets file {path}"
    )]
    HalfInEnvironment {
        set: &'static str,
        unset: &'static str,
        path: PathBuf,
    },
}

/// The file as written. Every table refuses unknown keys.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub target: TargetSection,
    #[serde(default)]
    pub submit: SubmitSection,
    #[serde(default)]
    pub input: InputSection,
    #[serde(default)]
    pub output: OutputSection,
    #[serde(default)]
    pub credentials: CredentialsSection,
    /// Named column mappings, one per ERP export: `[profiles.erp-a] order_id = "Pedido"`.
    #[serde(default)]
    pub profiles: BTreeMap<String, BTreeMap<String, String>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSection {
    pub account: Option<String>,
    pub environment: Option<String>,
    pub base_url: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitSection {
    pub rate: Option<f64>,
    pub concurrency: Option<usize>,
    pub timeout: Option<f64>,
    pub max_attempts: Option<u32>,
    pub max_wait: Option<f64>,
    pub look_for: Option<f64>,
    pub ledger: Option<PathBuf>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSection {
    pub timezone: Option<String>,
    pub date_format: Option<String>,
    /// `comma` (1.234,56) or `point` (1,234.56).
    pub decimal: Option<String>,
    pub delimiter: Option<String>,
    pub encoding: Option<String>,
    pub sheet: Option<String>,
    /// The header's row number, for files with a title above it.
    pub header_row: Option<u64>,
    /// The profile used when `--profile` is not given.
    pub profile: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSection {
    /// Folder for results and failed-rows files [default: beside each input].
    pub dir: Option<PathBuf>,
    /// UTF-8 byte-order mark on CSVs, so Excel shows accents [default: true].
    pub bom: Option<bool>,
    /// `,` or `;` between the results CSV's cells [default: the first input's convention].
    pub results_delimiter: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsSection {
    /// A file of `VTEX_APP_KEY=…` / `VTEX_APP_TOKEN=…` lines, mode 600. The environment wins.
    pub file: Option<PathBuf>,
}

/// A loaded file and where it came from.
#[derive(Debug, Default, Clone)]
pub struct Loaded {
    pub path: Option<PathBuf>,
    pub file: FileConfig,
}

impl Loaded {
    /// `explicit`, else `./invoice-import.toml`, else the user's config directory; an explicit
    /// path that does not exist is an error, the others are optional.
    pub fn discover(explicit: Option<&Path>) -> Result<Loaded, ConfigError> {
        if let Some(path) = explicit {
            return Loaded::read(path);
        }
        let mut candidates = vec![PathBuf::from(FILE_NAME)];
        if let Some(dir) = dirs::config_dir() {
            candidates.push(dir.join("invoice-import").join("config.toml"));
        }
        for path in candidates {
            if path.is_file() {
                return Loaded::read(&path);
            }
        }
        Ok(Loaded::default())
    }

    pub fn read(path: &Path) -> Result<Loaded, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Loaded::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Loaded, ConfigError> {
        let mut file: FileConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        // A relative path in the file means beside the file, as wherever the run starts (a
        // timer's working directory is not the user's) it is the same place.
        if let Some(base) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            for p in [
                &mut file.submit.ledger,
                &mut file.output.dir,
                &mut file.credentials.file,
            ]
            .into_iter()
            .flatten()
            {
                if p.is_relative() {
                    *p = base.join(&*p);
                }
            }
        }
        let loaded = Loaded {
            path: Some(path.to_path_buf()),
            file,
        };
        // Check every profile now, so a typo in one not used today still surfaces.
        for name in loaded.file.profiles.keys() {
            loaded.profile(name)?;
        }
        Ok(loaded)
    }

    fn value_error(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Value {
            path: self.path.clone().unwrap_or_default(),
            key: key.to_string(),
            message: message.into(),
        }
    }

    /// A named profile's column overrides.
    pub fn profile(&self, name: &str) -> Result<Vec<Override>, ConfigError> {
        let Some(table) = self.file.profiles.get(name) else {
            let known: Vec<&str> = self.file.profiles.keys().map(String::as_str).collect();
            return Err(ConfigError::Invalid(format!(
                "no profile named '{name}' (the config file has: {})",
                if known.is_empty() {
                    String::from("none")
                } else {
                    known.join(", ")
                }
            )));
        };
        table
            .iter()
            .map(|(field, header)| {
                format!("{field}={header}")
                    .parse::<Override>()
                    .map_err(|e| self.value_error(&format!("profiles.{name}.{field}"), e))
            })
            .collect()
    }

    /// Fills the reading options the flags left unset; flags always win.
    pub fn apply_input(&self, input: &mut InputArgs) -> Result<(), ConfigError> {
        let s = &self.file.input;
        if input.timezone.is_none()
            && let Some(tz) = &s.timezone
        {
            input.timezone = Some(
                crate::values::date::parse_timezone(tz)
                    .map_err(|e| self.value_error("input.timezone", e))?,
            );
        }
        if input.date_format.is_none()
            && let Some(f) = &s.date_format
        {
            input.date_format = Some(
                crate::values::date::parse_date_format(f)
                    .map_err(|e| self.value_error("input.date_format", e))?,
            );
        }
        if !input.decimal_comma && !input.decimal_point {
            match s.decimal.as_deref() {
                None => {}
                Some("comma") => input.decimal_comma = true,
                Some("point") => input.decimal_point = true,
                Some(other) => {
                    return Err(self.value_error(
                        "input.decimal",
                        format!("'{other}' is neither \"comma\" nor \"point\""),
                    ));
                }
            }
        }
        if input.delimiter.is_none()
            && let Some(d) = &s.delimiter
        {
            input.delimiter = Some(
                crate::source::parse_delimiter(d)
                    .map_err(|e| self.value_error("input.delimiter", e))?,
            );
        }
        if input.encoding.is_none()
            && let Some(e) = &s.encoding
        {
            input.encoding = Some(
                crate::source::parse_encoding(e)
                    .map_err(|e| self.value_error("input.encoding", e))?,
            );
        }
        if input.sheet.is_none() {
            if s.sheet
                .as_deref()
                .is_some_and(|name| name.trim().is_empty())
            {
                return Err(self.value_error("input.sheet", "a sheet name can't be empty"));
            }
            input.sheet.clone_from(&s.sheet);
        }
        if input.header_row.is_none()
            && let Some(row) = s.header_row
        {
            input.header_row = Some(
                crate::source::header_row(row)
                    .map_err(|e| self.value_error("input.header_row", e))?,
            );
        }
        let profile = input.profile.clone().or_else(|| s.profile.clone());
        if let Some(name) = profile {
            // A --map flag for a field beats the profile's entry for it.
            let from_profile = self.profile(&name)?;
            let flagged: Vec<_> = input.map.iter().map(|o| o.field).collect();
            input.map.extend(
                from_profile
                    .into_iter()
                    .filter(|o| !flagged.contains(&o.field)),
            );
            input.profile = Some(name);
        }
        Ok(())
    }
}

/// Where the credentials come from: never from flags, never printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    Environment,
    /// The environment if both variables are set, else this file.
    File(PathBuf),
}

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    Account {
        account: String,
        environment: String,
    },
    BaseUrl(String),
    Sandbox,
    /// Nothing said where; an error for commands that send.
    Unset,
}

impl TargetSpec {
    /// The VTEX URL this names, checked (an account name, https off loopback); `None` for the
    /// sandbox or when nothing says where.
    pub fn target(&self) -> Result<Option<Target>, TargetError> {
        match self {
            TargetSpec::Account {
                account,
                environment,
            } => Target::account(account, environment).map(Some),
            TargetSpec::BaseUrl(url) => Target::base_url(url).map(Some),
            TargetSpec::Sandbox | TargetSpec::Unset => Ok(None),
        }
    }
}

/// Everything `submit`/`track` needs, validated; built once from flags and the file.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config_file: Option<PathBuf>,
    pub target: TargetSpec,
    pub rate: f64,
    pub concurrency: usize,
    pub timeout: f64,
    pub max_attempts: u32,
    /// Seconds: the longest Retry-After the run waits out.
    pub max_wait: f64,
    /// Seconds: how long the order is looked at, after an attempt that may have been applied,
    /// before the invoice is sent again.
    pub look_for: f64,
    pub ledger: Option<PathBuf>,
    pub output_dir: Option<PathBuf>,
    pub bom: bool,
    /// `None`: the first input's convention ([`ResultsDelimiter::for_input`]).
    pub results_delimiter: Option<ResultsDelimiter>,
    pub credentials: CredentialSource,
    /// The file's `[input]` table, for `config show` (runs apply it with [`Loaded::apply_input`]).
    pub input: InputSection,
    pub profiles: Vec<String>,
}

impl Settings {
    /// Merges flags over the file over defaults and validates every number. (Reading options go
    /// through [`Loaded::apply_input`].)
    pub fn resolve(args: &SendArgs, loaded: &Loaded) -> Result<Settings, ConfigError> {
        let f = &loaded.file;
        let target = if args.sandbox {
            TargetSpec::Sandbox
        } else if let Some(url) = &args.base_url {
            TargetSpec::BaseUrl(url.clone())
        } else if let Some(account) = &args.account {
            TargetSpec::Account {
                account: account.clone(),
                environment: args
                    .environment
                    .clone()
                    .or_else(|| f.target.environment.clone())
                    .unwrap_or_else(|| DEFAULT_ENVIRONMENT.to_string()),
            }
        } else {
            match (&f.target.account, &f.target.base_url) {
                (Some(_), Some(_)) => {
                    return Err(loaded.value_error("target", "give account or base_url, not both"));
                }
                (Some(account), None) => TargetSpec::Account {
                    account: account.clone(),
                    environment: args
                        .environment
                        .clone()
                        .or_else(|| f.target.environment.clone())
                        .unwrap_or_else(|| DEFAULT_ENVIRONMENT.to_string()),
                },
                (None, Some(url)) => TargetSpec::BaseUrl(url.clone()),
                (None, None) => TargetSpec::Unset,
            }
        };
        let s = &f.submit;
        // A bad value is named where it was given: the flag, or the file's key (bug: "rate must
        // be …" left a user with a config file to guess which).
        let invalid = |flag: &str, from_flag: bool, message: String| match (&loaded.path, from_flag)
        {
            (Some(path), false) => ConfigError::Value {
                path: path.clone(),
                key: format!("submit.{}", flag.trim_start_matches('-').replace('-', "_")),
                message,
            },
            _ => ConfigError::Invalid(format!("{flag} {message}")),
        };
        let rate = args.rate.or(s.rate).unwrap_or(DEFAULT_RATE);
        // Bounded so every pause computed from it (1/rate, backoffs) is a time the clock can
        // hold: `--rate 1e-300` would otherwise ask for a gap of 10^300 seconds.
        if !(rate.is_finite() && (MIN_RATE..=MAX_RATE).contains(&rate)) {
            return Err(invalid(
                "--rate",
                args.rate.is_some(),
                format!(
                    "must be a number of requests per second from {MIN_RATE:.4} (one an hour) to \
                     {MAX_RATE}"
                ),
            ));
        }
        let concurrency = args
            .concurrency
            .or(s.concurrency)
            .unwrap_or(DEFAULT_CONCURRENCY);
        if concurrency == 0 {
            return Err(invalid(
                "--concurrency",
                args.concurrency.is_some(),
                String::from("must be at least 1"),
            ));
        }
        let timeout = args.timeout.or(s.timeout).unwrap_or(DEFAULT_TIMEOUT);
        if !(timeout.is_finite() && timeout > 0.0 && timeout <= MAX_SECONDS) {
            return Err(invalid(
                "--timeout",
                args.timeout.is_some(),
                format!("must be a number of seconds above 0 and at most {MAX_SECONDS}"),
            ));
        }
        let max_attempts = args
            .max_attempts
            .or(s.max_attempts)
            .unwrap_or(DEFAULT_MAX_ATTEMPTS);
        if max_attempts == 0 {
            return Err(invalid(
                "--max-attempts",
                args.max_attempts.is_some(),
                String::from("must be at least 1"),
            ));
        }
        let max_wait = args.max_wait.or(s.max_wait).unwrap_or(DEFAULT_MAX_WAIT);
        if !(max_wait.is_finite() && (0.0..=MAX_SECONDS).contains(&max_wait)) {
            return Err(invalid(
                "--max-wait",
                args.max_wait.is_some(),
                format!("must be a number of seconds from 0 to {MAX_SECONDS}"),
            ));
        }
        let look_for = args.look_for.or(s.look_for).unwrap_or(DEFAULT_LOOK_FOR);
        if !(look_for.is_finite() && (0.0..=MAX_SECONDS).contains(&look_for)) {
            return Err(invalid(
                "--look-for",
                args.look_for.is_some(),
                format!("must be a number of seconds from 0 to {MAX_SECONDS}"),
            ));
        }
        Ok(Settings {
            config_file: loaded.path.clone(),
            target,
            rate,
            concurrency,
            timeout,
            max_attempts,
            max_wait,
            look_for,
            ledger: args.ledger.clone().or_else(|| s.ledger.clone()),
            output_dir: args.output_dir.clone().or_else(|| f.output.dir.clone()),
            bom: !args.no_bom && f.output.bom.unwrap_or(true),
            results_delimiter: match (args.results_delimiter, &f.output.results_delimiter) {
                (Some(d), _) => Some(d),
                (None, Some(text)) => Some(
                    ResultsDelimiter::parse(text)
                        .map_err(|e| loaded.value_error("output.results_delimiter", e))?,
                ),
                (None, None) => None,
            },
            credentials: match &f.credentials.file {
                Some(p) => CredentialSource::File(p.clone()),
                None => CredentialSource::Environment,
            },
            input: f.input.clone(),
            profiles: f.profiles.keys().cloned().collect(),
        })
    }

    /// The credentials: both environment variables if set, else the secrets file (refused when
    /// group or others may read it).
    pub fn credentials(&self) -> Result<Credentials, ConfigError> {
        credentials_from(&self.credentials, |name| std::env::var(name).ok())
    }
}

fn credentials_from(
    source: &CredentialSource,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Credentials, ConfigError> {
    let from_env = Credentials::from_lookup(&env);
    match source {
        CredentialSource::Environment => Ok(from_env?),
        CredentialSource::File(path) => {
            if let Ok(c) = from_env {
                return Ok(c);
            }
            let set = |name: &str| env(name).is_some_and(|v| !v.trim().is_empty());
            let (key, token) = ("VTEX_APP_KEY", "VTEX_APP_TOKEN");
            if set(key) != set(token) {
                let (set, unset) = if set(key) { (key, token) } else { (token, key) };
                return Err(ConfigError::HalfInEnvironment {
                    set,
                    unset,
                    path: path.clone(),
                });
            }
            let vars = read_secrets(path)?;
            Credentials::from_lookup(|name| vars.get(name).cloned()).map_err(|source| {
                ConfigError::SecretsIncomplete {
                    path: path.clone(),
                    source,
                }
            })
        }
    }
}

/// Reads `NAME=value` lines (blank lines and `#` comments skipped; `export NAME=value` and
/// quoted values as a shell writes them) from a file only its owner can read.
pub fn read_secrets(path: &Path) -> Result<BTreeMap<String, String>, ConfigError> {
    use std::os::unix::fs::PermissionsExt;
    let read_err = |source| ConfigError::SecretsRead {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o044 != 0 {
        return Err(ConfigError::SecretsExposed {
            path: path.to_path_buf(),
            mode,
        });
    }
    let text = std::fs::read_to_string(path).map_err(read_err)?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let k = k.trim();
            let k = k.strip_prefix("export ").map_or(k, str::trim);
            let v = v.trim();
            let v = ['"', '\'']
                .iter()
                .find_map(|q| v.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
                .unwrap_or(v);
            (k.to_string(), v.to_string())
        })
        .collect())
}

/// Shows a secret's shape without its content: the first 4 characters of an app key (which names
/// the store, not a secret), nothing of a token.
pub(crate) fn mask_key(key: &str) -> String {
    let head: String = key.chars().take(4).collect();
    format!("{head}… ({} characters)", key.chars().count())
}

impl fmt::Display for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt = |p: &Option<PathBuf>, none: &str| {
            p.as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| none.to_string())
        };
        writeln!(
            f,
            "config file:   {}",
            opt(&self.config_file, "(none found)")
        )?;
        let target = match &self.target {
            TargetSpec::Account {
                account,
                environment,
            } => format!("https://{account}.{environment}.com.br"),
            TargetSpec::BaseUrl(u) => u.clone(),
            TargetSpec::Sandbox => String::from("built-in sandbox"),
            TargetSpec::Unset => String::from("(not set: --account, --base-url or --sandbox)"),
        };
        writeln!(f, "target:        {target}")?;
        writeln!(f, "rate:          {} requests/s", self.rate)?;
        writeln!(f, "concurrency:   {}", self.concurrency)?;
        writeln!(f, "timeout:       {} s", self.timeout)?;
        writeln!(f, "max attempts:  {}", self.max_attempts)?;
        writeln!(f, "max wait:      {} s", self.max_wait)?;
        writeln!(f, "look for:      {} s", self.look_for)?;
        writeln!(
            f,
            "ledger:        {}",
            opt(
                &self.ledger,
                "(one per target in the user's data directory)"
            )
        )?;
        writeln!(
            f,
            "output dir:    {}",
            opt(&self.output_dir, "(beside each input)")
        )?;
        writeln!(f, "csv bom:       {}", self.bom)?;
        match self.results_delimiter {
            Some(d) => writeln!(f, "results delim: {d}")?,
            None => writeln!(
                f,
                "results delim: (';' with amounts 1234,56 when the first input is a ';' CSV or \
                 uses decimal commas, else ',')"
            )?,
        }
        let i = &self.input;
        let or_detect =
            |v: &Option<String>| v.clone().unwrap_or_else(|| String::from("(detected)"));
        writeln!(
            f,
            "timezone:      {}",
            i.timezone
                .clone()
                .unwrap_or_else(|| String::from("(this machine's zone)"))
        )?;
        writeln!(f, "date format:   {}", or_detect(&i.date_format))?;
        writeln!(f, "decimal:       {}", or_detect(&i.decimal))?;
        writeln!(f, "delimiter:     {}", or_detect(&i.delimiter))?;
        writeln!(f, "encoding:      {}", or_detect(&i.encoding))?;
        writeln!(
            f,
            "sheet:         {}",
            i.sheet.as_deref().unwrap_or("(the first with data)")
        )?;
        writeln!(
            f,
            "header row:    {}",
            i.header_row
                .map_or_else(|| String::from("(detected)"), |r| r.to_string())
        )?;
        writeln!(
            f,
            "profile:       {} (defined: {})",
            i.profile.as_deref().unwrap_or("(none)"),
            if self.profiles.is_empty() {
                String::from("none")
            } else {
                self.profiles.join(", ")
            }
        )?;
        let source = match &self.credentials {
            CredentialSource::Environment => String::from("environment"),
            CredentialSource::File(p) => format!("environment, else {}", p.display()),
        };
        writeln!(f, "credentials:   {source}")?;
        match self.credentials() {
            Ok(c) => {
                writeln!(f, "  app key:     {}", mask_key(c.app_key()))?;
                writeln!(f, "  app token:   ******** (set)")
            }
            Err(e) => writeln!(f, "  not usable:  {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn submit_args(extra: &[&str]) -> crate::cli::SubmitArgs {
        let mut argv = vec!["invoice-import", "submit"];
        argv.extend_from_slice(extra);
        argv.push("in.csv");
        match crate::cli::Cli::try_parse_from(argv).unwrap().command {
            crate::cli::Command::Submit(a) => a,
            _ => unreachable!("parsed a submit command"),
        }
    }

    fn loaded(text: &str) -> Result<Loaded, ConfigError> {
        Loaded::parse(Path::new("test.toml"), text)
    }

    #[test]
    fn flags_beat_file_beats_defaults() {
        let l = loaded("[submit]\nrate = 3.5\nconcurrency = 2\n[target]\naccount = \"shop\"\n")
            .unwrap();
        let s = Settings::resolve(&submit_args(&["--rate", "7"]).send, &l).unwrap();
        assert_eq!(s.rate, 7.0);
        assert_eq!(s.concurrency, 2);
        assert_eq!(s.timeout, DEFAULT_TIMEOUT);
        assert_eq!(
            s.target,
            TargetSpec::Account {
                account: "shop".into(),
                environment: DEFAULT_ENVIRONMENT.into()
            }
        );
        let s = Settings::resolve(&submit_args(&["--sandbox"]).send, &l).unwrap();
        assert_eq!(s.target, TargetSpec::Sandbox);
    }

    #[test]
    fn unknown_keys_name_the_file_and_key() {
        let e = loaded("[submit]\nconcurency = 4\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("test.toml"), "{e}");
        assert!(e.contains("concurency"), "{e}");
        let e = loaded("colour = 1\n").unwrap_err().to_string();
        assert!(e.contains("colour"), "{e}");
    }

    #[test]
    fn bad_values_name_the_key() {
        let l = loaded("[input]\ntimezone = \"Mars/Olympus\"\n").unwrap();
        let e = l
            .apply_input(&mut submit_args(&[]).input)
            .unwrap_err()
            .to_string();
        assert!(e.contains("input.timezone"), "{e}");
        let e = loaded("[profiles.erp]\nnot_a_field = \"X\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("profiles.erp.not_a_field"), "{e}");
        let l = loaded("[submit]\nrate = 0\n").unwrap();
        assert!(Settings::resolve(&submit_args(&[]).send, &l).is_err());
    }

    #[test]
    fn profile_fills_fields_the_flags_leave() {
        let l = loaded(
            "[input]\nprofile = \"erp\"\ndecimal = \"comma\"\n\
             [profiles.erp]\norder_id = \"Pedido\"\ninvoice_number = \"NF\"\n",
        )
        .unwrap();
        let mut args = submit_args(&["--map", "order_id=Ref"]);
        l.apply_input(&mut args.input).unwrap();
        let maps: Vec<String> = args
            .input
            .map
            .iter()
            .map(|o| format!("{:?}={}", o.field, o.header))
            .collect();
        assert_eq!(maps, ["OrderId=Ref", "InvoiceNumber=NF"]);
        assert!(args.input.decimal_comma);
        let mut args = submit_args(&["--profile", "nope"]);
        assert!(l.apply_input(&mut args.input).is_err());
    }

    #[test]
    fn secrets_file_must_be_private_and_env_wins() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets");
        std::fs::write(
            &path,
            "# vtex\nVTEX_APP_KEY=vtexappkey-shop-X\nVTEX_APP_TOKEN=\"tok\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let source = CredentialSource::File(path.clone());
        let e = credentials_from(&source, |_| None).unwrap_err();
        assert!(matches!(e, ConfigError::SecretsExposed { .. }), "{e}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let c = credentials_from(&source, |_| None).unwrap();
        assert_eq!(c.app_key(), "vtexappkey-shop-X");
        let env = |n: &str| Some(format!("env-{n}"));
        let c = credentials_from(&source, env).unwrap();
        assert_eq!(c.app_key(), "env-VTEX_APP_KEY");

        // Found by a review: `export` lines were passed over, a missing name did not say which
        // file lacked it, and one variable in the environment took the other from the file.
        std::fs::write(
            &path,
            "export VTEX_APP_KEY='vtexappkey-shop-Y'\nexport VTEX_APP_TOKEN=tok\n",
        )
        .unwrap();
        let c = credentials_from(&source, |_| None).unwrap();
        assert_eq!(c.app_key(), "vtexappkey-shop-Y");
        std::fs::write(&path, "VTEX_APP_KEY=k\nVTEX_APP_TOKN=typo\n").unwrap();
        let e = credentials_from(&source, |_| None).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("secrets file {}: VTEX_APP_TOKEN", path.display())),
            "{e}"
        );
        let half = |n: &str| (n == "VTEX_APP_KEY").then(|| String::from("env-key"));
        let e = credentials_from(&source, half).unwrap_err();
        assert!(matches!(e, ConfigError::HalfInEnvironment { .. }), "{e}");
    }

    #[test]
    fn relative_paths_in_the_file_are_beside_it() {
        let text = "[submit]\nledger = \"l.db\"\n[output]\ndir = \"out\"\n\
                    [credentials]\nfile = \"/etc/secrets\"\n";
        let loaded = Loaded::parse(Path::new("/srv/ii/config.toml"), text).unwrap();
        let s = Settings::resolve(&submit_args(&[]).send, &loaded).unwrap();
        assert_eq!(s.ledger.as_deref(), Some(Path::new("/srv/ii/l.db")));
        assert_eq!(s.output_dir.as_deref(), Some(Path::new("/srv/ii/out")));
        assert!(
            matches!(&s.credentials, CredentialSource::File(p) if p == Path::new("/etc/secrets"))
        );
        // A flag's relative path is the shell's, as always.
        let s = Settings::resolve(&submit_args(&["--ledger", "x.db"]).send, &loaded).unwrap();
        assert_eq!(s.ledger.as_deref(), Some(Path::new("x.db")));
        // ./invoice-import.toml: beside it is here.
        let here = Loaded::parse(Path::new("invoice-import.toml"), text).unwrap();
        assert_eq!(here.file.submit.ledger.as_deref(), Some(Path::new("l.db")));
    }

    #[test]
    fn masking_shows_no_secret() {
        assert_eq!(mask_key("vtexappkey-shop-SECRET"), "vtex… (22 characters)");
    }
}
