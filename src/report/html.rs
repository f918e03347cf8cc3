//! The `--report` page: one self-contained HTML file (inline CSS and SVG, no scripts, no external
//! assets) a finance lead can open or forward: totals and money per status, failures grouped by
//! reason with their rows, and the request rate and 429s per second as a chart.
//!
//! Every piece of input or server text goes through [`escape`]. Elements carrying numbers have
//! `id`s so a test (or a scraper) can read them back.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::report::results::{ResultRow, Status};
use crate::report::summary::{RunSummary, Sample, peak_phrase};
use crate::report::{money_in, money_plain};

/// HTML-escapes text for element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The reason of an error message: its first problem (an invoice's several are joined by "; "),
/// without its location prefix (`file.csv row 12, column 'X': `), with quoted values as `'…'`
/// and numbers as `#`, so "the unit price is -5.00" and "… is -3.10" form one group (each row
/// keeps its full message).
fn reason(error: &str) -> String {
    let message = match error.split_once(": ") {
        Some((location, rest)) if location.contains(" row ") || location.contains(':') => rest,
        _ => error,
    };
    // Where the next problem starts: "; " and a location ("f.csv row 4, column 'V': ").
    let next_problem = message.match_indices("; ").find_map(|(at, _)| {
        let rest = message.get(at + 2..)?;
        let (location, _) = rest.split_once(": ")?;
        location.contains(" row ").then_some(at)
    });
    let message = next_problem
        .and_then(|at| message.get(..at))
        .unwrap_or(message);
    // A quoted value is the cell as written ('1.17245E+12', '2026-11-21T00:00:00+00:00'), which
    // differs row by row; a quote inside a word (can't) is not one.
    let mut unquoted = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(open) = rest.find('\'') {
        let before = rest.get(..open).unwrap_or("");
        let starts_value = before.is_empty() || before.ends_with([' ', '(']);
        let after = rest.get(open + 1..).unwrap_or("");
        match after.find('\'') {
            Some(close) if starts_value => {
                unquoted.push_str(before);
                unquoted.push_str("'…'");
                rest = after.get(close + 1..).unwrap_or("");
            }
            _ => {
                unquoted.push_str(rest.get(..=open).unwrap_or(""));
                rest = after;
            }
        }
    }
    unquoted.push_str(rest);
    let message = unquoted.as_str();
    let mut out = String::with_capacity(message.len());
    let mut in_number = false;
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        // A separator between digits is part of the figure, so a date or a time is one `#`
        // ("2026-02-30T10:00:00", not `#-#-#T…`).
        let between_digits = chars.peek().is_some_and(char::is_ascii_digit)
            && matches!(c, '.' | ',' | '-' | '/' | ':' | 'T');
        let numeric = c.is_ascii_digit() || (in_number && between_digits);
        if numeric {
            if !in_number {
                if out.ends_with('-') {
                    out.pop();
                }
                out.push('#');
            }
        } else {
            out.push(c);
        }
        in_number = numeric;
    }
    out
}

pub fn write(path: &Path, summary: &RunSummary, rows: &[ResultRow]) -> std::io::Result<()> {
    std::fs::write(path, render(summary, rows))
}

