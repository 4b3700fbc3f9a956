"""The agency tree as channels need it (issue 17 item 2): which referrals are ``internal``.

Contract: ``site_tree(db, sites)`` reads the registry (sites and agencies) and gives, for the
selected ``sites`` and for every domain of every registered site, the root agency of its tree; the
SQL applies it (the ``channel`` fragment, ``clickhouse/queries/fragments/channel.sql``, and
``portal_breakdown_channel``). ``with_tree`` puts the tree into ``Filters`` when a channel
filter needs it.

Why at query time: a visit's stored channel is ``referral`` for any other site (the sessionizer
does not read the registry, and the tree changes: an agency moves, two merge). "Internal" =
a referral whose referrer host is a domain of a site whose agency has the same root (the top
of the tree: a ministry or a province) as the visited site's agency. A site not yet placed in
the tree (agency '') has no tree: none of its referrals are internal, and it makes no other
site's referrals internal. Wildcard domains (``*.example.vn``) count by their base domain only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from clickhouse.agencies import list_agencies
from clickhouse.client import Database
from clickhouse.registry import list_sites
from indicators.filters import Filters, Tree


def roots(parents: dict[str, str]) -> dict[str, str]:
    """The root of every agency, given each agency's parent ('' = a root). A cycle (refused by
    the registry, but rows can be written by hand) ends at the agency where it closes."""
    out: dict[str, str] = {}
    for start in parents:
        seen = [start]
        node = start
        while parents.get(node) and parents[node] not in seen and parents[node] in parents:
            node = parents[node]
            seen.append(node)
        out[start] = node
    return out


def site_tree(db: Database, sites: Sequence[str]) -> Tree:
    """(site, root) of each of ``sites`` in a tree and (domain, root) of every registered
    site's domains (lower case, without ``www.``)."""
    agency_root = roots({a.id: a.parent_id for a in list_agencies(db)})
    registered = list_sites(db)
    root_of = {s.id: agency_root.get(s.agency_id, "") for s in registered if s.agency_id}
    chosen = tuple((s, root_of[s]) for s in sites if root_of.get(s))
    hosts: dict[str, str] = {}
    for site in registered:
        root = root_of.get(site.id, "")
        if not root:
            continue
        for domain in site.domains:
            host = str(domain).lower().removeprefix("*.").removeprefix("www.")
            hosts.setdefault(host, root)
    return chosen, tuple(sorted(hosts.items()))


def with_tree(db: Database, sites: Sequence[str], filters: Filters) -> Filters:
    """``filters`` with the tree of ``sites`` when some filter is on ``channel``."""
    if not any(f.dim == "channel" for f in filters.items):
        return filters
    return replace(filters, tree=site_tree(db, sites))
