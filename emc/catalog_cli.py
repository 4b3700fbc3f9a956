"""``emc catalog import|history|set-default|export`` and ``emc accounts import``.

Like every CLI command that touches the warehouse: through its HTTP API when it runs (in
embedded mode the warehouse process owns the chDB folder), else on the database directly.
A refused file prints the whole report (row, column, problem per line) and exits 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import UserError
from core.settings import Settings

if TYPE_CHECKING:
    import httpx

_TIMEOUT_S = 120.0


class _NotRunning(Exception):
    """The warehouse does not answer: use the database directly."""


def _http(settings: Settings, method: str, path: str, **kwargs: Any) -> httpx.Response:
    import httpx

    headers = {"Authorization": f"Bearer {settings.admin_token.get_secret_value()}"}
    try:
        with httpx.Client(
            base_url=settings.warehouse_url, headers=headers, timeout=_TIMEOUT_S
        ) as client:
            return client.request(method, path, **kwargs)
    except httpx.ConnectError:
        raise _NotRunning() from None


def _report(body: dict[str, Any]) -> str:
    """The refusal report as lines: the summary, then ``row N, column C: problem``."""
    lines = [str(body.get("error", "refused"))]
    for problem in body.get("problems", []):
        column = f", column {problem['column']}" if problem.get("column") else ""
        lines.append(f"  row {problem['row']}{column}: {problem['problem']}")
    count = int(body.get("problem_count", 0))
    if count > len(body.get("problems", [])):
        lines.append(f"  … {count - len(body['problems'])} more")
    return "\n".join(lines)


def _checked(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            raise UserError(f"warehouse answered {response.status_code}: {response.text}") from None
        raise UserError(_report(body) if "problems" in body else str(body.get("error", body)))
    return response.json()


def _direct(settings: Settings) -> Any:
    from emc.warehouse_client import WarehouseClient

    return WarehouseClient(settings)._direct()


def _direct_site(settings: Settings, site: str) -> Any:
    from clickhouse import registry

    db = _direct(settings)
    if registry.get_site(db, site) is None:
        raise UserError(f"site: {site!r} is not registered")
    return db


def _import(settings: Settings, kind: str, path: Path, site: str, default: bool) -> dict[str, Any]:
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    data = path.read_bytes()
    try:
        return dict(
            _checked(
                _http(
                    settings,
                    "POST",
                    f"/api/v1/sites/{site}/{kind}",
                    files={"file": (path.name, data)},
                    data={"default": "true" if default else "false"},
                )
            )
        )
    except _NotRunning:
        pass
    from clickhouse import accounts, catalog
    from schemas.workbooks import ImportRefused, read_accounts, read_catalog

    db = _direct_site(settings, site)
    digest = hashlib.sha256(data).hexdigest()
    try:
        if kind == "catalog":
            rows = read_catalog(data)
            version = catalog.import_catalog(
                db, site, rows, file_name=path.name, sha256=digest, make_default=default
            )
            return version.as_json()
        account_rows = read_accounts(data)
        return accounts.import_accounts(
            db, site, account_rows, file_name=path.name, sha256=digest
        ).as_json()
    except ImportRefused as exc:
        raise UserError(_report(exc.report())) from None


def _history(settings: Settings, site: str) -> dict[str, Any]:
    try:
        return dict(_checked(_http(settings, "GET", f"/api/v1/sites/{site}/catalog/history")))
    except _NotRunning:
        pass
    from clickhouse import catalog

    db = _direct_site(settings, site)
    return {
        "site": site,
        "versions": [v.as_json() for v in catalog.history(db, site)],
        "default_changes": catalog.default_changes(db, site),
    }


def _set_default(settings: Settings, site: str, version: int) -> dict[str, Any]:
    try:
        return dict(
            _checked(
                _http(
                    settings,
                    "PUT",
                    f"/api/v1/sites/{site}/catalog/default",
                    json={"version": version},
                )
            )
        )
    except _NotRunning:
        pass
    from clickhouse import catalog

    try:
        return catalog.set_default(_direct_site(settings, site), site, version).as_json()
    except catalog.CatalogError as exc:
        raise UserError(str(exc)) from None


def _export(settings: Settings, site: str, version: int | None) -> tuple[int, bytes]:
    from schemas.workbooks import CatalogRow, write_catalog

    params = {"format": "json", **({"version": str(version)} if version else {})}
    try:
        answer = _checked(_http(settings, "GET", f"/api/v1/sites/{site}/catalog", params=params))
        rows = [
            CatalogRow(s["row"], s["name"], s["level"], s["url"], s["id_cdvcqg"], s["id_mcdt"])
            for s in answer["services"]
        ]
        return int(answer["version"]), write_catalog(rows)
    except _NotRunning:
        pass
    from clickhouse import catalog

    try:
        number, rows = catalog.services(_direct_site(settings, site), site, version)
    except catalog.CatalogError as exc:
        raise UserError(str(exc)) from None
    return number, write_catalog(rows)


def run_catalog(args: argparse.Namespace, settings: Settings) -> int:
    """``emc catalog ACTION``."""
    if args.catalog_cmd == "import":
        done = _import(settings, "catalog", args.file, args.site, args.default)
        state = "the default" if done["is_default"] else "not the default"
        print(
            f"catalog of {args.site}: version {done['version']} with {done['rows']} services, "
            f"{state}"
        )
        return 0
    if args.catalog_cmd == "history":
        history = _history(settings, args.site)
        if args.format == "json":
            print(json.dumps(history, ensure_ascii=False, indent=2))
            return 0
        from emc.cli import format_table

        rows = [
            [v["version"], "yes" if v["is_default"] else "", v["imported_at"], v["rows"],
             v["file_name"]]
            for v in history["versions"]
        ]  # fmt: skip
        print(format_table(["version", "default", "imported_at", "rows", "file"], rows))
        return 0
    if args.catalog_cmd == "set-default":
        chosen = _set_default(settings, args.site, args.version)
        print(f"catalog of {args.site}: version {chosen['version']} is now the default")
        return 0
    number, data = _export(settings, args.site, args.version)
    out: Path = args.out or Path(f"catalog-{args.site}-v{number}.xlsx")
    out.write_bytes(data)
    print(f"wrote {out} (catalog of {args.site}, version {number})")
    return 0


def run_accounts(args: argparse.Namespace, settings: Settings) -> int:
    """``emc accounts import FILE --site ID``."""
    done = _import(settings, "accounts", args.file, args.site, False)
    print(f"accounts of {args.site}: import {done['import_id']} with {done['rows']} accounts")
    return 0


def register(sub: Any) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """Add the ``catalog`` and ``accounts`` subcommands to the ``emc`` parser; returns both
    (the caller sets their handlers)."""
    catalog = sub.add_parser("catalog", help="service catalog: import, history, default, export")
    actions = catalog.add_subparsers(dest="catalog_cmd", required=True, metavar="ACTION")
    imp = actions.add_parser("import", help="import an .xlsx catalog as a new version")
    imp.add_argument("file", type=Path, help="workbook: Name, Level, Url, ID CDVCQG, ID MCDT")
    imp.add_argument("--site", required=True, help="site id")
    imp.add_argument("--default", action="store_true", help="make it the default version")
    hist = actions.add_parser("history", help="list the versions of a site's catalog")
    hist.add_argument("--site", required=True, help="site id")
    hist.add_argument("--format", choices=["table", "json"], default="table")
    setd = actions.add_parser("set-default", help="make an imported version the default")
    setd.add_argument("--site", required=True, help="site id")
    setd.add_argument("--version", required=True, type=int, help="version number")
    exp = actions.add_parser("export", help="write a version as .xlsx in the import layout")
    exp.add_argument("--site", required=True, help="site id")
    exp.add_argument("--version", type=int, help="version (default: the default version)")
    exp.add_argument("--out", type=Path, help="output file (default catalog-SITE-vN.xlsx)")
    accounts = sub.add_parser("accounts", help="account lists: import")
    acc = accounts.add_subparsers(dest="accounts_cmd", required=True, metavar="ACTION")
    acc_imp = acc.add_parser("import", help="import an .xlsx account list")
    acc_imp.add_argument(
        "file", type=Path, help="workbook: ID_local, ID_QG, TYPE, CREATDATE_USER, LAST_LOGIN"
    )
    acc_imp.add_argument("--site", required=True, help="site id")
    return catalog, accounts
