"""Every route of the public-service and one-stop measurement (issue 4) in one list, so that
``api/app.py`` includes them with one line: catalog and account imports
(``api/routes/catalog.py``) and the DVC / one-stop / accounts / quarterly indicator endpoints
(``api/routes/dossiers.py``)."""

from __future__ import annotations

from starlette.routing import Route

from api.routes import catalog as catalog_api
from api.routes import dossiers as dossier_api
from clickhouse.client import Database
from core.settings import Settings


def routes(settings: Settings, db: Database) -> list[Route]:
    return [*catalog_api.routes(settings, db), *dossier_api.routes(settings, db)]
