"""Pure functions over the agency tree: subtrees, cycles, load order and a printable tree.

Why apart from the storage module: access control and roll-ups both depend on "which agencies
are under this one", so that rule is written once, without a database, and unit-tested alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from schemas.agencies import Agency, AgencyKind


def children_of(agencies: Iterable[Agency]) -> dict[str, list[str]]:
    """Child ids per parent id (``""`` holds the top level), each list sorted."""
    out: dict[str, list[str]] = {}
    for agency in agencies:
        out.setdefault(agency.parent_id, []).append(agency.id)
    for ids in out.values():
        ids.sort()
    return out


def subtree(agencies: Iterable[Agency], root: str) -> set[str]:
    """``root`` and every agency below it (empty when ``root`` is unknown). A cycle written by
    hand in the table cannot loop forever: each id is visited once."""
    by_id = {a.id: a for a in agencies}
    if root not in by_id:
        return set()
    kids = children_of(by_id.values())
    seen = {root}
    stack = [root]
    while stack:
        for child in kids.get(stack.pop(), []):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


def would_cycle(agencies: Iterable[Agency], agency_id: str, new_parent: str) -> bool:
    """True when making ``new_parent`` the parent of ``agency_id`` would close a loop."""
    if not new_parent:
        return False
    return new_parent in subtree(agencies, agency_id) or new_parent == agency_id


def load_order(entries: Sequence[Agency], known: Iterable[str]) -> list[Agency]:
    """``entries`` ordered parents first; ``ValueError`` naming the first entry whose parent is
    neither known nor in the file (or that sits in a loop)."""
    placed = set(known)
    pending = list(entries)
    ordered: list[Agency] = []
    while pending:
        rest = [a for a in pending if a.parent_id and a.parent_id not in placed]
        ready = [a for a in pending if a not in rest]
        if not ready:
            first = rest[0]
            raise ValueError(
                f"agency {first.id!r}: parent {first.parent_id!r} is not registered and not in "
                "the file (or the file's parents form a loop)"
            )
        ordered.extend(ready)
        placed.update(a.id for a in ready)
        pending = rest
    return ordered


def tree_lines(
    agencies: Iterable[Agency], site_counts: Mapping[str, int] | None = None
) -> list[str]:
    """The tree as indented lines ``id  name [kind, code] (n sites)`` for the CLI."""
    by_id = {a.id: a for a in agencies}
    kids = children_of(by_id.values())
    # Orphans (parent deleted by hand) are shown at the top rather than hidden.
    order = {kind: n for n, kind in enumerate(AgencyKind)}  # ministries first, then provinces
    tops = [
        a.id
        for a in sorted(by_id.values(), key=lambda a: (order[a.kind], a.id))
        if not a.parent_id or a.parent_id not in by_id
    ]
    lines: list[str] = []
    seen: set[str] = set()

    def walk(agency_id: str, depth: int) -> None:
        if agency_id in seen:
            return
        seen.add(agency_id)
        agency = by_id[agency_id]
        extra = f"{agency.kind.value}{', ' + agency.code if agency.code else ''}"
        if agency.merged_into:
            extra += f", merged into {agency.merged_into} on {agency.ended_on}"
        count = (site_counts or {}).get(agency_id, 0)
        suffix = f" ({count} site{'s' if count != 1 else ''})" if count else ""
        lines.append(f"{'  ' * depth}{agency.id}  {agency.name} [{extra}]{suffix}")
        for child in kids.get(agency_id, []):
            walk(child, depth + 1)

    for top in tops:
        walk(top, 0)
    return lines


def sites_tree_lines(
    agencies: Iterable[Agency], sites: Iterable[tuple[str, str, str, str]]
) -> list[str]:
    """The agency tree with each agency's sites beneath it (``sites``: id, type, agency id,
    parent site); a site managed by another site is indented under it, and sites not yet
    placed in the tree are listed last under ``(no agency)``."""
    by_id = {a.id: a for a in agencies}
    site_rows = list(sites)
    by_agency: dict[str, list[tuple[str, str, str, str]]] = {}
    for row in site_rows:
        key = row[2] if row[2] in by_id else ""
        by_agency.setdefault(key, []).append(row)
    lines: list[str] = []

    def site_lines(rows: list[tuple[str, str, str, str]], depth: int) -> None:
        ids = {r[0] for r in rows}
        children: dict[str, list[tuple[str, str, str, str]]] = {}
        for r in rows:
            children.setdefault(r[3] if r[3] in ids else "", []).append(r)

        def walk(parent: str, level: int, seen: set[str]) -> None:
            for r in sorted(children.get(parent, [])):
                if r[0] in seen:
                    continue
                seen.add(r[0])
                lines.append(f"{'  ' * level}- {r[0]} ({r[1]})")
                walk(r[0], level + 1, seen)

        walk("", depth, set())

    for line in tree_lines(by_id.values()):
        lines.append(line)
        agency_id = line.strip().split("  ", 1)[0]
        depth = (len(line) - len(line.lstrip(" "))) // 2 + 1
        site_lines(by_agency.get(agency_id, []), depth)
    if by_agency.get(""):
        lines.append("(no agency)")
        site_lines(by_agency[""], 1)
    return lines
