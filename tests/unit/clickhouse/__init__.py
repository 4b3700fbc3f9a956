"""Unit tests of `clickhouse` (no sockets, no broker, no engine)."""
