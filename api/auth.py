"""Bearer-token authentication of the warehouse API (``EMC_ADMIN_TOKEN``)."""

from __future__ import annotations

import hmac

from starlette.requests import Request


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def is_admin(request: Request, admin_token: str) -> bool:
    """True when the request carries the admin token (constant-time comparison)."""
    token = bearer_token(request)
    if token is None or not admin_token:
        return False
    return hmac.compare_digest(token.encode(), admin_token.encode())
