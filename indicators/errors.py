"""Domain errors of the indicator computations; ``api`` maps them to status codes.

``ParamError``: an input the computation cannot use (HTTP 400); ``NotFound``: a site or agency
that is not registered, or not visible to the caller — the same error either way, so a token
cannot probe which ids exist elsewhere (HTTP 404). The message names the parameter first.
"""

from __future__ import annotations


class ParamError(ValueError):
    """A value the computation cannot use; the message names the parameter first."""

    status = 400


class NotFound(ParamError):
    """An unknown (or invisible) site or agency."""

    status = 404
