"""Unit tests of `emc` (no sockets, no broker, no engine)."""
