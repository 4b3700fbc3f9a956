"""Write the sample workbooks users start from and the tests use: a valid service catalog, a
valid account list, and broken variants (one problem each) that must be refused whole.

Run ``.venv/bin/python samples/make_samples.py`` from the repository root; the files are
small and committed, so users can open them without running anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
CATALOG_HEADER = ["Name", "Level", "Url", "ID CDVCQG", "ID MCDT"]
ACCOUNT_HEADER = ["ID_local", "ID_QG", "TYPE", "CREATDATE_USER", "LAST_LOGIN"]

#: A small provincial catalog: full-process (4), partial (3) and offline-only (0) services.
_DVC = "https://dichvucong.hanoi.gov.vn/dvc/"
CATALOG = [
    ["Đăng ký khai sinh", 4, _DVC + "1.001193", "1.001193", "1.001193"],
    ["Đăng ký kết hôn", 3, _DVC + "1.000894", "1.000894", "1.000894"],
    ["Cấp bản sao trích lục hộ tịch", 4, _DVC + "2.000635", "2.000635", "2.000635"],
    ["Đăng ký thành lập hộ kinh doanh", 4, _DVC + "2.000720", "2.000720", "2.000720"],
    ["Cấp giấy phép xây dựng nhà ở riêng lẻ", 3, _DVC + "1.009972", "1.009972", "1.009972"],
    ["Đăng ký biến động đất đai", 3, "", "1.004227", "1.004227"],
    ["Công nhận báo cáo viên pháp luật", 0, "", "", "2.000930"],
]

ACCOUNTS = [
    ["u-0001", "QG-883001", 2, datetime(2025, 11, 2, 9, 15), datetime(2026, 3, 1, 8, 0)],
    ["u-0002", "", 2, datetime(2026, 1, 10, 14, 0), None],
    ["u-0003", "QG-883017", 1, "15/02/2026", "2026-03-02 10:30:00"],
    ["cb-0001", "", 3, datetime(2024, 6, 1), datetime(2026, 3, 3, 7, 45)],
    ["u-0004", "QG-883020", 2, "2026-03-01", "2026-03-01 21:10"],
]


def _write(path: Path, header: Sequence[Any], rows: Sequence[Sequence[Any]]) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)
    print(f"wrote {path.relative_to(HERE.parent)}")


def main() -> None:
    broken = HERE / "broken"
    broken.mkdir(exist_ok=True)
    _write(HERE / "catalog.xlsx", CATALOG_HEADER, CATALOG)
    _write(HERE / "accounts.xlsx", ACCOUNT_HEADER, ACCOUNTS)
    # catalog: one problem per file
    _write(broken / "catalog_missing_column.xlsx", CATALOG_HEADER[:4], [r[:4] for r in CATALOG])
    _write(
        broken / "catalog_unknown_level.xlsx",
        CATALOG_HEADER,
        [*CATALOG[:2], [CATALOG[2][0], 2, *CATALOG[2][2:]], *CATALOG[3:]],
    )
    _write(
        broken / "catalog_duplicate_id_mcdt.xlsx",
        CATALOG_HEADER,
        [*CATALOG, ["Đăng ký khai sinh (bản cũ)", 3, "", "", "1.001193"]],
    )
    _write(
        broken / "catalog_empty_name.xlsx",
        CATALOG_HEADER,
        [*CATALOG[:3], ["", 4, "", "9.999999", "9.999999"], *CATALOG[3:]],
    )
    (broken / "catalog_not_xlsx.xlsx").write_text(
        "Name,Level,Url,ID CDVCQG,ID MCDT\nĐăng ký khai sinh,4,,1.001193,1.001193\n",
        encoding="utf-8",
    )
    print("wrote samples/broken/catalog_not_xlsx.xlsx")
    # accounts
    _write(
        broken / "accounts_unknown_type.xlsx",
        ACCOUNT_HEADER,
        [*ACCOUNTS[:1], ["u-0009", "", 4, None, None], *ACCOUNTS[1:]],
    )
    _write(
        broken / "accounts_bad_date.xlsx",
        ACCOUNT_HEADER,
        [*ACCOUNTS, ["u-0010", "", 2, "hôm qua", None]],
    )
    _write(
        broken / "accounts_duplicate_id.xlsx",
        ACCOUNT_HEADER,
        [*ACCOUNTS, ["u-0001", "", 2, None, None]],
    )


if __name__ == "__main__":
    main()
