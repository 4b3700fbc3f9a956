"""``emc agencies …``, ``emc tokens …``, ``emc rankings`` and the extra ``emc sites`` actions
(edit, move, remove, snippet).

Like the rest of the CLI, each action goes through the warehouse's HTTP API while it runs and
opens the database directly otherwise (embedded chDB allows one process per folder).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from core.errors import UserError
from core.settings import Settings
from emc.warehouse_client import WarehouseClient

AGENCY_KINDS = (
    "ministry",
    "ministry_level",
    "government_agency",
    "province",
    "department",
    "commune",
    "other",
)


class RegistryClient(WarehouseClient):
    """Registry calls: HTTP first, the database directly when the warehouse is not running."""

    def call(self, method: str, path: str, body: Any, direct: Callable[[Any], Any]) -> Any:
        kwargs: dict[str, Any] = {} if body is None else {"json": body}
        answer = self._request(method, path, **kwargs)
        if answer is not None:
            return answer
        from clickhouse.agencies import RegistryError

        try:
            return direct(self._direct())
        except (RegistryError, ValueError) as exc:
            raise UserError(str(exc)) from exc

    def text(self, path: str, direct: Callable[[Any], str]) -> str:
        try:
            response = self._http.get(path)
        except Exception:
            return direct(self._direct())
        if response.status_code >= 400:
            raise UserError(f"warehouse answered {response.status_code}: {response.text}")
        return response.text


def _date(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError as exc:
        raise UserError(f"--effective: {value!r} is not a date YYYY-MM-DD") from exc


def run_agencies(args: argparse.Namespace, settings: Settings) -> int:
    from clickhouse import agencies, agency_tree, registry
    from schemas.agencies import Agency

    client = RegistryClient(settings)
    action = args.agencies_cmd
    if action in ("add", "edit"):
        current: dict[str, Any] = {}
        if action == "edit":
            current = client.call(
                "GET",
                f"/api/v1/agencies/{args.id}",
                None,
                lambda db: _need(agencies.get_agency(db, args.id), args.id).model_dump(mode="json"),
            )
        body = {**current, "id": args.id}
        for field in ("name", "kind", "code"):
            if getattr(args, field) is not None:
                body[field] = getattr(args, field)
        if args.parent is not None:
            body["parent_id"] = args.parent
        effective = _date(args.effective)
        try:
            agency = Agency.model_validate(body)
        except ValueError as exc:
            raise UserError(str(exc)) from exc
        wire = {**agency.model_dump(mode="json"), "effective": effective}
        stored = client.call(
            "PUT",
            f"/api/v1/agencies/{args.id}",
            wire,
            lambda db: agencies.upsert_agency(
                db, agency, date.fromisoformat(effective) if effective else None
            ).model_dump(mode="json"),
        )
        print(
            f"agency {stored['id']} saved ({stored['kind']}, parent {stored['parent_id'] or '-'})"
        )
        return 0
    if action == "list":
        if args.format == "json":
            found = client.call(
                "GET",
                "/api/v1/agencies",
                None,
                lambda db: [a.model_dump(mode="json") for a in agencies.list_agencies(db)],
            )
            print(json.dumps(found, ensure_ascii=False, indent=2))
            return 0

        def tree(db: Any) -> str:
            counts: dict[str, int] = {}
            for site in registry.list_sites(db):
                counts[site.agency_id] = counts.get(site.agency_id, 0) + 1
            return "\n".join(agency_tree.tree_lines(agencies.list_agencies(db), counts)) + "\n"

        print(client.text("/api/v1/agencies?format=tree", tree), end="")
        return 0
    if action == "rename":
        day = _date(args.effective) or ""
        stored = client.call(
            "POST",
            f"/api/v1/agencies/{args.id}/rename",
            {"name": args.name, "effective": day},
            lambda db: agencies.rename_agency(
                db, args.id, args.name, date.fromisoformat(day)
            ).model_dump(mode="json"),
        )
        print(f"agency {stored['id']} is now {stored['name']!r} from {day}")
        return 0
    if action == "merge":
        when = _date(args.effective) or ""
        client.call(
            "POST",
            f"/api/v1/agencies/{args.id}/merge",
            {"into": args.into, "effective": when},
            lambda db: agencies.merge_agency(
                db, args.id, args.into, date.fromisoformat(when)
            ).model_dump(mode="json"),
        )
        print(f"agency {args.id} merged into {args.into} from {when}")
        return 0
    if action == "remove":
        client.call(
            "DELETE",
            f"/api/v1/agencies/{args.id}",
            None,
            lambda db: agencies.delete_agency(db, args.id),
        )
        print(f"agency {args.id} removed")
        return 0
    if action == "history":
        entries = client.call(
            "GET",
            f"/api/v1/agencies/{args.id}/history",
            None,
            lambda db: [e.model_dump(mode="json") for e in agencies.history(db, args.id)],
        )
        for e in entries:
            print(f"{e['effective']}  {e['change']:<8} {e['old_value']!r} -> {e['new_value']!r}")
        return 0
    # load
    from schemas.agencies import parse_agencies

    path = Path(args.file)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot read a JSON file ({exc})") from exc
    try:
        entries = parse_agencies(payload)
    except ValueError as exc:
        raise UserError(f"{path}: {exc}") from exc
    answer = client.call(
        "POST",
        "/api/v1/agencies/load",
        [a.model_dump(mode="json") for a in entries],
        lambda db: {"loaded": agencies.load(db, entries)},
    )
    print(f"{answer['loaded']} agencies loaded from {path}")
    return 0


def _need(value: Any, agency_id: str) -> Any:
    if value is None:
        raise UserError(f"agency {agency_id!r} is not registered")
    return value


def run_tokens(args: argparse.Namespace, settings: Settings) -> int:
    from clickhouse import agencies, tokens

    client = RegistryClient(settings)
    if args.tokens_cmd == "create":

        def direct(db: Any) -> dict[str, Any]:
            _need(agencies.get_agency(db, args.agency), args.agency)
            info, token = tokens.create_token(db, args.agency, args.name or "", args.role)
            return {**info.as_json(), "token": token}

        body = {"agency_id": args.agency, "name": args.name or "", "role": args.role}
        made = client.call("POST", "/api/v1/tokens", body, direct)
        role = made.get("role", args.role)
        print(
            f"{role} token {made['id']} for agency {made['agency_id']} (shown once, store it now):"
        )
        print(made["token"])
        return 0
    if args.tokens_cmd == "revoke":

        def revoke(db: Any) -> dict[str, str]:
            if not tokens.revoke_token(db, args.id):
                raise UserError(f"token {args.id!r} does not exist")
            return {"revoked": args.id}

        client.call("DELETE", f"/api/v1/tokens/{args.id}", None, revoke)
        print(f"token {args.id} revoked")
        return 0
    found = client.call(
        "GET", "/api/v1/tokens", None, lambda db: [t.as_json() for t in tokens.list_tokens(db)]
    )
    for t in found:
        state = "revoked" if t["revoked"] else "active"
        role = t.get("role", "viewer")
        print(
            f"{t['id']}  {t['agency_id']:<30} {role:<7} {state:<8} {t['created_at']}  {t['name']}"
        )
    return 0


def print_sites_tree(settings: Settings, sites: list[dict[str, Any]]) -> int:
    """``emc sites list --format tree``: the agency tree with the sites under their agency
    (and under their managing parent site)."""
    from clickhouse import agencies
    from clickhouse.agency_tree import sites_tree_lines
    from schemas.agencies import Agency

    client = RegistryClient(settings)
    found = client.call(
        "GET",
        "/api/v1/agencies",
        None,
        lambda db: [a.model_dump(mode="json") for a in agencies.list_agencies(db)],
    )
    rows = [(s["id"], s["type"], s.get("agency_id", ""), s.get("parent_site", "")) for s in sites]
    tree = [Agency.model_validate(a) for a in found]
    print("\n".join(sites_tree_lines(tree, rows)))
    return 0


def snippet(site_id: str, collector_url: str) -> str:
    """The embed code of ``emc.js`` for a site."""
    return f'<script defer src="{collector_url.rstrip("/")}/emc.js" data-site="{site_id}"></script>'


def run_sites(args: argparse.Namespace, settings: Settings) -> int:
    """``emc sites edit|move|remove|snippet``."""
    from clickhouse import agencies, registry
    from schemas.sites import Site

    client = RegistryClient(settings)
    found = {s["id"]: s for s in client.list_sites()}
    if args.id not in found:
        raise UserError(f"site {args.id!r} is not registered")
    current = found[args.id]
    if args.sites_cmd == "snippet":
        url = args.collector or f"http://{settings.collector_host}:{settings.collector_port}"
        print(snippet(args.id, url))
        return 0
    if args.sites_cmd == "remove":
        if not args.force:
            check = client.call(
                "GET",
                f"/api/v1/sites/{args.id}/removal-check",
                None,
                lambda db: {"blockers": registry.removal_blockers(db, args.id)},
            )
            if check["blockers"]:
                raise UserError(
                    f"site {args.id!r} not removed: {'; '.join(check['blockers'])} "
                    "(--force removes it anyway; the data stays in ClickHouse)"
                )
        client.call(
            "DELETE",
            f"/api/v1/sites/{args.id}?force=1",
            None,
            lambda db: registry.delete_site(db, args.id),
        )
        print(f"site {args.id} removed")
        return 0
    changes: dict[str, Any] = {}
    if args.sites_cmd == "move":
        changes["agency_id"] = args.agency
    else:
        for field in ("name", "timezone", "parent_site", "matomo_id", "agency_id"):
            value = getattr(args, field, None)
            if value is not None:
                changes[field] = value
        if args.domain:
            changes["domains"] = args.domain
    target = str(changes.get("agency_id") or "")
    if target:  # refuse a typo before the site disappears from its agency's numbers
        client.call(
            "GET",
            f"/api/v1/agencies/{target}",
            None,
            lambda db: _need(agencies.get_agency(db, target), target).model_dump(mode="json"),
        )
    try:
        site = Site.model_validate({**current, **changes})
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    client.put_site(site)
    print(f"site {site.id} saved (agency {site.agency_id or '-'})")
    return 0


def run_connections(args: argparse.Namespace, settings: Settings) -> int:
    """``emc connections [--agency ID] [--status S]``: a line per site."""
    from datetime import UTC, datetime

    from clickhouse import agencies, registry
    from indicators.connections import fetch

    client = RegistryClient(settings)
    query = "&".join(f"{k}={v}" for k, v in (("agency", args.agency), ("status", args.status)) if v)

    def direct(db: Any) -> dict[str, Any]:
        if args.agency:
            sites = [s.id for s in agencies.subtree_sites(db, args.agency)]
        else:
            sites = [s.id for s in registry.list_sites(db)]
        found = fetch(db, sites, datetime.now(UTC))
        if args.status:
            found = [s for s in found if s["status"] == args.status]
        return {"sites": found}

    answer = client.call("GET", f"/api/v1/connections?{query}", None, direct)
    if args.format == "json":
        print(json.dumps(answer, ensure_ascii=False, indent=2))
        return 0
    for s in answer["sites"]:
        since = s["seconds_since_last_event"]
        ago = "-" if since is None else f"{since / 3600:.1f} h ago"
        usual = "-" if s["usual_gap_hours"] is None else f"usual gap {s['usual_gap_hours']} h"
        lost = sum(g["hours"] for g in s["gaps"])
        print(f"{s['site']:<30} {s['status']:<10} {ago:<12} {usual:<16} {lost} h of gaps")
    return 0


def _ranking_query(args: argparse.Namespace) -> dict[str, str]:
    pairs = {
        "metric": args.metric, "group": args.group, "agency": args.agency, "kind": args.kind,
        "from": args.start, "to": args.end, "order": args.order, "compare": args.compare,
        "limit": str(args.limit),
    }  # fmt: skip
    return {k: v for k, v in pairs.items() if v}


def run_rankings(args: argparse.Namespace, settings: Settings) -> int:
    """``emc rankings --metric M (--group G | --agency ID [--kind K]) --from --to``: a line per
    ranked agency; ``--own`` places ``--agency`` among its peers (issue 18)."""
    from clickhouse import agencies
    from indicators import rankings
    from indicators.periods import CompareMode, Period, comparison_period
    from schemas.agencies import AgencyKind

    if args.metric not in rankings.METRICS:
        raise UserError(f"--metric: {args.metric!r} is not one of {', '.join(rankings.METRICS)}")
    query = _ranking_query(args)
    if args.own and not args.agency:
        raise UserError("--own: give --agency, the agency to place among its peers")
    if not args.own and bool(args.group) == bool(args.agency):
        raise UserError("give either --group (ministries, provinces) or --agency (its children)")
    try:
        period = Period(date.fromisoformat(args.start), date.fromisoformat(args.end))
    except ValueError as exc:
        raise UserError(f"--from/--to: {exc}") from exc
    previous = comparison_period(period, CompareMode(args.compare))
    descending = args.order == "desc"

    def direct(db: Any) -> dict[str, Any]:
        if args.group:
            return rankings.rankings(
                db, args.metric, args.group, period, previous, descending, args.limit
            )
        agency = agencies.get_agency(db, args.agency)
        if agency is None:
            raise UserError(f"agency {args.agency!r} is not registered")
        if args.own:
            return rankings.own_rank(db, args.metric, agency, period, previous, descending)
        kind = AgencyKind(args.kind) if args.kind else None
        return rankings.children_rankings(
            db, args.metric, agency, kind, period, previous, descending, args.limit
        )

    path = "/api/v1/rankings/own" if args.own else "/api/v1/rankings"
    if args.own:
        query = {k: v for k, v in query.items() if k not in ("group", "kind", "limit")}
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    answer = RegistryClient(settings).call("GET", f"{path}?{qs}", None, direct)
    if args.format == "json":
        print(json.dumps(answer, ensure_ascii=False, indent=2))
        return 0
    change = "change_pp" if rankings.is_rate(args.metric) else "change_pct"
    unit = " pp" if change == "change_pp" else " %"

    def shown(value: Any, suffix: str = "") -> str:
        return "-" if value is None else f"{value}{suffix}"

    if args.own:
        rank = "-" if answer["rank"] is None else f"{answer['rank']} of {answer['of']}"
        print(
            f"{answer['agency']}  {answer['name']}: rank {rank} among {answer['peers']}"
            f" ({args.metric} {shown(answer['value'])}, change {shown(answer.get(change), unit)})"
        )
        return 0
    for row in answer["rows"]:
        print(
            f"{row['rank']:>4}  {row['agency']:<24} {row['name']:<40} {shown(row['value']):>10}"
            f"  {shown(row.get(change), unit):>9}"
        )
    for key, words in (("without_sites", "no site"), ("without_data", "no data")):
        if answer[key]:
            print(f"{words}: {', '.join(answer[key])}")
    return 0


def register(sub: Any, sites_sub: Any, cmd_agencies: Any, cmd_tokens: Any) -> None:
    """Add the parsers: ``agencies``, ``tokens`` and the extra ``sites`` actions."""
    ag = sub.add_parser("agencies", help="manage the agency tree")
    ag_sub = ag.add_subparsers(dest="agencies_cmd", required=True, metavar="ACTION")
    for name, helptext in (("add", "register an agency"), ("edit", "change an agency")):
        p = ag_sub.add_parser(name, help=helptext)
        p.add_argument("id", help="agency id (letters, digits, . _ -)")
        p.add_argument("--name", required=name == "add")
        p.add_argument("--kind", choices=AGENCY_KINDS, required=name == "add")
        p.add_argument("--code", help="official code (e.g. the province's unit code)")
        p.add_argument("--parent", help="parent agency id ('' for the top level)")
        p.add_argument("--effective", help="date the change took effect (default today)")
    lst = ag_sub.add_parser("list", help="the agency tree (or --format json)")
    lst.add_argument("--format", choices=["tree", "json"], default="tree")
    rn = ag_sub.add_parser("rename", help="record a name change with its effective date")
    rn.add_argument("id")
    rn.add_argument("--name", required=True)
    rn.add_argument("--effective", required=True, help="YYYY-MM-DD")
    mg = ag_sub.add_parser("merge", help="merge an agency into another from a date")
    mg.add_argument("id")
    mg.add_argument("--into", required=True)
    mg.add_argument("--effective", required=True, help="YYYY-MM-DD")
    rm = ag_sub.add_parser("remove", help="remove an agency without children or sites")
    rm.add_argument("id")
    hi = ag_sub.add_parser("history", help="name changes, moves and mergers of an agency")
    hi.add_argument("id")
    ld = ag_sub.add_parser("load", help="load agencies from a JSON file (data/agencies_vn.json)")
    ld.add_argument("file")
    ag.set_defaults(handler=cmd_agencies)

    tk = sub.add_parser("tokens", help="agency-scoped API tokens")
    tk_sub = tk.add_subparsers(dest="tokens_cmd", required=True, metavar="ACTION")
    cr = tk_sub.add_parser("create", help="a token that sees one agency's subtree")
    cr.add_argument("--agency", required=True)
    cr.add_argument("--name", help="who or what uses it")
    cr.add_argument(
        "--role",
        choices=["viewer", "editor"],
        default="viewer",
        help="viewer reads the subtree; editor also manages it (catalogs, accounts, domains, "
        "child agencies and sites, viewer tokens)",
    )
    tk_sub.add_parser("list", help="tokens (never the tokens themselves)")
    rv = tk_sub.add_parser("revoke", help="revoke a token by id")
    rv.add_argument("id")
    tk.set_defaults(handler=cmd_tokens)

    cn = sub.add_parser("connections", help="connection status of each site (last event, gaps)")
    cn.add_argument("--agency", help="only this agency's subtree")
    cn.add_argument("--status", choices=["connected", "silent", "never_seen"])
    cn.add_argument("--format", choices=["table", "json"], default="table")
    cn.set_defaults(handler=run_connections)

    rk = sub.add_parser("rankings", help="rank ministries, provinces or an agency's children")
    rk.add_argument("--metric", required=True, help="visits, on_time_rate, … (any of the API's)")
    rk.add_argument("--group", choices=["ministries", "provinces"])
    rk.add_argument("--agency", help="rank this agency's children (or place it with --own)")
    rk.add_argument("--kind", choices=AGENCY_KINDS, help="only children of this kind")
    rk.add_argument("--from", dest="start", required=True, help="YYYY-MM-DD (local)")
    rk.add_argument("--to", dest="end", required=True, help="YYYY-MM-DD (inclusive)")
    rk.add_argument("--order", choices=["desc", "asc"], default="desc")
    rk.add_argument("--compare", choices=["previous", "year", "none"], default="previous")
    rk.add_argument("--limit", type=int, default=100)
    rk.add_argument("--own", action="store_true", help="the agency's rank among its peers")
    rk.add_argument("--format", choices=["table", "json"], default="table")
    rk.set_defaults(handler=run_rankings)

    ed = sites_sub.add_parser("edit", help="change fields of a site")
    ed.add_argument("id")
    ed.add_argument("--name")
    ed.add_argument("--timezone")
    ed.add_argument("--domain", action="append", help="replaces the domains (repeatable)")
    ed.add_argument("--agency", dest="agency_id")
    ed.add_argument("--parent-site", dest="parent_site")
    ed.add_argument("--matomo-id", dest="matomo_id", type=int, help="Matomo idsite it answers to")
    mv = sites_sub.add_parser("move", help="move a site to another agency")
    mv.add_argument("id")
    mv.add_argument("--agency", required=True)
    rms = sites_sub.add_parser("remove", help="remove a site (refused while it has data)")
    rms.add_argument("id")
    rms.add_argument("--force", action="store_true", help="remove even with data or children")
    sn = sites_sub.add_parser("snippet", help="print the emc.js embed code of a site")
    sn.add_argument("id")
    sn.add_argument("--collector", help="public collector URL (default from settings)")