pub fn render(summary: &RunSummary, rows: &[ResultRow]) -> String {
    let money = |cents: i64| money_in(cents, summary.decimal_comma);
    let mut h = String::new();
    // Writing into a String cannot fail, so the fmt::Results below are ignored.
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>invoice-import run {id}</title><style>{CSS}</style></head><body>\
         <h1>invoice-import: {command} run {id}</h1>\
         <p class=\"meta\">Started {started} · {dur:.1} s · inputs: {inputs} · exit code \
         <span id=\"exit-code\">{code}</span></p>",
        id = escape(&summary.run_id),
        command = escape(&summary.command),
        started = escape(&summary.started_at),
        dur = summary.duration_seconds,
        inputs = escape(&summary.inputs.join(", ")),
        code = summary.exit_code,
    );

    h.push_str("<h2>Totals</h2><table id=\"totals\"><tr><th>Status</th><th>Invoices</th><th>Value</th></tr>");
    let mut total_count = 0;
    for status in [
        Status::Accepted,
        Status::AlreadyAccepted,
        Status::Invalid,
        Status::Failed,
    ] {
        let t = summary
            .statuses
            .get(status.as_str())
            .copied()
            .unwrap_or_default();
        total_count += t.count;
        let _ = write!(
            h,
            "<tr class=\"{s}\"><td>{s}</td><td id=\"count-{s}\" class=\"num\">{n}</td>\
             <td id=\"value-{s}\" class=\"num\" data-plain=\"{plain}\">{v}</td></tr>",
            s = status.as_str(),
            n = t.count,
            plain = money_plain(t.value_cents),
            v = match t.value_unknown {
                0 => money(t.value_cents),
                n if n == t.count => String::from("value unknown"),
                n => format!("{} and {n} of unknown value", money(t.value_cents)),
            },
        );
    }
    let _ = write!(
        h,
        "<tr class=\"total\"><td>total</td><td id=\"count-total\" class=\"num\">{total_count}</td><td></td></tr>"
    );
    if summary.row_errors > 0 {
        // Rows that joined no invoice are not invoices; they are listed with the failures.
        let _ = write!(
            h,
            "<tr class=\"invalid\"><td>rows in no invoice</td><td id=\"count-unkeyed\" \
             class=\"num\">{}</td><td></td></tr>",
            summary.row_errors
        );
    }
    h.push_str("</table>");
    let _ = write!(
        h,
        "<p>Requests: <span id=\"requests\">{}</span> ({:.1}/s{}) · throttled (429): \
         <span id=\"throttled\">{}</span></p>",
        summary.requests,
        summary.requests_per_second,
        peak_phrase(summary.peak_requests_in_a_second),
        summary.throttled_429
    );

    h.push_str("<h2>Request rate and 429s per second</h2>");
    h.push_str(&chart(&summary.timeline));

    // Failures by reason, largest group first.
    let mut groups: BTreeMap<String, Vec<&ResultRow>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.status.needs_fixing()) {
        groups
            .entry(reason(r.error.as_deref().unwrap_or(r.status.as_str())))
            .or_default()
            .push(r);
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    let _ = write!(
        h,
        "<h2>Failures by reason</h2><p id=\"failure-groups\" data-groups=\"{}\">{}</p>",
        groups.len(),
        if groups.is_empty() {
            "None: every invoice was accepted."
        } else {
            "Fix these rows in the failed-rows file and submit it again."
        }
    );
    for (reason, of) in &groups {
        let _ = write!(
            h,
            "<details open><summary>{} <span class=\"n\">({} {})</span></summary>\
             <table><tr><th>Order</th><th>Invoice</th><th>Status</th><th>Value</th><th>Rows</th><th>Error</th></tr>",
            escape(reason),
            of.len(),
            match (
                of.iter()
                    .all(|r| r.order_id.is_empty() && r.invoice_number.is_empty()),
                of.len(),
            ) {
                (true, 1) => "row in no invoice",
                (true, _) => "rows in no invoice",
                (false, 1) => "invoice",
                (false, _) => "invoices",
            }
        );
        for r in of {
            let _ = write!(
                h,
                "<tr class=\"failure\"><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
                escape(&r.order_id),
                escape(&r.invoice_number),
                r.status.as_str(),
                r.value_cents.map(&money).unwrap_or_default(),
                escape(&r.source),
                escape(r.error.as_deref().unwrap_or("")),
            );
        }
        h.push_str("</table></details>");
    }
    if let Some(p) = &summary.results_file {
        let _ = write!(
            h,
            "<p class=\"meta\">Results file: {}</p>",
            escape(&p.display().to_string())
        );
    }
    h.push_str("</body></html>\n");
    h
}

