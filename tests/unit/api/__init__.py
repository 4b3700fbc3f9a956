"""Unit tests of `api` (no sockets, no broker, no engine)."""
