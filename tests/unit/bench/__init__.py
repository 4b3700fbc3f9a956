"""Unit tests of `bench` (no sockets, no broker, no engine)."""
