#!/usr/bin/env python3
"""The usual in-house alternative to `invoice-import check`, for the ingest benchmark.

Reads an invoice CSV (or XLSX) of the layout examples/gen_data.rs writes, with pandas: dialect
detected from the first line (`;` + Windows-1252 + `1.234,56` for Brazilian files, `,` + UTF-8
+ `1,234.56` otherwise), ids kept as text, money in integer cents. Groups rows by (order id,
invoice number), sums quantity x unit price per invoice, adds the freight, compares with the
invoice value, and prints counts and totals.

    python3 scripts/pandas_check.py FILE
"""

import sys

import numpy as np
import pandas as pd

COLUMNS = ["order", "invoice", "date", "sku", "description", "quantity", "price", "freight", "value"]
MONEY = ["price", "freight", "value"]


def cents(series: pd.Series, br: bool) -> pd.Series:
    """Money text to int64 cents, as a careful pandas user would write it (no float sums)."""
    s = series.astype(str).str.replace("R$", "", regex=False).str.strip()
    if br:
        s = s.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        s = s.str.replace(",", "", regex=False)
    return (pd.to_numeric(s) * 100).round().astype(np.int64)


def read(path: str) -> pd.DataFrame:
    if path.lower().endswith((".xlsx", ".xlsm")):
        df = pd.read_excel(path, dtype={0: str, 1: str}, engine="openpyxl")
        df.columns = COLUMNS
        for col in MONEY:
            df[col] = (df[col].astype(float) * 100).round().astype(np.int64)
        df["date"] = pd.to_datetime(df["date"])
        return df
    with open(path, "rb") as f:
        first = f.readline()
    br = first.count(b";") > first.count(b",")
    df = pd.read_csv(
        path,
        sep=";" if br else ",",
        encoding="cp1252" if br else "utf-8",
        header=0,
        names=COLUMNS,
        dtype=str,
        keep_default_na=False,
    )
    for col in MONEY:
        df[col] = cents(df[col], br)
    df["quantity"] = pd.to_numeric(df["quantity"]).astype(np.int64)
    df["date"] = pd.to_datetime(df["date"], dayfirst=br, format="%d/%m/%Y %H:%M" if br else "ISO8601")
    return df


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: pandas_check.py FILE", file=sys.stderr)
        return 2
    df = read(sys.argv[1])
    df["line"] = df["quantity"] * df["price"]
    invoices = df.groupby(["order", "invoice"], sort=False).agg(
        items=("line", "sum"),
        freight=("freight", "first"),
        value=("value", "first"),
        rows=("line", "size"),
    )
    computed = invoices["items"] + invoices["freight"]
    ok = computed == invoices["value"]
    total = int(invoices.loc[ok, "value"].sum())
    print(
        f"rows {len(df)} invoices {len(invoices)} valid {int(ok.sum())} "
        f"invalid {int((~ok).sum())} total_cents {total}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
