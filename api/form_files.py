"""``format=xlsx|docx`` of the official forms (``indicators.forms.Form``): the same cells in
both, in the layout people file — the reporting unit and the national heading, the title, the
period, each table with its header row, the notes, and the signature block (place and date,
"Người lập biểu" on the left, "Thủ trưởng đơn vị" on the right, seed 003's wording).

Why here: files are what the HTTP layer sends; the forms themselves are pure values built in
``indicators.forms``. The XLSX keeps numbers as numbers (a rate 97.1 stays a number a person can
sum); the DOCX prints them the Vietnamese way (29.140; 97,1) since Word does no formatting.
"""

from __future__ import annotations

import io
from typing import Any

from indicators.forms import Form

DOCX_MEDIA = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
PLACE_DATE = "……, ngày …… tháng …… năm ……"
SIGNERS = (("NGƯỜI LẬP BIỂU", "(Ký và ghi rõ họ, tên)"),
           ("THỦ TRƯỞNG ĐƠN VỊ", "(Ký tên, đóng dấu)"))  # fmt: skip


def unit_line(form: Form) -> str:
    return f"TÊN ĐƠN VỊ BÁO CÁO: {form.unit}"


def vi_number(value: Any) -> str:
    """A cell as Vietnamese text: thousands with '.', decimals with ','; None as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")
    if isinstance(value, float):
        whole, _, decimals = f"{value:,.2f}".rstrip("0").rstrip(".").partition(".")
        return whole.replace(",", ".") + ("," + decimals if decimals else "")
    return str(value)


def to_xlsx(form: Form) -> bytes:
    """One sheet: rows 1–2 the unit and the national heading, then title, subtitle, period,
    a blank row, and each table (caption row when it has one, header row, rows, blank row);
    then the notes and the signature block."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new workbook always has one sheet
    sheet.title = "Biểu mẫu"
    width = max(len(s.header) for s in form.sections)
    bold = Font(bold=True)
    thin = Side(style="thin")
    grid = Border(left=thin, right=thin, top=thin, bottom=thin)
    sheet.append([unit_line(form), *[None] * (width - 2), NATION])
    sheet.append([None] * (width - 1) + [MOTTO])
    for text in (form.title, form.subtitle, form.period):
        sheet.append([text])
        sheet.cell(sheet.max_row, 1).font = bold if text == form.title else Font(italic=True)
    sheet.append([])
    for section in form.sections:
        if section.caption:
            sheet.append([section.caption])
            sheet.cell(sheet.max_row, 1).font = bold
        sheet.append(list(section.header))
        for cell in sheet[sheet.max_row]:
            cell.font, cell.border = bold, grid
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        for index, row in enumerate(section.rows):
            sheet.append(list(row))
            for cell in sheet[sheet.max_row][: len(section.header)]:
                cell.border = grid
                cell.alignment = Alignment(wrap_text=True, vertical="top")
                if index in section.bold:
                    cell.font = bold
            if index in section.spans:
                last = sheet.max_row
                sheet.merge_cells(
                    start_row=last, start_column=2, end_row=last, end_column=len(section.header)
                )
        sheet.append([])
    for note in form.notes:
        sheet.append([f"Ghi chú: {note}"])
    sheet.append([])
    sheet.append([None] * (width - 1) + [PLACE_DATE])
    sheet.append([SIGNERS[0][0], *[None] * (width - 2), SIGNERS[1][0]])
    sheet.append([SIGNERS[0][1], *[None] * (width - 2), SIGNERS[1][1]])
    sheet.column_dimensions["A"].width = 10
    sheet.column_dimensions["B"].width = 60
    for letter in "CDEFGHIJ":
        sheet.column_dimensions[letter].width = 16
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def to_docx(form: Form) -> bytes:
    """A Word document: a two-column heading table (unit | national heading), the centred
    title, subtitle and period, each table in a grid, the notes, and a two-column signature
    table without borders."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    document = Document()
    page = document.sections[0]
    if max(len(s.header) for s in form.sections) > 5:
        page.orientation = WD_ORIENT.LANDSCAPE
        page.page_width, page.page_height = page.page_height, page.page_width
    document.styles["Normal"].font.name = "Times New Roman"
    document.styles["Normal"].font.size = Pt(12)
    heading = document.add_table(rows=2, cols=2)
    heading.cell(0, 0).text = unit_line(form)
    heading.cell(0, 1).text = NATION
    heading.cell(1, 1).text = MOTTO
    for text, is_bold in ((form.title, True), (form.subtitle, False), (form.period, False)):
        paragraph = document.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = paragraph.add_run(text)
        run.bold, run.italic = is_bold, not is_bold
    for section in form.sections:
        if section.caption:
            document.add_paragraph().add_run(section.caption).bold = True
        table = document.add_table(rows=1, cols=len(section.header))
        table.style = "Table Grid"
        for cell, text in zip(table.rows[0].cells, section.header, strict=True):
            cell.text = ""
            cell.paragraphs[0].add_run(text).bold = True
        for index, row in enumerate(section.rows):
            cells = table.add_row().cells
            values = row
            if index in section.spans:  # a group title over the rest of the row
                cells[1].merge(cells[-1])
                values = row[:2]
            for cell, value in zip(cells, values, strict=False):
                cell.text = ""
                cell.paragraphs[0].add_run(vi_number(value)).bold = index in section.bold
        document.add_paragraph()
    for note in form.notes:
        document.add_paragraph(f"Ghi chú: {note}")
    signature = document.add_table(rows=3, cols=2)
    signature.cell(0, 1).text = PLACE_DATE
    for column, (role, how) in enumerate(SIGNERS):
        signature.cell(1, column).paragraphs[0].add_run(role).bold = True
        signature.cell(2, column).paragraphs[0].add_run(how).italic = True
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
