"""Indicator computations without HTTP: portal and dossier numbers, the quarterly report,
rankings, connections, change against a comparison period, periods, tables, access (who sees
which sites) and free-SQL scoping. Raises domain errors (``indicators.errors``) that ``api``
maps to status codes; imports ``core``, ``schemas`` and ``clickhouse``, never an HTTP framework."""
