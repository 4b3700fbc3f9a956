"""Unit tests of `streams` (no sockets, no broker, no engine)."""
