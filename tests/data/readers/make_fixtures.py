#!/usr/bin/env python3
"""Writes the small reader fixtures in this folder. Run from anywhere: python3 make_fixtures.py

- invoices.ods: a minimal valid OpenDocument spreadsheet (mimetype stored first, uncompressed,
  then content.xml and META-INF/manifest.xml), two sheets: 'Vazia' (empty) and 'Notas' with a
  date cell, a float money cell, a text id with leading zeros, and a blank row.
- nfe_windows1252.csv: a Brazilian Excel export: ';'-separated, Windows-1252, CRLF, decimal
  commas, dd/mm/yyyy dates, trailing ';;;' blank rows.
- utf8_bom.csv: ','-separated UTF-8 with a BOM, a multi-line quoted field and blank-comma rows.
"""
import os
import re
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))

CONTENT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content
  xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
  xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
  xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
  office:version="1.2">
 <office:body>
  <office:spreadsheet>
   <table:table table:name="Vazia">
    <table:table-row><table:table-cell/></table:table-row>
   </table:table>
   <table:table table:name="Notas">
    <table:table-row>
     <table:table-cell office:value-type="string"><text:p>Pedido</text:p></table:table-cell>
     <table:table-cell office:value-type="string"><text:p>Nota</text:p></table:table-cell>
     <table:table-cell office:value-type="string"><text:p>Data</text:p></table:table-cell>
     <table:table-cell office:value-type="string"><text:p>Valor</text:p></table:table-cell>
    </table:table-row>
    <table:table-row>
     <table:table-cell office:value-type="string"><text:p>v100-01</text:p></table:table-cell>
     <table:table-cell office:value-type="string"><text:p>000123</text:p></table:table-cell>
     <table:table-cell office:value-type="date" office:date-value="2024-01-31T18:25:43"><text:p>31/01/2024 18:25</text:p></table:table-cell>
     <table:table-cell office:value-type="float" office:value="2.55"><text:p>2,55</text:p></table:table-cell>
    </table:table-row>
    <table:table-row><table:table-cell table:number-columns-repeated="4"/></table:table-row>
    <table:table-row>
     <table:table-cell office:value-type="string"><text:p>v100-02</text:p></table:table-cell>
     <table:table-cell office:value-type="float" office:value="124"><text:p>124</text:p></table:table-cell>
     <table:table-cell office:value-type="date" office:date-value="2024-02-01"><text:p>01/02/2024</text:p></table:table-cell>
     <table:table-cell office:value-type="float" office:value="1234.5"><text:p>1234,50</text:p></table:table-cell>
    </table:table-row>
   </table:table>
  </office:spreadsheet>
 </office:body>
</office:document-content>
"""

MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>
"""


def write_ods(path):
    with zipfile.ZipFile(path, "w") as z:
        # Fixed timestamps keep the file byte-identical across runs.
        def add(name, data, compress):
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
            z.writestr(info, data)

        add("mimetype", "application/vnd.oasis.opendocument.spreadsheet", False)
        # No whitespace between elements, as LibreOffice writes it (calamine rejects it).
        add("content.xml", re.sub(r">\s+<", "><", CONTENT), True)
        add("META-INF/manifest.xml", MANIFEST, True)


def main():
    write_ods(os.path.join(HERE, "invoices.ods"))
    win = (
        "Pedido;Nota Fiscal;Emissão;Valor;Tipo\r\n"
        "v100-01;000123;31/01/2024;R$ 1.234,56;Saída\r\n"
        "v100-02;000124;13/02/2024 10:30;10,00;Entrada\r\n"
        ";;;;\r\n"
        "v100-03;000125;01/03/2024;\"0,99\";Saída\r\n"
        ";;;;\r\n"
        ";;;;\r\n"
    )
    with open(os.path.join(HERE, "nfe_windows1252.csv"), "wb") as f:
        f.write(win.encode("cp1252"))
    bom = (
        "order_id,invoice,description,price\n"
        "o1,001,\"two\nlines\",12.50\n"
        ",,,\n"
        "o2,002,ação,3.00\n"
        " , ,\t,\n"
        ",,,\n"
    )
    with open(os.path.join(HERE, "utf8_bom.csv"), "wb") as f:
        f.write(b"\xef\xbb\xbf" + bom.encode("utf-8"))


if __name__ == "__main__":
    main()
