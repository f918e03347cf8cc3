#!/usr/bin/env python3
"""Writes the zero-padded id fixtures in this folder, with real writers:

    python3 -m venv /tmp/pad-venv && /tmp/pad-venv/bin/pip install xlwt odfpy
    /tmp/pad-venv/bin/python make_padded_fixtures.py

Both hold invoices whose order ids and invoice numbers are number cells shown zero-padded by
their number format (17 shown as 00017, 123 as 000123), as a spreadsheet keeps ids typed into
cells so formatted; tests/padded_ids.rs checks they are read as shown. The table starts in B2
(XLS) and C4 (ODS), not A1, so the cells' positions are tested too.

- padded_ids.xls (xlwt, BIFF8): formats '00000' (order) and '000000' (invoice); the last
  invoice number formatted '"NF-"000', which pads nothing (a format with text in it is left to
  the number, as for XLSX); a price formatted '0.00'.
- padded_ids.ods (odfpy): the order column padded by its column's default cell style, through
  LibreOffice's two-part style for '00000;-00000' (a `style:map` with `value()>=0`, both parts
  in styles.xml); the
  invoice numbers by their own cell style, whose number format comes from a named style in
  styles.xml; rows and cells repeated (`number-rows-repeated`, `number-columns-repeated`)
  before them; the last invoice number formatted 'NF-'000 and a price '00.00', which pad
  nothing.

Every invoice lacks its price on purpose except the first: an invalid invoice is listed
with its ids in `check --format json`.
"""
import os

import xlwt
from odf.number import Number, NumberStyle, Text as NumberText
from odf.opendocument import OpenDocumentSpreadsheet
from odf.style import Map, Style
from odf.table import Table, TableCell, TableColumn, TableRow
from odf.text import P

HERE = os.path.dirname(os.path.abspath(__file__))

HEADERS = ["Pedido", "NF", "Data", "SKU", "Quantidade", "Preço"]
# (order, invoice, price or None): the second and third have no price, so are invalid and
# listed with their ids. The last invoice number is shown as NF-007, and read as 7.
ROWS = [(17, 123, 10.0), (18, 124, None), (1234567, 7, None)]


def write_xls(path):
    wb = xlwt.Workbook()
    ws = wb.add_sheet("Notas")
    order = xlwt.easyxf(num_format_str="00000")
    invoice = xlwt.easyxf(num_format_str="000000")
    price = xlwt.easyxf(num_format_str="0.00")
    literal = xlwt.XFStyle()
    literal.num_format_str = '"NF-"000'
    for c, h in enumerate(HEADERS):
        ws.write(1, 1 + c, h)
    for r, (o, n, p) in enumerate(ROWS):
        r += 2
        ws.write(r, 1, o, order)
        ws.write(r, 2, n, literal if n == 7 else invoice)
        ws.write(r, 3, "2026-11-20")
        ws.write(r, 4, "S1")
        ws.write(r, 5, 1)
        if p is not None:
            ws.write(r, 6, p, price)
    wb.save(path)


def write_ods(path):
    doc = OpenDocumentSpreadsheet()
    auto = doc.automaticstyles

    # LibreOffice's way with '00000;-00000': the positive part, and a style for negatives
    # (with a '-' text) that maps value()>=0 to it. In styles.xml: odfpy drops an automatic
    # style only a style:map names.
    n1p0 = NumberStyle(name="N1P0")
    n1p0.addElement(Number(decimalplaces="0", minintegerdigits="5"))
    doc.styles.addElement(n1p0)
    n1 = NumberStyle(name="N1")
    minus = NumberText()
    minus.addText("-")
    n1.addElement(minus)
    n1.addElement(Number(decimalplaces="0", minintegerdigits="5"))
    n1.addElement(Map(condition="value()>=0", applystylename="N1P0"))
    doc.styles.addElement(n1)
    auto.addElement(Style(name="ce1", family="table-cell", datastylename="N1"))

    # A named style "NotaFiscal" in styles.xml with '000000'; the invoice cells' automatic
    # style only names it as parent.
    n9 = NumberStyle(name="N9")
    n9.addElement(Number(decimalplaces="0", minintegerdigits="6"))
    doc.styles.addElement(n9)
    doc.styles.addElement(
        Style(name="NotaFiscal", family="table-cell", datastylename="N9")
    )
    auto.addElement(Style(name="ce2", family="table-cell", parentstylename="NotaFiscal"))

    # Not padding: two decimals ('00.00'); a literal before the digits ('NF-'000).
    n2 = NumberStyle(name="N2")
    n2.addElement(Number(decimalplaces="2", minintegerdigits="2"))
    auto.addElement(n2)
    auto.addElement(Style(name="ce3", family="table-cell", datastylename="N2"))
    n3 = NumberStyle(name="N3")
    nf = NumberText()
    nf.addText("NF-")
    n3.addElement(nf)
    n3.addElement(Number(decimalplaces="0", minintegerdigits="3"))
    auto.addElement(n3)
    auto.addElement(Style(name="ce4", family="table-cell", datastylename="N3"))

    table = Table(name="Notas")
    # Columns A-B, then C (orders) padded by default, then the rest.
    table.addElement(TableColumn(numbercolumnsrepeated="2"))
    table.addElement(TableColumn(defaultcellstylename="ce1"))
    table.addElement(TableColumn(numbercolumnsrepeated="5"))

    def row(cells):
        tr = TableRow()
        # Columns A-B empty, as one repeated cell.
        tr.addElement(TableCell(numbercolumnsrepeated="2"))
        for cell in cells:
            tr.addElement(cell)
        return tr

    def text(s):
        cell = TableCell(valuetype="string")
        cell.addElement(P(text=s))
        return cell

    def number(v, shown, style=None):
        args = {"valuetype": "float", "value": str(v)}
        if style:
            args["stylename"] = style
        cell = TableCell(**args)
        cell.addElement(P(text=shown))
        return cell

    # Rows 1-3 empty, as one repeated row.
    empty = TableRow(numberrowsrepeated="3")
    empty.addElement(TableCell(numbercolumnsrepeated="8"))
    table.addElement(empty)
    table.addElement(row([text(h) for h in HEADERS]))
    for o, n, p in ROWS:
        cells = [
            number(o, f"{o:05}"),  # the column's default style
            number(n, f"NF-{n:03}", "ce4") if n == 7 else number(n, f"{n:06}", "ce2"),
            text("2026-11-20"),
            text("S1"),
            number(1, "1"),
        ]
        if p is not None:
            cells.append(number(p, f"{p:.2f}", "ce3"))
        table.addElement(row(cells))
    doc.spreadsheet.addElement(table)
    doc.save(path)


def main():
    write_xls(os.path.join(HERE, "padded_ids.xls"))
    write_ods(os.path.join(HERE, "padded_ids.ods"))


if __name__ == "__main__":
    main()
