"""The warehouse's HTTP routes, one module per area. Each module lists its routes with the access
each needs (``api.guard``); handlers parse the request, call ``indicators`` and answer."""
