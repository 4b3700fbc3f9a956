"""The emc command: parser, table output, schema export, demo simulation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emc.cli import build_parser, format_table, main
from emc.demo import DEMO_SITES, DemoTraffic
from emc.jsonschema import export_schemas
from schemas import DossierEventIn, ServerHit


def test_format_table_aligns_and_counts_rows() -> None:
    text = format_table(["site", "visits"], [["demo-hanoi", 12], ["x", None]])
    lines = text.splitlines()
    assert lines[0].split() == ["site", "visits"]
    assert lines[2].startswith("demo-hanoi  12")
    assert lines[3].split() == ["x", "NULL"]
    assert lines[-1] == "(2 rows)"


def test_sites_add_requires_a_domain() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["sites", "add", "--id", "a", "--name", "A", "--type", "portal"])


def test_schema_export_writes_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--out", str(tmp_path)]) == 0
    written = {p.name for p in tmp_path.iterdir()}
    assert {
        "server-hit.schema.json",
        "dossier-event.schema.json",
        "beacon-hit.schema.json",
    } <= written
    server = json.loads((tmp_path / "server-hit.schema.json").read_text())
    assert {"site", "url", "ts"} <= set(server["required"])


def test_unknown_schema_name_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "nope"]) == 2
    assert "server-hit" in capsys.readouterr().err


def test_beacon_schema_uses_short_keys() -> None:
    beacon = export_schemas()["beacon-hit"]
    assert {"s", "u"} <= set(beacon["properties"])


def test_demo_traffic_is_valid_for_the_collector() -> None:
    traffic = DemoTraffic(rate_per_s=40, seed=1)
    now = 1_795_420_800_000  # 2026-11-23 12:00 UTC = 19:00 in Vietnam
    hits: list[dict[str, object]] = []
    dossiers: list[dict[str, object]] = []
    for second in range(300):
        h, d = traffic.tick(now + second * 1000, 1.0)
        hits += h
        dossiers += d
    assert len(hits) > 3000
    for line in hits:
        ServerHit.model_validate(line)
    for line in dossiers:
        DossierEventIn.model_validate(line)
    sites = {s.id: s for s in DEMO_SITES}
    from urllib.parse import urlsplit

    assert all(
        sites[str(h["site"])].owns_host(urlsplit(str(h["url"])).hostname or "") for h in hits
    )
    assert len({h["ip"] for h in hits}) > 200  # many visitors
    assert any("coc_coc_browser" in str(h["ua"]) for h in hits)
    assert any("Zalo" in str(h["ua"]) for h in hits)
    assert {d["status"] for d in dossiers} >= {"submitted", "received", "returned"}


def test_demo_follows_the_day_night_rhythm() -> None:
    night = DemoTraffic(rate_per_s=40, seed=2)
    day = DemoTraffic(rate_per_s=40, seed=2)
    night_start = 1_795_374_000_000  # 2026-11-22 19:00 UTC = 02:00 in Vietnam
    day_start = 1_795_399_200_000  # 2026-11-23 02:00 UTC = 09:00 in Vietnam
    n = sum(len(night.tick(night_start + i * 1000, 1.0)[0]) for i in range(600))
    d = sum(len(day.tick(day_start + i * 1000, 1.0)[0]) for i in range(600))
    assert d > 3 * n


def test_rebuild_refuses_bad_dates_and_a_reversed_range(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["rebuild", "--from", "2026-02-30", "--to", "2026-03-01"])
    assert "argument --from: '2026-02-30' is not a date (YYYY-MM-DD)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["rebuild", "--from", "2026-03-01"])  # --to is required
    code = main(["rebuild", "--from", "2026-03-02", "--to", "2026-03-01"])
    assert code == 1
    assert "--to 2026-03-01 is before --from 2026-03-02" in capsys.readouterr().err


def test_rebuild_site_check_names_the_unknown_site() -> None:
    from core.errors import UserError
    from emc.rebuild_cli import check_sites

    assert check_sites(["a", "b"], ["b", "a", "b"]) == ["b", "a"]
    with pytest.raises(UserError, match=r"--site c: unknown site \(registered: a, b\)"):
        check_sites(["a", "b"], ["a", "c"])
