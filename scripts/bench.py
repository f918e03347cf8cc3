#!/usr/bin/env python3
"""Runs every benchmark of issue #7 and rewrites BENCHMARKS.md. Called by `scripts/bench`, which
builds the binaries and the Python environment first.

Each command runs N times under `/usr/bin/time -v` (wall time, user + system CPU, peak RSS);
tables show medians. Comparisons (floors, pandas, wrk) run in the same invocation on the same
files, so they see the same machine load; `check` and its floor alternate run by run.
"""

import argparse
import datetime
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
RELEASE = TARGET / "release"
BIN = RELEASE / "invoice-import"
DATA = TARGET / "bench-data"
VENV_PY = TARGET / "bench-venv" / "bin" / "python"
SHARED = ROOT.parent / "shared" / "data"

# Check runs use a fixed zone so results don't depend on the machine's.
TZ = ["--timezone", "America/Sao_Paulo"]


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------
# Measuring.


def time_v(cmd, env=None, ok_codes=(0,)):
    """One run of cmd under /usr/bin/time -v: wall s, cpu s, peak RSS MiB, stdout."""
    proc = subprocess.run(
        ["/usr/bin/time", "-v", *map(str, cmd)],
        capture_output=True,
        text=True,
        env=env,
    )
    if proc.returncode not in ok_codes:
        raise RuntimeError(f"{cmd} exited {proc.returncode}: {proc.stderr[-2000:]}")
    err = proc.stderr
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", err)
    hours, minutes, seconds = wall.groups()
    wall_s = int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", err).group(1))
    system = float(re.search(r"System time \(seconds\): ([\d.]+)", err).group(1))
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", err).group(1))
    return {"wall": wall_s, "cpu": user + system, "rss_mib": rss_kb / 1024, "stdout": proc.stdout}


def measure(name, cmd, runs, env=None, ok_codes=(0,)):
    """Median wall time, CPU and peak RSS over `runs` runs."""
    log(f"{name}: {' '.join(map(str, cmd))} (x{runs})")
    return summarize(name, cmd, runs, [time_v(cmd, env, ok_codes) for _ in range(runs)])


def measure_pair(floor, check, runs, ok_codes=(0,)):
    """A floor and a check command measured in alternation, a run of each per round, so that
    a change in the host's load over the minutes falls on both alike: (floor, check) as
    `measure` gives them, and each round's check / floor wall-time ratio in "ratios"."""
    (fname, fcmd), (cname, ccmd) = floor, check
    log(f"{fname} and {cname}, alternating (x{runs})")
    fs, cs = [], []
    for _ in range(runs):
        fs.append(time_v(fcmd))
        cs.append(time_v(ccmd, ok_codes=ok_codes))
    f, c = summarize(fname, fcmd, runs, fs), summarize(cname, ccmd, runs, cs)
    c["ratios"] = [ratio(b["wall"], a["wall"]) for a, b in zip(fs, cs)]
    return f, c


def summarize(name, cmd, runs, samples):
    return {
        "name": name,
        "command": " ".join(str(c).replace(str(ROOT) + "/", "") for c in cmd),
        "runs": runs,
        "wall": statistics.median(s["wall"] for s in samples),
        "wall_min": min(s["wall"] for s in samples),
        "wall_max": max(s["wall"] for s in samples),
        "cpu": statistics.median(s["cpu"] for s in samples),
        "rss_mib": statistics.median(s["rss_mib"] for s in samples),
        "stdout": samples[-1]["stdout"].strip()[-400:],
    }


def generate(name, rows, dialect="en", fmt="csv", order="grouped"):
    """A gen_data file in target/bench-data, made once per arguments (same arguments, same bytes)."""
    path = DATA / f"{name}.{fmt}"
    if not path.exists():
        log(f"generating {path.name} ({rows} rows)")
        tmp = path.with_suffix(".partial")
        subprocess.run(
            [RELEASE / "examples" / "gen_data", "--rows", str(rows), "--dialect", dialect,
             "--format", fmt, "--order", order, "--out", tmp],
            check=True,
        )
        tmp.rename(path)
    return path


