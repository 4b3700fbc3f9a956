"""Kafka administration: topic declarations, consumer lag, the dead-letter topic. Used by the
CLI, the stream worker (topics at start) and the warehouse (lag on /metrics); imports only
``core`` and ``schemas``."""
