"""Who is asking, and which sites they may read.

Two kinds of bearer token: the admin token (``EMC_ADMIN_TOKEN``) sees everything; an
agency-scoped token (``emc tokens create``) sees its agency's subtree and nothing else. An agency
token is a ``viewer`` (reads) or an ``editor`` (also manages its subtree: ``api/guard.py``
``Access.EDITOR``; whether an object is inside is ``in_subtree`` / ``site_in_subtree`` here).

Every indicator endpoint resolves its ``site=`` / ``agency=`` parameters through
``resolve_sites`` here, so the restriction is applied where the site list is built, before any
SQL runs: the queries then filter on that list. A site or agency outside the token's subtree
answers exactly like one that does not exist (404, same message), so a token cannot probe which
ids exist elsewhere. Free SQL (``/api/v1/sql``, named queries) for agency tokens is restricted
row by row by the engine (``indicators/scoped_sql.py``).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from clickhouse import agencies, agency_tree, tokens
from clickhouse.client import Database
from indicators.errors import NotFound


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: ``agency_id`` None means the admin (everything); otherwise the token's
    agency, whose subtree bounds every answer."""

    agency_id: str | None = None
    #: ``viewer`` or ``editor`` for an agency token (``clickhouse.tokens.ROLES``); the admin's
    #: is ``admin``.
    role: str = "viewer"

    @property
    def is_admin(self) -> bool:
        return self.agency_id is None

    @property
    def can_edit(self) -> bool:
        """The admin, or an editor token (inside its subtree)."""
        return self.agency_id is None or self.role == tokens.EDITOR


ADMIN = Principal(None, "admin")


def authenticate(db: Database, token: str | None, admin_token: str) -> Principal | None:
    """The principal of ``token`` or None (missing, wrong or revoked). Blocks on the database
    for agency tokens: call it from a worker thread."""
    if not token:
        return None
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        return ADMIN
    found = tokens.role_of_token(db, token)
    return Principal(found[0], found[1]) if found and found[0] else None


def in_subtree(db: Database, principal: Principal, agency_id: str) -> bool:
    """True when ``agency_id`` is registered and inside ``principal``'s subtree (the admin:
    registered at all)."""
    all_agencies = agencies.list_agencies(db)
    if principal.agency_id is None:
        return any(a.id == agency_id for a in all_agencies)
    return agency_id in agency_tree.subtree(all_agencies, principal.agency_id)


def site_in_subtree(db: Database, principal: Principal, site_id: str) -> bool:
    """True when site ``site_id`` is registered and visible to ``principal``."""
    found = _site_agencies(db, "id = {id:String}", {"id": site_id})
    if site_id not in found:
        return False
    return principal.agency_id is None or in_subtree(db, principal, found[site_id])


@dataclass(frozen=True, slots=True)
class Selection:
    """What the query string asked for: explicit sites, or an agency's subtree."""

    param: str
    sites: tuple[str, ...] = ()
    agency: str = ""


def _site_agencies(db: Database, where: str, parameters: dict[str, object]) -> dict[str, str]:
    """``{site id: agency id}`` of the registered sites matching ``where`` (two columns read,
    no model validation: this runs before every indicator request)."""
    rows = db.query(
        f"SELECT id, agency_id FROM sites FINAL WHERE deleted = 0 AND {where}",
        parameters=parameters,
    ).result_rows
    return {str(r[0]): str(r[1]) for r in rows}


def visible_sites(db: Database, principal: Principal) -> set[str] | None:
    """The site ids ``principal`` may read; None for the admin (all)."""
    if principal.agency_id is None:
        return None
    scope = agency_tree.subtree(agencies.list_agencies(db), principal.agency_id)
    return set(_site_agencies(db, "agency_id IN {ids:Array(String)}", {"ids": sorted(scope)}))


def resolve_sites(db: Database, selection: Selection, principal: Principal) -> list[str]:
    """The registered site ids to compute over, each visible to ``principal``. An unknown or
    invisible site or agency raises the same 404 (no existence leak); an agency without any
    site raises 404 naming it (a roll-up of nothing is an error, not zeros)."""
    scope: set[str] | None = None
    all_agencies = None
    if principal.agency_id is not None or selection.agency:
        all_agencies = agencies.list_agencies(db)
    if principal.agency_id is not None:
        assert all_agencies is not None
        scope = agency_tree.subtree(all_agencies, principal.agency_id)
    if selection.agency:
        assert all_agencies is not None
        known = {a.id for a in all_agencies}
        if selection.agency not in (scope if scope is not None else known):
            raise NotFound(f"agency: agency {selection.agency!r} is not registered")
        ids = agency_tree.subtree(all_agencies, selection.agency)
        sites = sorted(_site_agencies(db, "agency_id IN {ids:Array(String)}", {"ids": sorted(ids)}))
        if not sites:
            raise NotFound(f"agency: agency {selection.agency!r} has no registered site")
        return sites
    found = _site_agencies(db, "id IN {ids:Array(String)}", {"ids": list(selection.sites)})
    for site in selection.sites:
        if site not in found or (scope is not None and found[site] not in scope):
            raise NotFound(f"{selection.param}: site {site!r} is not registered")
    return list(selection.sites)


def check_sites_known(db: Database, sites: list[str], param: str = "site") -> dict[str, str]:
    """The timezone of each site; ``ParamError`` 404 naming the first unregistered one."""
    rows = db.query(
        "SELECT id, timezone FROM sites FINAL WHERE deleted = 0 AND id IN {ids:Array(String)}",
        parameters={"ids": sites},
    ).result_rows
    known = {str(r[0]): str(r[1]) for r in rows}
    for site in sites:
        if site not in known:
            raise NotFound(f"{param}: site {site!r} is not registered")
    return known