/// Bars for requests per second, red bars for 429s on top; inline SVG, so no assets.
fn chart(samples: &[Sample]) -> String {
    if samples.is_empty() {
        return String::from("<p id=\"chart\">No requests were sent.</p>");
    }
    let max = samples.iter().map(|s| s.requests).max().unwrap_or(1).max(1) as f64;
    let (w, hgt, bar) = (640.0, 160.0, (640.0 / samples.len() as f64).min(40.0));
    let mut svg = format!(
        "<svg id=\"chart\" role=\"img\" aria-label=\"requests and 429s per second\" \
         xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{}\" viewBox=\"0 0 {w} {}\">",
        hgt + 20.0,
        hgt + 20.0
    );
    for (i, s) in samples.iter().enumerate() {
        let x = i as f64 * bar;
        let rh = s.requests as f64 / max * hgt;
        let th = s.throttled as f64 / max * hgt;
        let _ = write!(
            svg,
            "<rect class=\"req\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{rh:.1}\" fill=\"#4a7ab8\">\
             <title>second {}: {} requests, {} throttled</title></rect>",
            hgt - rh,
            (bar - 1.0).max(1.0),
            s.second,
            s.requests,
            s.throttled
        );
        if s.throttled > 0 {
            let _ = write!(
                svg,
                "<rect class=\"throttled\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{th:.1}\" fill=\"#c0392b\"/>",
                hgt - th,
                (bar - 1.0).max(1.0)
            );
        }
    }
    let _ = write!(
        svg,
        "<text x=\"0\" y=\"{}\" font-size=\"12\">0 s … {} s; peak {} requests/s (red: 429)</text></svg>",
        hgt + 15.0,
        samples.last().map_or(0, |s| s.second),
        max as u64
    );
    svg
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.3em .6em}\
th{background:#f3f3f3;text-align:left}.num{text-align:right}.meta{color:#666}\
tr.accepted td:first-child{color:#1e7b34}tr.failed td:first-child,tr.invalid td:first-child{color:#b00}\
summary{font-weight:600;cursor:pointer}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_groups() {
        assert_eq!(escape("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
        assert_eq!(
            reason(
                "f.csv row 3, column 'Unit Price': the unit price is -5.00; it can't be negative"
            ),
            "the unit price is #; it can't be negative"
        );
        assert_eq!(reason("f.csv:3: value 1.234,56 too big"), "value # too big");
        assert_eq!(
            reason("HTTP 404: order not found"),
            "HTTP #: order not found"
        );
        // Found by a review: a date's parts were masked one by one ("###T#:#:##:#").
        assert_eq!(
            reason("f.csv row 3, column 'Data': 2026-02-30T10:00:00 is not a real date"),
            "# is not a real date"
        );
        assert_eq!(reason("row 1 of 31/02/2026 and 12:30"), "row # of # and #");
        // Found by a review: quoted cells were masked digit by digit, and an invoice's several
        // problems made a heading of their own.
        assert_eq!(
            reason("f.csv row 2, column 'X': '1.17245E+12' looks like Excel has mangled this id"),
            "'…' looks like Excel has mangled this id"
        );
        assert_eq!(
            reason(
                "f.csv row 4: quantity 0 must be at least 1; f.csv row 4, column 'V': the value"
            ),
            "quantity # must be at least #"
        );
        assert_eq!(reason("it can't be negative"), "it can't be negative");
        let row = ResultRow {
            index: 0,
            order_id: "<script>".into(),
            invoice_number: "1".into(),
            status: Status::Failed,
            http_status: Some(404),
            receipt: None,
            attempts: 1,
            error: Some("order not found".into()),
            value_cents: Some(1050),
            source: "f.csv:2".into(),
            rows: vec![],
        };
        let s = RunSummary::new(
            ("submit", "r", "2026-11-22T10:00:00Z"),
            &[],
            std::slice::from_ref(&row),
        );
        let page = render(&s, &[row]);
        assert!(!page.contains("<script>"));
        assert!(page.contains("id=\"count-failed\" class=\"num\">1<"));
        assert!(page.contains("data-plain=\"10.50\""));
        assert!(!page.contains("http://") || page.contains("xmlns=\"http://www.w3.org/2000/svg\""));
    }
}