def mib(path):
    return path.stat().st_size / (1024 * 1024)


# ----------------------------------------------------------------------------------------------
# Ingest: check vs the floors vs pandas.


def ingest(quick):
    runs = 3 if quick else 9
    big = 100_000 if quick else 1_000_000
    sheet_rows = 20_000 if quick else 200_000
    inputs = [
        ("en CSV, grouped", generate(f"en-{big}-grouped", big, "en"), "csv"),
        ("br CSV, shuffled", generate(f"br-{big}-shuffled", big, "br", order="shuffled"), "csv"),
        ("XLSX, grouped", generate(f"xlsx-{sheet_rows}", sheet_rows, "en", "xlsx"), "xlsx"),
    ]
    results = []
    for label, path, kind in inputs:
        floor = RELEASE / "examples" / ("floor_csv" if kind == "csv" else "floor_calamine")
        row = {"input": label, "file": path.name, "rows": rows_of(path), "size_mib": mib(path)}
        row["floor"], row["check"] = measure_pair(
            (f"floor {path.name}", [floor, path]),
            (f"check {path.name}", [BIN, "check", "--format", "json", *TZ, path]),
            runs,
        )
        row["check_summary"] = check_summary(row["check"]["stdout"])
        # pandas reading a workbook with openpyxl takes minutes at full size: one run is enough.
        pandas_runs = 1 if kind == "xlsx" else min(runs, 3)
        row["pandas"] = measure(
            f"pandas {path.name}", [VENV_PY, ROOT / "scripts" / "pandas_check.py", path], pandas_runs
        )
        results.append(row)
    return results


def rows_of(path):
    m = re.match(r"[a-z]+-(\d+)", path.stem)
    return int(m.group(1)) if m else None


def check_summary(stdout):
    """Counts from `check --format json`, whatever keys it has, for the record."""
    try:
        start = stdout.index("{")
        report = json.loads(stdout[start:])
    except ValueError:
        return {}
    return {k: v for k, v in report.items() if isinstance(v, (int, float))}


def real_data(quick):
    """check vs the floor on the real datasets in ../shared/data (the ones with one sheet or CSV)."""
    runs = 3
    maps = ["--map", "order_id=InvoiceNo", "--map", "invoice_number=InvoiceNo",
            "--map", "item_id=StockCode", "--map", "item_quantity=Quantity",
            "--map", "item_price=UnitPrice"]
    cases = [
        (SHARED / "online_retail" / "online_retail_first70k.xlsx", "floor_calamine", maps),
        # The CSVs without a date column (`OnlineRetail_first50k_nodate.csv`) or a quantity
        # column (Olist's order items) stop at their headers: a missing column every invoice
        # needs is an error before any row is read, so they measure nothing.
        (SHARED / "online_retail" / "OnlineRetail_first10k_bom.csv", "floor_csv", maps),
    ]
    if quick:
        cases = cases[:1]
    out = []
    for path, floor, flags in cases:
        if not path.exists():
            continue
        # Real data has real mistakes (negative quantities, ...): exit code 1 is expected.
        floor, check = measure_pair(
            (f"floor {path.name}", [RELEASE / "examples" / floor, path]),
            (f"check {path.name}", [BIN, "check", "--format", "json", *TZ, *flags, path]),
            runs,
            ok_codes=(0, 1, 2),
        )
        out.append({
            "file": str(path.relative_to(SHARED)),
            "size_mib": mib(path),
            "floor": floor,
            "check": check,
            "flags": " ".join(flags),
        })
    return out


# ----------------------------------------------------------------------------------------------
# Submit: against the sandbox.


