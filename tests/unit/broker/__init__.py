"""Unit tests of `broker` (no sockets, no broker, no engine)."""
