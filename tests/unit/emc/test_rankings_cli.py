"""``emc rankings`` (issue 18): its argument errors are said before any database or HTTP call,
naming the option to change."""

from __future__ import annotations

import pytest

from core.errors import UserError
from core.settings import Settings
from emc.cli import build_parser
from emc.registry_cli import run_rankings

DATES = ["--from", "2026-03-01", "--to", "2026-03-07"]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--metric", "clicks", "--group", "provinces"], "--metric: 'clicks' is not one of"),
        (["--metric", "visits"], "give either --group"),
        (["--metric", "visits", "--group", "provinces", "--agency", "p"], "give either --group"),
        (["--metric", "visits", "--own"], "--own: give --agency"),
        (["--metric", "visits", "--agency", "p", "--from", "2026-02-30"], "--from/--to"),
    ],
)
def test_rankings_arguments_are_checked_first(argv: list[str], words: str) -> None:
    args = build_parser().parse_args(["rankings", *DATES, *argv])
    with pytest.raises(UserError) as info:
        run_rankings(args, Settings())
    assert words in str(info.value)


def test_rankings_parser_keeps_every_choice() -> None:
    args = build_parser().parse_args(
        ["rankings", "--metric", "on_time_rate", "--agency", "p", "--kind", "commune", *DATES]
    )
    assert (args.metric, args.agency, args.kind, args.order, args.compare, args.own) == (
        "on_time_rate", "p", "commune", "desc", "previous", False,
    )  # fmt: skip