class Sandbox:
    def __init__(self, *args):
        env = {k: v for k, v in os.environ.items() if not k.startswith("VTEX_APP_")}
        self.proc = subprocess.Popen(
            [BIN, "sandbox", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
        )
        line = self.proc.stdout.readline()
        m = re.search(r"listening on (\S+)", line)
        if not m:
            self.proc.kill()
            raise RuntimeError(f"sandbox did not start: {line!r}")
        self.url = m.group(1)
        # Keep draining its stdout so it never blocks on a full pipe.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def submit_env():
    env = dict(os.environ)
    env["VTEX_APP_KEY"] = "sandbox-key"
    env["VTEX_APP_TOKEN"] = "sandbox-token"
    return env


def submit_cmd(url, rate, concurrency, path, tag):
    work = DATA / "submit"
    work.mkdir(exist_ok=True)
    ledger = work / f"{tag}.ledger.sqlite"
    for stale in work.glob(f"{tag}.*"):
        stale.unlink()
    return [BIN, "submit", "--base-url", url, "--rate", str(rate), "--concurrency", str(concurrency),
            "--ledger", ledger, "--results", work / f"{tag}.results.csv",
            "--failed", work / f"{tag}.failed.csv", "--quiet", *TZ, path]


def count_invoices(path):
    """Invoices in a generated file: distinct (order, invoice) pairs, as check counts them."""
    out = subprocess.run([BIN, "check", "--format", "json", *TZ, path], capture_output=True,
                         text=True)
    summary = check_summary(out.stdout)
    for key in ("valid_invoices", "invoices", "valid"):
        if key in summary:
            return int(summary[key])
    raise RuntimeError(f"no invoice count in check output: {sorted(summary)}")


def wrk(url, seconds):
    lua = ROOT / "scripts" / "wrk-post.lua"
    out = subprocess.run(["wrk", "-t2", "-c64", f"-d{seconds}s", "-s", lua, url],
                         capture_output=True, text=True, check=True).stdout
    return {
        "rps": float(re.search(r"requests/s: ([\d.]+)", out).group(1)),
        "non2xx": int(re.search(r"non-2xx: (\d+)", out).group(1)),
        "command": f"wrk -t2 -c64 -d{seconds}s -s scripts/wrk-post.lua URL",
    }


def submit_throughput(quick):
    """No latency, no limit: the tool's request rate vs wrk's POSTs/s on the same endpoint.

    Three runs of each, a fresh sandbox for every run (an --any-order sandbox keeps every invoice
    and slows as it fills). The tool sends ~100k invoices, a run of seconds like wrk's 10 s, and
    is measured two ways: its sustained request rate (requests / sending time, from its
    --summary-json; what the target compares with wrk, which also counts only requests) and the
    whole process (invoices / wall time, reading the file and writing results included)."""
    rows = 30_000 if quick else 300_000
    runs = 3
    path = generate(f"submit-{rows}", rows, "en")
    invoices = count_invoices(path)
    samples, loads = [], []
    # Rounds of one tool run then one wrk run, so a machine that drifts slower or faster over the
    # minute (a shared host does) weighs on both alike.
    for i in range(runs):
        sandbox = Sandbox("--any-order")
        try:
            summary = DATA / "submit" / "fast.summary.json"
            cmd = submit_cmd(sandbox.url, 1_000_000, 64, path, "fast")
            cmd[cmd.index("--quiet"):cmd.index("--quiet")] = ["--summary-json", summary]
            run = measure(f"submit unlimited ({i + 1}/{runs})", cmd, 1, env=submit_env())
            run["sustained_rps"] = json.loads(summary.read_text())["requests_per_second"]
            samples.append(run)
        finally:
            sandbox.stop()
        sandbox = Sandbox("--any-order")
        try:
            loads.append(wrk(sandbox.url, 5 if quick else 10))
        finally:
            sandbox.stop()
    tool = sorted(samples, key=lambda r: r["sustained_rps"])[runs // 2]
    return {
        "invoices": invoices,
        "tool": tool,
        "tool_rps": invoices / statistics.median(r["wall"] for r in samples),
        "sustained_rps": tool["sustained_rps"],
        "sustained_all": [r["sustained_rps"] for r in samples],
        "wrk": sorted(loads, key=lambda r: r["rps"])[runs // 2],
        "wrk_all": [r["rps"] for r in loads],
    }


def submit_rated(quick):
    """--rate 100 against 50 ms latency: achieved rate and CPU."""
    rows = 3_000 if quick else 9_000
    path = generate(f"submit-{rows}", rows, "en")
    invoices = count_invoices(path)
    sandbox = Sandbox("--any-order", "--latency-ms", "50..50")
    try:
        run = measure("submit --rate 100", submit_cmd(sandbox.url, 100, 16, path, "rated"), 1,
                      env=submit_env())
    finally:
        sandbox.stop()
    return {"invoices": invoices, "run": run, "rate": invoices / run["wall"],
            "cpu_pct": 100 * run["cpu"] / run["wall"]}


def backfill(quick):
    """A big backfill at a high rate, sampling the process's RSS as it runs."""
    rows = 30_000 if quick else 300_000
    path = generate(f"submit-{rows}", rows, "en")
    invoices = count_invoices(path)
    sandbox = Sandbox("--any-order")
    samples = []
    try:
        cmd = submit_cmd(sandbox.url, 20_000, 64, path, "backfill")
        log(f"backfill: {' '.join(map(str, cmd))}")
        start = time.monotonic()
        proc = subprocess.Popen(cmd, env=submit_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        status = Path(f"/proc/{proc.pid}/status")
        while proc.poll() is None:
            try:
                m = re.search(r"VmRSS:\s+(\d+) kB", status.read_text())
                if m:
                    samples.append((time.monotonic() - start, int(m.group(1)) / 1024))
            except OSError:
                break
            time.sleep(0.2)
        wall = time.monotonic() - start
        code = proc.wait()
    finally:
        sandbox.stop()
    if code != 0:
        raise RuntimeError(f"backfill exited {code}")
    return {"invoices": invoices, "wall": wall, "rate": invoices / wall, "samples": samples,
            "command": " ".join(str(c).replace(str(ROOT) + "/", "") for c in cmd)}


# ----------------------------------------------------------------------------------------------
# Scaling.


def scaling(quick):
    sizes = [10_000, 30_000, 100_000] if quick else [10_000, 30_000, 100_000, 300_000, 1_000_000]
    runs = 3 if quick else 5
    out = []
    for rows in sizes:
        path = generate(f"en-{rows}-grouped", rows, "en")
        floor, check = measure_pair(
            (f"floor {path.name}", [RELEASE / "examples" / "floor_csv", path]),
            (f"check {path.name}", [BIN, "check", "--format", "json", *TZ, path]),
            runs,
        )
        out.append({"rows": rows, "size_mib": mib(path), "check": check, "floor": floor})
    return out


def plot(scale, png):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [s["rows"] for s in scale]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), dpi=110)
    left.loglog(rows, [s["check"]["wall"] for s in scale], "o-", label="invoice-import check")
    left.loglog(rows, [s["floor"]["wall"] for s in scale], "s--", label="csv crate floor")
    left.set_xlabel("rows (en CSV)")
    left.set_ylabel("wall time, s (median)")
    left.set_title("Time")
    left.grid(True, which="both", alpha=0.3)
    left.legend()
    right.loglog(rows, [s["check"]["rss_mib"] for s in scale], "o-", label="check peak RSS")
    right.loglog(rows, [s["size_mib"] for s in scale], "^:", label="input file size")
    right.set_xlabel("rows (en CSV)")
    right.set_ylabel("MiB")
    right.set_title("Memory")
    right.grid(True, which="both", alpha=0.3)
    right.legend()
    fig.tight_layout()
    fig.savefig(png)


# ----------------------------------------------------------------------------------------------
# Report.


def rounds(check):
    """How the check / floor ratio went round by round, when the two were measured alternating."""
    rs = check.get("ratios")
    if not rs:
        return ""
    return (f" (round by round: median {statistics.median(rs):.2f}×, "
            f"{min(rs):.2f}–{max(rs):.2f}× over {len(rs)} rounds)")


def ratio(a, b):
    """a / b, where /usr/bin/time's 10 ms resolution can make b zero."""
    return a / max(b, 0.01)


def verdict(ok):
    return "**met**" if ok else "**missed**"


def versions():
    def first_line(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0]
        except (OSError, IndexError):
            return "?"

    pandas = first_line([VENV_PY, "-c", "import pandas, openpyxl; print(pandas.__version__, openpyxl.__version__)"])
    return {
        "rustc": first_line(["rustc", "--version"]),
        "commit": first_line(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]),
        "python": first_line([VENV_PY, "--version"]),
        "pandas": pandas,
        "wrk": first_line(["wrk", "--version"]).split(" [")[0],
    }


def machine():
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)
    return {"cores": os.cpu_count(), "cpu": cpu, "mem_gib": int(mem) / 1024 / 1024,
            "kernel": platform.release(), "load": os.getloadavg()}


