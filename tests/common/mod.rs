//! Test harness: a fresh folder per test, the real binary, and output that explains a failure.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_invoice-import")
}

/// The repository root (for samples/ and tests/data/).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/data/<rel>` if it exists (CI has shared/ beside the clone).
pub fn shared_data(rel: &str) -> Option<PathBuf> {
    let p = repo().join("../shared/data").join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipping: {} is absent", p.display());
        None
    }
}

pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, contents).expect("write input");
        p
    }

    pub fn copy(&self, from: &Path, name: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::copy(from, &p).expect("copy input");
        p
    }

    pub fn read(&self, name: &str) -> String {
        let text =
            std::fs::read_to_string(self.path(name)).unwrap_or_else(|e| panic!("read {name}: {e}"));
        text.trim_start_matches('\u{feff}').to_string()
    }

    /// `check --format json --timezone UTC FILE`: what most tests of one file run.
    pub fn check_json(&self, file: &str) -> Run {
        self.run(&["check", "--format", "json", "--timezone", "UTC", file])
    }

    /// A command for the binary, run in this folder, with no VTEX credentials inherited.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.current_dir(self.dir.path())
            .args(args)
            .env_remove("VTEX_APP_KEY")
            .env_remove("VTEX_APP_TOKEN")
            .env("TZ", "UTC")
            .env("HOME", self.dir.path())
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let mut c = self.cmd(args);
        Run::of(&mut c, args)
    }
}

/// A finished run of the binary.
pub struct Run {
    pub args: String,
    pub output: Output,
}

impl Run {
    pub fn of(c: &mut Command, args: &[&str]) -> Run {
        let output = c.output().expect("run the binary");
        Run {
            args: args.join(" "),
            output,
        }
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }

    /// Asserts the exit code, showing everything the run printed when it differs.
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code(),
            code,
            "invoice-import {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args,
            self.stdout(),
            self.stderr()
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.output.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\n--- stderr ---\n{}",
                self.stdout(),
                self.stderr()
            )
        })
    }
}

/// Reads a CSV the tool wrote (BOM stripped) into header + rows.
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    // A results file follows its input's convention: `;` (and decimal commas) for a `;` input.
    let header = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let delimiter = if header.contains(&b';') && !header.contains(&b',') {
        b';'
    } else {
        b','
    };
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(bytes);
    let headers = r
        .headers()
        .expect("headers")
        .iter()
        .map(str::to_string)
        .collect();
    let rows = r
        .records()
        .map(|rec| rec.expect("record").iter().map(str::to_string).collect())
        .collect();
    (headers, rows)
}
pub mod sim;

/// Writes `headers` across row `row` of a worksheet, from column A.
pub fn write_headers(ws: &mut rust_xlsxwriter::Worksheet, row: u32, headers: &[&str]) {
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(row, c as u16, *h).unwrap();
    }
}

/// Writes an ODS whose one sheet's rows are `rows` (`table:table-row` elements).
pub fn ods(path: &Path, rows: &str) {
    use std::io::Write;
    let file = std::fs::File::create(path).expect("create ods");
    let mut zip = zip::ZipWriter::new(file);
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated = zip::write::SimpleFileOptions::default();
    zip.start_file("mimetype", stored).expect("zip part");
    zip.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
        .expect("zip write");
    zip.start_file("META-INF/manifest.xml", deflated)
        .expect("zip part");
    zip.write_all(
        br#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#,
    )
    .expect("zip write");
    zip.start_file("content.xml", deflated).expect("zip part");
    write!(
        zip,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="Planilha1">{rows}</table:table></office:spreadsheet></office:body></office:document-content>"#
    )
    .expect("zip write");
    zip.finish().expect("zip finish");
}

/// An ODS row of text cells, then number cells.
pub fn ods_row(texts: &[&str], numbers: &[&str]) -> String {
    let texts = texts.iter().map(|t| {
        format!(r#"<table:table-cell office:value-type="string"><text:p>{t}</text:p></table:table-cell>"#)
    });
    let numbers = numbers.iter().map(|v| {
        format!(r#"<table:table-cell office:value-type="float" office:value="{v}"><text:p>{v}</text:p></table:table-cell>"#)
    });
    format!(
        "<table:table-row>{}</table:table-row>",
        texts.chain(numbers).collect::<String>()
    )
}

/// Waits for `child` up to `limit`; past it, kills it and fails, saying `what` it was doing.
pub fn wait_or_kill(
    child: &mut std::process::Child,
    limit: std::time::Duration,
    what: &str,
) -> std::process::ExitStatus {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {limit:?}: {what}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
