"""Kafka → ClickHouse: the sink that runs inside the warehouse process, its crash recovery and
the decoding of messages into rows. The only package that writes the raw tables; imports
``core``, ``schemas`` and ``clickhouse``."""