def fmt_s(x):
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def report(res, quick):
    m, v = res["machine"], res["versions"]
    lines = []
    w = lines.append
    w("# Benchmarks")
    w("")
    w("Everything above the sandbox section is written by `scripts/bench`"
      + (" (this copy: `scripts/bench --quick`, smaller inputs and fewer runs)" if quick else "")
      + "; rerun it to refresh. Medians of repeated runs under `/usr/bin/time -v`; comparisons "
        "ran in the same invocation on the same files, and each `check` alternated run by run "
        "with its floor, so that the host's changing load falls on both.")
    w("")
    w(f"- Date: {res['date']}")
    w(f"- Machine: {m['cores']} cores, {m['cpu']}, {m['mem_gib']:.1f} GiB RAM, Linux {m['kernel']}; "
      f"load average at the end {m['load'][0]:.1f} / {m['load'][1]:.1f} / {m['load'][2]:.1f} "
      "(shared with other build jobs: figures are floors, not tuned bests)")
    w(f"- Versions: {v['rustc']}, invoice-import at `{v['commit']}` (`cargo build --release`), "
      f"{v['python']}, pandas/openpyxl {v['pandas']}, {v['wrk']}")
    w(f"- Data: `examples/gen_data.rs` (seed 1) into `target/bench-data/`, and the real datasets of "
      "`../shared/data/` (see its SOURCES.md)")
    w("")

    w("## Ingest: `check` vs the floors vs pandas")
    w("")
    w("Whole process, file to report: `invoice-import check --format json` reads, maps, parses, "
      "groups and validates. Floors: `examples/floor_csv.rs` (csv crate, `ByteRecord`, every "
      "record, nothing decoded) and `examples/floor_calamine.rs` (calamine, every cell of the first "
      "sheet). pandas: `scripts/pandas_check.py` (read dialect-aware, group by (order, invoice), "
      "Σ quantity × price + freight vs the invoice value, counts and totals).")
    w("")
    w("| input | rows | size MiB | floor s | check s | pandas s | check / floor | pandas / check | check peak RSS MiB | pandas peak RSS MiB |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    for r in res["ingest"]:
        f, c, p = r["floor"]["wall"], r["check"]["wall"], r["pandas"]["wall"]
        w(f"| {r['input']} (`{r['file']}`) | {r['rows']:,} | {r['size_mib']:.1f} | {fmt_s(f)} | {fmt_s(c)} | "
          f"{fmt_s(p)} | {ratio(c, f):.2f}× | {p / c:.1f}× | {r['check']['rss_mib']:.0f} | {r['pandas']['rss_mib']:.0f} |")
    w("")
    w("Targets (issue #2, #3, #4):")
    w("")
    for r in res["ingest"]:
        f, c, p = r["floor"]["wall"], r["check"]["wall"], r["pandas"]["wall"]
        csv = r["file"].endswith(".csv")
        limit = 2.0 if csv else 1.3
        w(f"- {r['input']}: check ≤ {limit}× the {'CSV' if csv else 'XLSX'} floor: "
          f"{c / f:.2f}× {verdict(c / f <= limit)}{rounds(r['check'])}; ≥ 10× faster than pandas: {p / c:.1f}× "
          f"{verdict(p / c >= 10)}"
          + (f"; peak memory below the input's size: {r['check']['rss_mib']:.0f} MiB vs "
             f"{r['size_mib']:.0f} MiB {verdict(r['check']['rss_mib'] < r['size_mib'])}" if csv else ""))
    w("")
    w("Commands (median of the runs shown):")
    w("")
    w("```")
    for r in res["ingest"]:
        for k in ("floor", "check", "pandas"):
            w(f"{r[k]['command']}    # {r[k]['runs']} runs, {fmt_s(r[k]['wall_min'])}–{fmt_s(r[k]['wall_max'])} s")
    w("```")
    w("")
    if res["real"]:
        w("### Real datasets")
        w("")
        w("Real files are small, so these mostly show start-up and per-file costs. Exit code 1 "
          "(invalid invoices: cancellations with negative quantities, zero prices) is expected.")
        w("")
        w("| file | size MiB | floor s | check s | check / floor | check peak RSS MiB | flags |")
        w("|---|---|---|---|---|---|---|")
        for r in res["real"]:
            f, c = r["floor"]["wall"], r["check"]["wall"]
            w(f"| `{r['file']}` | {r['size_mib']:.1f} | {fmt_s(f)} | {fmt_s(c)} | {ratio(c, f):.2f}× | "
              f"{r['check']['rss_mib']:.0f} | `{r['flags']}` |")
        w("")

    w("## Submit: against the sandbox")
    w("")
    t = res["throughput"]
    sustained = t.get("sustained_rps", t["tool_rps"])
    wrk_share = sustained / t["wrk"]["rps"]
    whole_share = t["tool_rps"] / t["wrk"]["rps"]
    w("No latency, no limit (`invoice-import sandbox --any-order`), a fresh sandbox for every run, "
      "three rounds of one run of each tool (medians; every run's figure in brackets, in round "
      "order). wrk POSTs the same kind "
      "of body to the same endpoint for 10 s and counts requests. The tool is counted two ways: "
      "its sustained request rate, requests / sending time as its `--summary-json` reports it "
      "(what wrk's figure is, and what the target compares), and the whole process, invoices / "
      "wall time with reading the file, the ledger and the results files included.")
    w("")
    w("| tool | invoices or requests | requests/s | tool / wrk |")
    w("|---|---|---|---|")
    all_sustained = ", ".join(f"{x:,.0f}" for x in t.get("sustained_all", [sustained]))
    w(f"| invoice-import submit --rate 1000000 --concurrency 64, sustained | {t['invoices']:,} "
      f"invoices | {sustained:,.0f} ({all_sustained}) | {wrk_share:.0%} |")
    w(f"| the same, whole process | {t['invoices']:,} invoices in {fmt_s(t['tool']['wall'])} s | "
      f"{t['tool_rps']:,.0f} | {whole_share:.0%} |")
    all_wrk = ", ".join(f"{x:,.0f}" for x in t.get("wrk_all", [t["wrk"]["rps"]]))
    w(f"| {t['wrk']['command']} | {t['wrk']['command'].split()[3][2:]} runs | "
      f"{t['wrk']['rps']:,.0f} ({all_wrk}) | 100% |")
    w("")
    w(f"Target ≥ 50% of wrk: {wrk_share:.0%} {verdict(wrk_share >= 0.5)} (whole process "
      f"{whole_share:.0%}). Peak RSS {t['tool']['rss_mib']:.0f} MiB, CPU "
      f"{t['tool']['cpu']:.1f} s.")
    w("")
    r = res["rated"]
    w(f"`--rate 100` against 50 ms latency (`sandbox --latency-ms 50..50`), --concurrency 16, "
      f"{r['invoices']:,} invoices: achieved {r['rate']:.1f} invoices/s over the whole process "
      f"({fmt_s(r['run']['wall'])} s wall) {verdict(r['rate'] >= 99)} (target ≥ 99/s); CPU "
      f"{r['run']['cpu']:.2f} s = {r['cpu_pct']:.1f}% of a core {verdict(r['cpu_pct'] < 10)} "
      f"(target < 10%).")
    w("")
    b = res["backfill"]
    s = b["samples"]
    w(f"Backfill: {b['invoices']:,} invoices at `--rate 20000 --concurrency 64` in "
      f"{fmt_s(b['wall'])} s ({b['rate']:,.0f}/s). RSS sampled every 0.2 s:")
    w("")
    if s:
        w("| at % of run | RSS MiB |")
        w("|---|---|")
        for pct in (10, 25, 50, 75, 90, 100):
            i = min(len(s) - 1, max(0, round(len(s) * pct / 100) - 1))
            w(f"| {pct}% ({s[i][0]:.1f} s) | {s[i][1]:.0f} |")
        quarter = s[min(len(s) - 1, len(s) // 4)][1]
        late = s[min(len(s) - 1, len(s) * 9 // 10)][1]
        w("")
        w(f"Growth from 25% to 90% of the run: {late - quarter:+.0f} MiB "
          f"({(late - quarter) / quarter:+.0%}); peak {max(x[1] for x in s):.0f} MiB.")
    w("")
    w("```")
    for cmd in (t["tool"]["command"], r["run"]["command"], b["command"]):
        # The sandbox's port is new on every run.
        w(re.sub(r"http://127\.0\.0\.1:\d+", "$SANDBOX_URL", cmd))
    w("```")
    w("")

    w("## Scaling: 10k to 1M rows")
    w("")
    w("`check --format json` and the csv floor on en CSV files (grouped) of growing size.")
    w("")
    w("| rows | size MiB | check s | floor s | check / floor | µs per row | check peak RSS MiB | RSS / size |")
    w("|---|---|---|---|---|---|---|---|")
    for x in res["scaling"]:
        c, f = x["check"]["wall"], x["floor"]["wall"]
        w(f"| {x['rows']:,} | {x['size_mib']:.1f} | {fmt_s(c)} | {fmt_s(f)} | {ratio(c, f):.2f}× | "
          f"{c / x['rows'] * 1e6:.2f} | {x['check']['rss_mib']:.0f} | "
          f"{x['check']['rss_mib'] / x['size_mib']:.2f} |")
    w("")
    w("![time and memory from 10k to 1M rows](docs/bench-scaling.png)")
    w("")
    notes = ROOT / "scripts" / "bench-notes.md"
    if notes.exists():
        w(notes.read_text().rstrip())
        w("")
    return "\n".join(lines) + "\n"


def sandbox_section():
    text = (ROOT / "BENCHMARKS.md").read_text()
    at = text.find("## Sandbox throughput")
    return text[at:] if at >= 0 else ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", help="comma list: ingest,real,submit,scaling (default: all)")
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite BENCHMARKS.md from the last saved results, running nothing")
    args = ap.parse_args()
    if args.report_only:
        args.only = "none"
    DATA.mkdir(parents=True, exist_ok=True)
    keep = sandbox_section()
    only = set(args.only.split(",")) if args.only else {"ingest", "real", "submit", "scaling"}
    res_path = DATA / ("results-quick.json" if args.quick else "results.json")
    res = json.loads(res_path.read_text()) if res_path.exists() and args.only else {}
    res["date"] = datetime.date.today().isoformat()
    if "ingest" in only:
        res["ingest"] = ingest(args.quick)
    if "real" in only:
        res["real"] = real_data(args.quick)
    if "submit" in only:
        res["throughput"] = submit_throughput(args.quick)
        res["rated"] = submit_rated(args.quick)
        res["backfill"] = backfill(args.quick)
    if "scaling" in only:
        res["scaling"] = scaling(args.quick)
    if not args.report_only:
        res["machine"] = machine()
        res["versions"] = versions()
    res_path.write_text(json.dumps(res, indent=1))
    (ROOT / "docs").mkdir(exist_ok=True)
    plot(res["scaling"], ROOT / "docs" / "bench-scaling.png")
    (ROOT / "BENCHMARKS.md").write_text(report(res, args.quick) + "\n" + keep)
    log(f"wrote BENCHMARKS.md and docs/bench-scaling.png (raw results: {res_path})")


if __name__ == "__main__":
    main()
