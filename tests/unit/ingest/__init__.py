"""Unit tests of `ingest` (no sockets, no broker, no engine)."""
