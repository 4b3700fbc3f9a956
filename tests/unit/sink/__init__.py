"""Unit tests of `sink` (no sockets, no broker, no engine)."""
