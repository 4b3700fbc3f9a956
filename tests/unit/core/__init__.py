"""Unit tests of `core` (no sockets, no broker, no engine)."""
