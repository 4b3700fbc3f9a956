"""One demo visit and one demo dossier, drawn from a seeded RNG: the building blocks of
``emc.demo.DemoTraffic`` (which decides *when* visits and dossiers start).

A visit has a visitor (a returning one three times in ten: the same IP and browser, so unique
visitors stay below visits), a source (a running utm campaign of its site, else a weighted
referrer: search, social, other government sites, sister sites, or none), a landing page and
further pages with pauses, and per page now and then a custom event with a property, a
download or outbound click; on the public-service portal about half the visits follow a
procedure: its page, the form (``dvc/start/CODE``) and the confirmation
(``dvc/submit/CODE/DOSSIER``, sometimes a rating), the submission becoming a dossier
(``emc.demo_dossiers``). Event ids and dossier codes carry the seed's tag, so two runs with
different seeds never collide and one seed always gives the same lines. Pure: no clock, no I/O.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from emc.demo_data import (
    CAMPAIGNS,
    CUSTOM_EVENTS,
    DEMO_SITES,
    DOWNLOADS,
    DVC_SITE,
    IP_PREFIXES,
    OUTBOUND,
    PAGES,
    PROCEDURES,
    SITE_WEIGHTS,
    SOURCES,
    UNKNOWN_PROCEDURE,
    USER_AGENTS,
    Procedure,
    Source,
)
from emc.demo_dossiers import dossier_lines

DAY_MS = 86_400_000
_ONLINE_PROCEDURES = tuple(p for p in PROCEDURES if p.level >= 3)
_REGULARS_PER_SITE = 300
_VN = timedelta(hours=7)


def _local_date(ms: int) -> str:
    """``yymmdd`` of the Vietnam-time date of ``ms``."""
    return f"{datetime.fromtimestamp(ms / 1000, tz=UTC) + _VN:%y%m%d}"


class VisitSimulator:
    """Draws visits and dossiers. ``_anchor_ms`` (set by ``DemoTraffic``: the history's end,
    or the first live tick) is "now" for the campaigns' weeks."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._tag = f"{seed & 0xFFFFFF:06x}"
        self._count = 0
        self._dossier_count = 0
        self._anchor_ms: int | None = None
        self._hosts = {s.id: s.domains[0] for s in DEMO_SITES}
        self._regulars: dict[str, list[tuple[str, str]]] = {s: [] for s in SITE_WEIGHTS}

    # --- small draws
    def _id(self) -> str:
        self._count += 1
        return f"demo-{self._tag}-{self._count:x}"

    def _pick(self, pairs: tuple[tuple[Any, int], ...]) -> Any:
        return self._rng.choices([p for p, _ in pairs], [w for _, w in pairs])[0]

    def _visitor(self, site: str) -> tuple[str, str]:
        """(ip, ua): a returning visitor three times in ten, else a new one."""
        regulars = self._regulars[site]
        if regulars and self._rng.random() < 0.3:
            return self._rng.choice(regulars)
        prefix = self._pick(IP_PREFIXES)
        ip = f"{prefix}.{self._rng.randint(0, 255)}.{self._rng.randint(1, 254)}"
        visitor = (ip, self._pick(USER_AGENTS))
        if len(regulars) < _REGULARS_PER_SITE:
            regulars.append(visitor)
        else:
            regulars[self._rng.randrange(_REGULARS_PER_SITE)] = visitor
        return visitor

    def _source(self, site: str, start_ms: int) -> Source:
        days_ago = ((self._anchor_ms or start_ms) - start_ms) // DAY_MS
        for campaign in CAMPAIGNS:
            running = campaign.ends_days_ago <= days_ago < campaign.ends_days_ago + campaign.days
            if site in campaign.sites and running and self._rng.random() < campaign.share:
                return campaign.source
        source: Source = self._pick(SOURCES)
        if self._hosts[site] in source.referrer:  # a site is not its own referrer
            return Source()
        return source

    def _procedure(self, online_only: bool = False) -> Procedure:
        pool = _ONLINE_PROCEDURES if online_only else PROCEDURES
        if not online_only and self._rng.random() < 0.01:
            return UNKNOWN_PROCEDURE
        return self._rng.choices(pool, [p.weight for p in pool])[0]

    # --- one visit
    def visit(self, site: str, start_ms: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Every hit of one visit starting at ``start_ms``, and the dossier events of the online
        submission it ends with, if any."""
        ip, ua = self._visitor(site)
        source = self._source(site, start_ms)
        host = self._hosts[site]
        pages = list(PAGES[site])
        rng = self._rng
        count = 1 if rng.random() < 0.4 else min(12, 2 + int(rng.expovariate(1 / 2.5)))
        path = [pages[0] if rng.random() < 0.45 else rng.choice(pages)]
        path += [rng.choice(pages) for _ in range(count - 1)]
        procedure: Procedure | None = None
        if site == DVC_SITE and rng.random() < 0.45:
            procedure = self._procedure(online_only=True)
            path = [f"/thu-tuc/{procedure.code}"]
            if rng.random() < 0.55:
                path.append(f"/nop-ho-so/{procedure.code}")
                if rng.random() < 0.7:
                    path.append(f"/nop-ho-so/{procedure.code}/hoan-thanh")
        hits: list[dict[str, Any]] = []
        dossiers: list[dict[str, Any]] = []
        referrer = source.referrer
        ts = start_ms
        for index, page in enumerate(path):
            url = f"https://{host}{page}"
            if index == 0 and source.utm:
                url += "?" + urlencode(source.utm)
            hits.append(self._hit(site, url, referrer, ts, ip, ua))
            later = ts + int(rng.uniform(3, 40) * 1000)
            if procedure is not None and page.startswith("/nop-ho-so/"):
                if page.endswith("/hoan-thanh"):
                    code = self._dossier_code(ts)
                    name = f"dvc/submit/{procedure.code}/{code}"
                    hits.append(self._hit(site, url, "", later, ip, ua, name))
                    dossiers = self.dossier(ts, DAY_MS, procedure, code=code, via_dvc=True)
                    if rng.random() < 0.35:
                        hits.append(self._rating(site, url, later + 5000, ip, ua, procedure))
                else:
                    name = f"dvc/start/{procedure.code}"
                    hits.append(self._hit(site, url, "", later, ip, ua, name))
            else:
                hits.extend(self._page_events(site, url, page, later, ip, ua))
            referrer = url
            ts += int(rng.uniform(8, 150) * 1000)
        return hits, dossiers

    def _hit(
        self,
        site: str,
        url: str,
        referrer: str,
        ts: int,
        ip: str,
        ua: str,
        event: str = "",
        props: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        hit: dict[str, Any] = {
            "site": site,
            "url": url,
            "referrer": referrer,
            "type": "event" if event else "pageview",
            "ts": ts,
            "ip": ip,
            "ua": ua,
            "event_id": self._id(),
        }
        if event:
            hit["name"] = event
        if props:
            hit["props"] = props
        return hit

    def _rating(
        self, site: str, url: str, ts: int, ip: str, ua: str, procedure: Procedure
    ) -> dict[str, Any]:
        score = self._rng.choices((1, 2, 3, 4, 5), (3, 4, 10, 35, 48))[0]
        props = {"score": score, "procedure": procedure.code}
        return self._hit(site, url, "", ts, ip, ua, "rating", props)

    def _page_events(
        self, site: str, url: str, page: str, ts: int, ip: str, ua: str
    ) -> list[dict[str, Any]]:
        rng = self._rng
        out: list[dict[str, Any]] = []
        if page in ("/tim-kiem",) or rng.random() < 0.05:
            name, prop, values = (
                CUSTOM_EVENTS[0] if page == "/tim-kiem" else rng.choice(CUSTOM_EVENTS)
            )
            out.append(self._hit(site, url, "", ts, ip, ua, name, {prop: rng.choice(values)}))
        if rng.random() < (0.12 if "van-ban" in page else 0.03):
            out.append(
                self._hit(site, url, "", ts + 700, ip, ua, "download:" + rng.choice(DOWNLOADS))
            )
        if rng.random() < 0.03:
            out.append(
                self._hit(site, url, "", ts + 900, ip, ua, "outbound:" + rng.choice(OUTBOUND))
            )
        if site == DVC_SITE and rng.random() < 0.02:
            procedure = self._procedure(online_only=True)
            out.append(self._rating(site, url, ts + 1100, ip, ua, procedure))
        return out

    # --- dossiers
    def _dossier_code(self, ts: int) -> str:
        """A one-stop style code, unique per seed (the seed's tag keeps runs apart)."""
        self._dossier_count += 1
        return f"000.00.01.H26-{_local_date(ts)}-{self._tag}{self._dossier_count:05d}"

    def dossier(
        self,
        start_ms: int,
        day_ms: int,
        procedure: Procedure | None = None,
        *,
        code: str | None = None,
        via_dvc: bool = False,
    ) -> list[dict[str, Any]]:
        """Every event of one dossier (``emc.demo_dossiers``), starting at ``start_ms``."""
        return dossier_lines(
            self._rng,
            self._id,
            code=code or self._dossier_code(start_ms),
            procedure=procedure or self._procedure(),
            start_ms=start_ms,
            day_ms=day_ms,
            via_dvc=via_dvc,
        )
