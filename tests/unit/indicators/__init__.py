"""Unit tests of `indicators` (no sockets, no broker, no engine)."""
