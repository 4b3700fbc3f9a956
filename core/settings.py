"""The one settings object, read from the environment (prefix ``EMC_``) once per entry point.

No other module reads the environment. Every field is documented in the README's settings
table (a test checks it). Error messages name the variable to change.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.topics import TopicNames


class Settings(BaseSettings):
    """OpenEMC settings. Field names map to ``EMC_<NAME>`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="EMC_", frozen=True, extra="ignore")

    # --- places
    data_dir: Path = Field(
        Path("var"), description="Working data: chDB folder, Kafka log, secrets, pids."
    )
    cache_dir: Path = Field(
        Path.home() / ".cache" / "openemc",
        description="Downloads reused across clones: Kafka jars, GeoIP database.",
    )

    # --- security
    admin_token: SecretStr = Field(
        SecretStr("dev-admin-token"),
        description="Bearer token accepted by every endpoint. Change it.",
    )
    token: SecretStr | None = Field(
        None,
        description="Bearer token `emc sql` sends (e.g. an agency token, which reads its own "
        "subtree only); unset: the admin token.",
    )
    metrics_token: SecretStr | None = Field(
        None,
        description="Bearer token that /metrics and /stats of every process require (the "
        "warehouse also takes the admin token); unset: open, with a warning at start.",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Secret for daily visitor salts; generated into DATA_DIR/secret_key if unset.",
    )
    trusted_proxies: str = Field(
        "", description="Comma-separated IPs/CIDRs whose X-Forwarded-For is believed."
    )

    # --- ports and hosts
    collector_host: str = Field("127.0.0.1", description="Collector bind address.")
    collector_port: int = Field(8000, ge=1, le=65535, description="Collector HTTP port.")
    collector_workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        le=256,
        description="Collector processes `emc up` runs on COLLECTOR_PORT (SO_REUSEPORT, "
        "metrics summed over them); default: the number of cores.",
    )
    api_host: str = Field("127.0.0.1", description="Warehouse (query API) bind address.")
    api_port: int = Field(8080, ge=1, le=65535, description="Warehouse (query API) HTTP port.")
    api_max_range_days: int = Field(
        366, ge=1, le=3660, description="Longest from…to range an indicator query accepts (days)."
    )
    api_url: str | None = Field(
        None,
        description="Where the CLI and collector reach the warehouse; default http://API_HOST:API_PORT.",
    )

    # --- Kafka
    kafka_bootstrap: str | None = Field(
        None,
        description="External Kafka bootstrap servers; unset = the local broker on KAFKA_PORT.",
    )
    kafka_port: int = Field(9092, ge=1, le=65535, description="Local broker port.")
    kafka_controller_port: int = Field(
        9093, ge=1, le=65535, description="Local KRaft controller port."
    )
    kafka_heap: str = Field("512m", description="Local broker JVM heap (-Xmx).")
    java_bin: str = Field("java", description="Java 17+ executable for the local broker.")
    topic_prefix: str = Field(
        "", description="Prefix for every topic name (shared clusters, tests)."
    )
    consumer_group_prefix: str = Field(
        "emc", description="Prefix of the sink and streams consumer groups."
    )

    # --- ClickHouse
    clickhouse_url: str | None = Field(
        None,
        description="ClickHouse server URL (http://user:pass@host:8123); unset = embedded chDB.",
    )
    clickhouse_database: str = Field("emc", description="Database that holds the OpenEMC tables.")
    clickhouse_cluster: str | None = Field(
        None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="ClickHouse cluster name (remote_servers): migrations run ON CLUSTER with "
        "Replicated* tables and Distributed tables under the original names; unset = one node.",
    )

    # --- free SQL (indicators/sql_pool.py, indicators/sql.py Limits)
    sql_workers: int = Field(
        2,
        ge=1,
        le=32,
        description="Engine connections (one thread each) reserved for free SQL "
        "and named queries, apart from the dashboard and indicator endpoints.",
    )
    sql_timeout_s: float = Field(
        30.0, gt=0, description="Longest run of one admin SQL statement (a request may lower it)."
    )
    sql_agency_timeout_s: float = Field(
        10.0, gt=0, description="Longest run of one agency-token SQL statement."
    )
    sql_admin_memory_mb: int = Field(
        4096, ge=64, description="Memory one admin SQL statement may use in the engine (MiB)."
    )
    sql_agency_memory_mb: int = Field(
        1024, ge=64, description="Memory one agency-token SQL statement may use (MiB)."
    )
    sql_admin_concurrency: int = Field(
        2, ge=1, description="SQL statements the admin token may run at once (more: 429)."
    )
    sql_agency_concurrency: int = Field(
        1, ge=1, description="SQL statements one agency token may run at once (more: 429)."
    )
    sql_queue_wait_s: float = Field(
        5.0, ge=0, description="How long a statement waits for a free SQL connection (then 503)."
    )

    # --- collector limits
    max_body_bytes: int = Field(5_000_000, ge=1024, description="Largest accepted request body.")
    max_batch_lines: int = Field(
        10_000, ge=1, description="Most lines in one /v1/hits or /v1/dossiers batch."
    )
    max_field_chars: int = Field(
        2048, ge=64, le=8192, description="Longest accepted URL/referrer/UA."
    )
    mcdt_require_token: bool = Field(
        False,
        description="POST /TrackingMCDT needs a bearer token (EMC senders send none by default).",
    )
    produce_timeout_s: float = Field(
        5.0, gt=0, description="How long the collector waits for Kafka acks."
    )
    produce_interval_ms: float = Field(
        2.0,
        ge=0,
        le=1000,
        description="Shortest time between two Kafka produce requests of a collector process: "
        "hits arriving meanwhile share the next one (fewer, larger requests, less CPU in the "
        "collector and the broker); a hit after a quiet spell goes at once.",
    )
    retry_after_s: int = Field(5, ge=1, description="Retry-After sent with 503 when Kafka is down.")
    sites_refresh_s: float = Field(
        30.0, gt=0, description="How often the collector reloads the site registry."
    )

    # --- streams
    geoip_db: Path | None = Field(
        None,
        description="mmdb file (ip-location-db or MaxMind); default CACHE_DIR/geoip/…country.mmdb.",
    )
    session_timeout_s: int = Field(1800, ge=60, description="Inactivity that ends a visit.")
    session_max_s: int = Field(86_400, ge=600, description="Longest visit; a longer one is cut.")
    streams_store: str = Field(
        "memory://", description="Faust table store (memory:// or rocksdb://)."
    )
    streams_web_port: int = Field(6066, ge=1, le=65535, description="Faust worker web port.")
    streams_commit_interval_ms: int = Field(
        500,
        ge=50,
        le=60_000,
        description="How often the stream worker commits its Kafka transactions: its outputs "
        "become visible to the sink only then (freshness), and each commit costs a few broker "
        "requests per partition (see BENCHMARKS.md, freshness).",
    )

    # --- sink
    sink_batch_rows: int = Field(5000, ge=1, description="Rows per ClickHouse insert at most.")
    sink_flush_interval_ms: int = Field(
        1000, ge=10, description="Longest wait before a partial batch is inserted."
    )
    sink_idle_flush_ms: int = Field(
        100,
        ge=0,
        description="Insert a partial batch once it is this old and a poll found nothing more "
        "(0: only by size or EMC_SINK_FLUSH_INTERVAL_MS); keeps the warehouse fresh at low "
        "rates without small inserts at high ones.",
    )

    # --- scale-out (issue 15: several stream workers, a Kafka cluster, sink/API apart)
    streams_workers: int = Field(
        1,
        ge=1,
        le=64,
        description="Stream worker processes `emc up` runs in one consumer group (worker n: web "
        "port STREAMS_WEB_PORT+n-1, store folder DATA_DIR/streams-n; worker 1 keeps "
        "DATA_DIR/streams); more than the raw hits' partitions leaves some idle.",
    )
    kafka_nodes: int = Field(
        1,
        ge=1,
        le=9,
        description="Local KRaft nodes `emc up`/`emc kafka` start (broker+controller each; node "
        "n on KAFKA_PORT+2(n-1) and KAFKA_CONTROLLER_PORT+2(n-1)); 3 tolerates losing one.",
    )
    topic_replication_factor: int | None = Field(
        None,
        ge=1,
        le=9,
        description="Replication factor of the topics OpenEMC creates; unset: min(3, brokers).",
    )
    topic_min_insync_replicas: int | None = Field(
        None,
        ge=1,
        le=9,
        description="min.insync.replicas of the topics OpenEMC creates (with acks=all a write "
        "needs that many copies); unset: 2 when the replication factor is 3 or more, else 1.",
    )

    sink_port: int = Field(
        8090,
        ge=1,
        le=65535,
        description="HTTP port (on API_HOST) of an `emc sink` process: /healthz, /readyz, "
        "/metrics (`emc warehouse` serves them on API_PORT).",
    )

    # --- operations
    lag_poll_s: float = Field(
        15.0, gt=0, description="How often the warehouse measures consumer lag for /metrics."
    )

    # --- e-mail: scheduled reports and silence alerts (issue 18 items 5, 6; core/mail.py)
    smtp_url: SecretStr | None = Field(
        None,
        description="SMTP server: smtp://user:pass@host:587 (plain, STARTTLS per SMTP_STARTTLS) "
        "or smtps://user:pass@host:465 (TLS from the start); user and password are optional. "
        "Unset: e-mail is off (schedules are kept, sending answers 503 naming this setting).",
    )
    smtp_from: str = Field(
        "OpenEMC <openemc@localhost>", description="From: address of every e-mail sent."
    )
    smtp_starttls: bool = Field(
        True,
        description="With smtp://, upgrade with STARTTLS when the server offers it (required "
        "before authenticating: a password is never sent in clear unless this is false).",
    )
    smtp_timeout_s: float = Field(
        30.0, gt=0, le=600, description="Longest wait for the SMTP server, per connection step."
    )
    mail_poll_s: float = Field(
        60.0,
        ge=0,
        description="How often the warehouse looks for due reports, silent sites and e-mails "
        "to retry; 0 turns the mail loop off in this process (run it in one process of a "
        "scaled-out API, or in several: a report is claimed by one).",
    )
    mail_retry_base_s: float = Field(
        60.0,
        gt=0,
        description="Wait before the first retry of a failed e-mail; doubled after each "
        "further failure (capped at one day).",
    )
    mail_max_attempts: int = Field(
        6, ge=1, le=100, description="Attempts before an e-mail is given up (status failed)."
    )
    letter_issuer: str = Field(
        "HỆ THỐNG GIÁM SÁT, ĐO LƯỜNG (OpenEMC)",
        description="Issuing body printed at the top of the connection letter (đôn đốc kết nối).",
    )
    letter_place: str = Field(
        "Hà Nội", description="Place before the date of the connection letter."
    )

    # --- demo
    demo_rate: float = Field(
        20.0, gt=0, description="Demo traffic: pageviews per second (emc demo / make run)."
    )
    demo_history_days: int = Field(
        90,
        ge=0,
        le=366,
        description="Demo: days of history posted once at start (0: none; state in "
        "EMC_DATA_DIR/demo-history.json).",
    )
    demo_history_visits_per_day: float = Field(
        400.0, gt=0, description="Demo: visits per day of that history (all demo sites)."
    )

    log_level: str = Field("INFO", description="Python log level of every process.")

    @field_validator("metrics_token", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """``EMC_METRICS_TOKEN=`` (e.g. an empty compose variable) means unset, never an
        empty token."""
        if value == "" or (isinstance(value, SecretStr) and not value.get_secret_value()):
            return None
        return value

    @field_validator("smtp_url", mode="before")
    @classmethod
    def _empty_smtp_is_unset(cls, value: object) -> object:
        """``EMC_SMTP_URL=`` means e-mail off."""
        if value == "" or (isinstance(value, SecretStr) and not value.get_secret_value()):
            return None
        return value

    @field_validator("smtp_url")
    @classmethod
    def _valid_smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("smtp://", "smtps://")):
            raise ValueError("EMC_SMTP_URL: must start with smtp:// or smtps://")
        return value

    @field_validator("clickhouse_cluster", mode="before")
    @classmethod
    def _empty_cluster_is_unset(cls, value: object) -> object:
        """``EMC_CLICKHOUSE_CLUSTER=`` (an empty compose variable) means one node."""
        return None if value == "" else value

    @model_validator(mode="after")
    def _cluster_needs_server(self) -> Settings:
        """A cluster is a ClickHouse server's remote_servers; embedded chDB is one node."""
        if self.clickhouse_cluster is not None and self.clickhouse_url is None:
            raise ValueError(
                "EMC_CLICKHOUSE_CLUSTER needs EMC_CLICKHOUSE_URL (a server of that cluster); "
                "embedded chDB is a single node"
            )
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError as exc:
                raise ValueError(f"EMC_TRUSTED_PROXIES: {part!r} is not an IP or CIDR") from exc
        return value

    @cached_property
    def trusted_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(
            ipaddress.ip_network(p.strip(), strict=False)
            for p in self.trusted_proxies.split(",")
            if p.strip()
        )

    @property
    def bootstrap_servers(self) -> str:
        """The external brokers, else every local node (``KAFKA_NODES``, ports 2 apart)."""
        if self.kafka_bootstrap:
            return self.kafka_bootstrap
        return ",".join(f"127.0.0.1:{self.kafka_port + 2 * i}" for i in range(self.kafka_nodes))

    @property
    def topics(self) -> TopicNames:
        return TopicNames(self.topic_prefix)

    @property
    def uses_local_kafka(self) -> bool:
        return self.kafka_bootstrap is None

    @property
    def warehouse_url(self) -> str:
        return (self.api_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")

    @property
    def collector_url(self) -> str:
        """Where the CLI reaches the collector of this machine (a wildcard bind address means
        loopback)."""
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(
            self.collector_host, self.collector_host
        )
        return f"http://{f'[{host}]' if ':' in host else host}:{self.collector_port}"

    @property
    def chdb_path(self) -> Path:
        return (self.data_dir / "chdb").resolve()

    @property
    def kafka_dir(self) -> Path:
        return (self.data_dir / "kafka").resolve()

    def streams_worker_web_port(self, worker: int) -> int:
        """Web port of stream worker ``worker`` (1-based) of ``STREAMS_WORKERS``."""
        return self.streams_web_port + worker - 1

    def streams_worker_dir(self, worker: int) -> Path:
        """Faust's data folder (table store) of stream worker ``worker`` (1-based): two
        workers never share a store (a RocksDB store is locked by its process)."""
        return self.data_dir / ("streams" if worker == 1 else f"streams-{worker}")

    @property
    def kafka_libs(self) -> Path:
        return (self.cache_dir / "kafka" / "libs").resolve()

    @property
    def geoip_path(self) -> Path:
        return self.geoip_db or (self.cache_dir / "geoip" / "geo-whois-asn-country.mmdb")

    def visitor_secret(self) -> bytes:
        """The master secret for visitor salts: the setting, else a file generated once."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.data_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip().encode()


def load_settings() -> Settings:
    """Build the settings from the environment; raises a ValueError naming the variable."""
    return Settings()


def settings_markdown() -> str:
    """The README's settings table, generated from the fields (``python -m core.settings``)."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for name, info in Settings.model_fields.items():
        default = info.default
        if info.default_factory is not None:
            shown = "number of cores"
        elif isinstance(default, SecretStr):
            shown = "`dev-admin-token`" if default.get_secret_value() else ""
        elif default is None:
            shown = "unset"
        elif isinstance(default, Path) and str(default).startswith(str(Path.home())):
            shown = f"`~/{default.relative_to(Path.home())}`"
        else:
            shown = f"`{default}`"
        lines.append(f"| `EMC_{name.upper()}` | {shown} | {info.description or ''} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(settings_markdown())
