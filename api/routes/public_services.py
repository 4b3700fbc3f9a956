"""Every route of the public-service and one-stop measurement (issue 4) in one list, so that
``api/app.py`` includes them with one line: catalog and account imports
(``api/routes/catalog.py``) and the DVC / one-stop / accounts / quarterly indicator endpoints
(``api/routes/dossiers.py``), and the provisional Decision 766 scorecard
(``api/routes/scorecard.py``, issue 16)."""

from __future__ import annotations

from starlette.routing import Route

from api.routes import catalog, dossiers, scorecard

ROUTES: list[Route] = [*catalog.ROUTES, *dossiers.ROUTES, *scorecard.ROUTES]
