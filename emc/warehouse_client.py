"""How the CLI reaches the warehouse: its HTTP API when it runs, else the database directly.

In embedded mode one process owns the chDB folder, so while the stack runs the CLI must go
through the warehouse's API; when nothing runs, the CLI opens the database itself.
"""

from __future__ import annotations

from typing import Any

import httpx

from core.errors import UserError
from core.settings import Settings
from schemas.sites import Site


class WarehouseClient:
    """Site registry and read-only SQL, over HTTP with a direct-database fallback."""

    def __init__(
        self, settings: Settings, timeout_s: float = 60.0, token: str | None = None
    ) -> None:
        """``token`` (default: the admin token) is the bearer token sent; an agency token's
        SQL reads its subtree's rows only, over HTTP and on the direct path alike."""
        self._settings = settings
        self._token = token or settings.admin_token.get_secret_value()
        self._http = httpx.Client(
            base_url=settings.warehouse_url,
            headers={"Authorization": f"Bearer {self._token}"},
            timeout=timeout_s,
        )

    def _request(self, method: str, path: str, **kwargs: Any) -> Any | None:
        """The decoded JSON answer, or None when the warehouse is not running."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.ConnectError:
            return None
        if response.status_code >= 400:
            try:
                message = response.json().get("error", response.text)
            except ValueError:
                message = response.text
            raise UserError(f"warehouse answered {response.status_code}: {message}")
        return response.json()

    def put_site(self, site: Site) -> dict[str, Any]:
        body = site.model_dump(mode="json")
        answer = self._request("PUT", f"/api/v1/sites/{site.id}", json=body)
        if answer is not None:
            return dict(answer)
        from clickhouse.registry import upsert_site

        upsert_site(self._direct(), site)
        return body

    def list_sites(self) -> list[dict[str, Any]]:
        answer = self._request("GET", "/api/v1/sites")
        if answer is not None:
            return list(answer)
        from clickhouse.registry import list_sites

        return [s.model_dump(mode="json") for s in list_sites(self._direct())]

    def sql(self, query: str, max_rows: int = 1000) -> dict[str, Any]:
        answer = self._request("POST", "/api/v1/sql", json={"sql": query, "max_rows": max_rows})
        if answer is not None:
            return dict(answer)
        from indicators.scoped_sql import run_sql
        from indicators.sql import limits_for, result_json

        db = self._direct()
        agency = self._agency(db)
        limits = limits_for(self._settings, agency is None).lowered(max_rows, None)
        return result_json(run_sql(db, agency, query, limits))

    def named_query(self, name: str, params: dict[str, str]) -> dict[str, Any]:
        """Run ``clickhouse/queries/NAME.sql`` with command-line parameter strings."""
        answer = self._request("POST", f"/api/v1/queries/{name}", json={"params": params})
        if answer is not None:
            return dict(answer)
        from clickhouse.named import BadParameters, UnknownQuery
        from indicators.queries import run_named

        db = self._direct()
        try:
            return run_named(db, name, dict(params), self._agency(db))
        except (UnknownQuery, BadParameters) as exc:
            raise UserError(str(exc)) from exc

    def _agency(self, db: Any) -> str | None:
        """The agency of the token on the direct path (None: the admin token)."""
        from indicators.access import authenticate

        principal = authenticate(db, self._token, self._settings.admin_token.get_secret_value())
        if principal is None:
            raise UserError("--token: not a valid admin or agency token (wrong or revoked)")
        return principal.agency_id

    def _direct(self) -> Any:
        from clickhouse.client import open_database
        from clickhouse.migrate import migrate

        try:
            db = open_database(self._settings)
            migrate(
                db.client,
                self._settings.clickhouse_database,
                cluster=self._settings.clickhouse_cluster,
            )
        except Exception as exc:
            raise UserError(
                f"warehouse not reachable at {self._settings.warehouse_url} and the database "
                f"could not be opened directly ({exc}); start it with `emc up` or `emc warehouse`"
            ) from exc
        return db
