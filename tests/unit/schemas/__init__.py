"""Unit tests of `schemas` (no sockets, no broker, no engine)."""
