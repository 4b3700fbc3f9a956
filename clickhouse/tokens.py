"""Agency-scoped API tokens (table ``api_tokens``, migrations 0042 and 0085), stored hashed.

A token is ``emc_<id>_<secret>`` with 32 random bytes of secret: the id lets an operator list
and revoke tokens without ever seeing them, and the table keeps only SHA-256 of the whole token.
A fast hash is right here because the secret is random and long (nothing to brute-force, unlike
a password); lookups compare hashes, so a stolen table gives no usable token.

Each token has a role (issue 18): ``viewer`` reads its agency's subtree, ``editor`` also manages
it (``api/guard.py`` ``Access.EDITOR``). Tokens made before the role existed are viewers.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from clickhouse import registry
from clickhouse.client import Database

VIEWER = "viewer"
EDITOR = "editor"
ROLES = (VIEWER, EDITOR)

_COLUMNS = ("id", "agency_id", "name", "token_hash", "created_at", "revoked", "updated_at", "role")
_SELECT = "SELECT id, agency_id, name, token_hash, created_at, revoked, role FROM api_tokens FINAL"


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What is known about a token without the token itself."""

    id: str
    agency_id: str
    name: str
    created_at: datetime
    revoked: bool
    role: str = VIEWER

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "agency_id": self.agency_id,
            "name": self.name,
            "role": self.role,
            "created_at": self.created_at.isoformat(),
            "revoked": self.revoked,
        }


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    db: Database, agency_id: str, name: str, role: str = VIEWER
) -> tuple[TokenInfo, str]:
    """A new token for ``agency_id`` with ``role`` (``ValueError`` for another role): its info
    and the token, which is shown once and never stored."""
    if role not in ROLES:
        raise ValueError(f"role: {role!r} is not one of {', '.join(ROLES)}")
    token_id = secrets.token_hex(6)
    token = f"emc_{token_id}_{secrets.token_urlsafe(32)}"
    now = datetime.now(UTC)
    db.insert(
        "api_tokens",
        [[token_id, agency_id, name, hash_token(token), now, 0, registry._next_version(), role]],
        _COLUMNS,
    )
    return TokenInfo(token_id, agency_id, name, now, False, role), token


def _rows(db: Database, where: str, parameters: dict[str, str]) -> list[tuple[TokenInfo, str]]:
    rows = db.query(f"{_SELECT} {where} ORDER BY created_at", parameters=parameters).result_rows
    return [
        (TokenInfo(str(r[0]), str(r[1]), str(r[2]), r[4], bool(r[5]), str(r[6]) or VIEWER),
         str(r[3]))
        for r in rows
    ]  # fmt: skip


def list_tokens(db: Database) -> list[TokenInfo]:
    return [info for info, _ in _rows(db, "", {})]


def get_token(db: Database, token_id: str) -> TokenInfo | None:
    """The token with id ``token_id`` (revoked or not), else None."""
    found = _rows(db, "WHERE id = {id:String}", {"id": token_id})
    return found[0][0] if found else None


def revoke_token(db: Database, token_id: str) -> bool:
    """Revoke by id; False when no such token exists."""
    found = _rows(db, "WHERE id = {id:String}", {"id": token_id})
    if not found:
        return False
    info, digest = found[0]
    db.insert(
        "api_tokens",
        [
            [
                info.id,
                info.agency_id,
                info.name,
                digest,
                info.created_at,
                1,
                registry._next_version(),
                info.role,
            ]
        ],
        _COLUMNS,
    )
    return True


def role_of_token(db: Database, token: str) -> tuple[str, str] | None:
    """``(agency id, role)`` of a valid (not revoked) token, else None."""
    found = _rows(db, "WHERE token_hash = {h:String} AND revoked = 0", {"h": hash_token(token)})
    return (found[0][0].agency_id, found[0][0].role) if found else None


def agency_of_token(db: Database, token: str) -> str | None:
    """The agency a valid (not revoked) token is scoped to, else None."""
    found = role_of_token(db, token)
    return found[0] if found else None
