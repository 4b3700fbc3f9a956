"""Every route of the public-service and one-stop measurement (issue 4) in one list, so that
``api/app.py`` includes them with one line: catalog and account imports
(``api/routes/catalog.py``) and the DVC / one-stop / accounts indicator endpoints
(``api/routes/dossiers.py``); the quarterly report and the other official forms
(``api/routes/reports.py``); the provisional Decision 766 scorecard (``api/routes/scorecard.py``,
issue 16)."""

from __future__ import annotations

from starlette.routing import Route

from api.routes import catalog, dossiers, reports, scorecard

ROUTES: list[Route] = [*catalog.ROUTES, *dossiers.ROUTES, *reports.ROUTES, *scorecard.ROUTES]
