"""The ``emc`` command: run the stack or one of its processes, manage sites, query, export schemas.

Subcommands import what they need lazily, so ``emc --help`` and ``emc schema`` stay fast.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from core.errors import UserError
from core.settings import Settings, load_settings
from emc import registry_cli

Handler = Callable[[argparse.Namespace, Settings], int]


def _cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    from emc.supervisor import run_stack

    return run_stack(settings, demo=not args.no_demo, restart=not args.no_restart)


def _cmd_kafka(args: argparse.Namespace, settings: Settings) -> int:
    from emc.supervisor import run_local_kafka_foreground

    if args.nodes is not None:
        settings = settings.model_copy(update={"kafka_nodes": args.nodes})
    return run_local_kafka_foreground(settings)


def _cmd_topics(args: argparse.Namespace, settings: Settings) -> int:
    from broker.topics import ensure_project_topics, wait_for_kafka

    async def _ensure() -> list[str]:
        await wait_for_kafka(settings.bootstrap_servers, 60)
        return await ensure_project_topics(settings)

    created = asyncio.run(_ensure())
    for spec in settings.topics.specs():
        state = "created" if spec.name in created else "exists"
        print(f"{spec.name:<28} partitions={spec.partitions:<3} {state:<8} {spec.purpose}")
    return 0


def _cmd_collector(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.server import run

    run(settings, reuse_port=args.reuse_port, metrics_dir=args.metrics_dir)
    return 0


def _cmd_streams(args: argparse.Namespace, settings: Settings) -> int:
    from streams.worker import run_worker

    run_worker(settings, worker=args.worker)
    return 0


def _cmd_warehouse(args: argparse.Namespace, settings: Settings) -> int:
    from api.warehouse import Role, run

    run(settings, Role(args.command))  # warehouse, sink or api
    return 0


def _cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from clickhouse.client import connect
    from clickhouse.migrate import migrate

    cluster = args.cluster or settings.clickhouse_cluster
    if cluster is not None:
        return _migrate_cluster(args, settings, cluster)
    client = connect(settings.clickhouse_url, settings.chdb_path, settings.clickhouse_database)
    done = migrate(client, settings.clickhouse_database, dry_run=args.dry_run)
    verb = "would apply" if args.dry_run else "applied"
    for migration in done:
        print(f"{verb} {migration.version:04d} {migration.name}")
    if not done:
        print("database is up to date")
    return 0


def _migrate_cluster(args: argparse.Namespace, settings: Settings, cluster: str) -> int:
    """``emc migrate --cluster NAME``: cluster DDL (clickhouse/cluster_ddl.py). ``--dry-run``
    prints the statements; without a server URL it prints every migration (chDB is one node
    and holds no cluster state), with one only the pending ones."""
    from clickhouse.client import check_identifier, connect
    from clickhouse.cluster_ddl import create_database
    from clickhouse.migrate import discover, migrate, statements_for

    check_identifier(cluster, "cluster")
    database = settings.clickhouse_database
    if settings.clickhouse_url is None and not args.dry_run:
        print(
            "emc: migrate --cluster needs a ClickHouse server (EMC_CLICKHOUSE_URL); "
            "embedded chDB is a single node. Use --dry-run to print the DDL.",
            file=sys.stderr,
        )
        return 2
    if settings.clickhouse_url is None:
        pending = discover()
    else:
        client = connect(settings.clickhouse_url, settings.chdb_path, database)
        pending = migrate(client, database, dry_run=args.dry_run, cluster=cluster)
    if args.dry_run:
        print(f"-- cluster {cluster}, database {database}: {len(pending)} migration(s)")
        if pending:
            print(create_database(database, cluster) + ";\n")
        for migration in pending:
            print(f"-- ==== {migration.version:04d} {migration.name}")
            for statement in statements_for(migration, database, cluster):
                print(statement + ";\n")
        return 0
    for migration in pending:
        print(f"applied {migration.version:04d} {migration.name} on cluster {cluster}")
    if not pending:
        print("database is up to date")
    return 0


def _cmd_sites(args: argparse.Namespace, settings: Settings) -> int:
    from emc.warehouse_client import WarehouseClient

    if args.sites_cmd not in ("add", "list"):
        from emc.registry_cli import run_sites

        return run_sites(args, settings)
    client = WarehouseClient(settings)
    if args.sites_cmd == "add":
        from schemas.sites import Site

        site = Site(
            id=args.id,
            name=args.name,
            type=args.type,
            domains=tuple(args.domain),
            timezone=args.timezone,
            ingest_token=args.token or "",
            agency_id=args.agency or "",
            parent_site=args.parent_site or "",
            matomo_id=args.matomo_id or 0,
        )
        stored = client.put_site(site)
        print(f"site {stored['id']} saved ({stored['type']}, {', '.join(stored['domains'])})")
        _report_collector(settings, stored["id"])
        return 0
    sites = client.list_sites()
    if args.format == "json":
        print(json.dumps(sites, ensure_ascii=False, indent=2))
        return 0
    if args.format == "tree":
        return registry_cli.print_sites_tree(settings, sites)
    rows = [
        [s["id"], s["type"], s.get("agency_id", ""), ",".join(s["domains"]), s["name"]]
        for s in sites
    ]
    print(format_table(["id", "type", "agency", "domains", "name"], rows))
    return 0


def _report_collector(settings: Settings, site_id: str) -> None:
    """Return once the running collector accepts ``site_id`` (bounded); say so, or why not.
    A collector that is not running gets no word: it loads the registry when it starts."""
    from emc.collector_client import Readiness, wait_site_ready

    answer = wait_site_ready(settings, site_id)
    if answer.state is Readiness.READY:
        print(f"the collector at {answer.url} accepts hits for {site_id}")
    elif answer.state is Readiness.NOT_YET:
        why = f" ({answer.detail})" if answer.detail else ""
        print(
            f"note: the collector at {answer.url} does not know {site_id} yet{why}; it reloads "
            f"the registry every EMC_SITES_REFRESH_S={settings.sites_refresh_s:g} s",
            file=sys.stderr,
        )
    elif answer.state is Readiness.REFUSED:
        print(
            f"note: could not ask the collector at {answer.url} about {site_id}: {answer.detail}",
            file=sys.stderr,
        )


def _cmd_agencies(args: argparse.Namespace, settings: Settings) -> int:
    from emc.registry_cli import run_agencies

    return run_agencies(args, settings)


def _cmd_tokens(args: argparse.Namespace, settings: Settings) -> int:
    from emc.registry_cli import run_tokens

    return run_tokens(args, settings)


def _cmd_sql(args: argparse.Namespace, settings: Settings) -> int:
    from emc.named_query import run_sql_command

    result = run_sql_command(args, settings)
    columns: list[str] = result["columns"]
    rows: list[list[Any]] = result["rows"]
    if args.format == "json":
        print(
            json.dumps([dict(zip(columns, row, strict=True)) for row in rows], ensure_ascii=False)
        )
    elif args.format == "tsv":
        print("\t".join(columns))
        for row in rows:
            print("\t".join(_cell(v) for v in row))
    else:
        print(format_table(columns, rows))
    return 0


def _cmd_schema(args: argparse.Namespace, settings: Settings) -> int:
    from emc.jsonschema import export_schemas

    schemas = export_schemas()
    if args.name:
        if args.name not in schemas:
            print(f"unknown schema {args.name!r}; one of: {', '.join(schemas)}", file=sys.stderr)
            return 2
        schemas = {args.name: schemas[args.name]}
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        for name, schema in schemas.items():
            (args.out / f"{name}.schema.json").write_text(json.dumps(schema, indent=2) + "\n")
            print(f"wrote {args.out / f'{name}.schema.json'}")
    else:
        print(json.dumps(schemas, indent=2, ensure_ascii=False))
    return 0


def _cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from emc.demo_run import register_demo, run_demo

    if not args.no_register:
        register_demo(settings)
    url = args.collector or settings.collector_url
    hits, dossiers = asyncio.run(
        run_demo(
            url,
            settings.admin_token.get_secret_value(),
            rate_per_s=args.rate or settings.demo_rate,
            duration_s=args.duration,
            history_days=settings.demo_history_days
            if args.history_days is None
            else args.history_days,
            history_visits_per_day=settings.demo_history_visits_per_day,
            state_path=settings.data_dir / "demo-history.json",
            warehouse_url=settings.warehouse_url,
        )
    )
    print(f"demo accepted {hits} hits and {dossiers} dossier events")
    return 0


def _cmd_catalog(args: argparse.Namespace, settings: Settings) -> int:
    from emc.catalog_cli import run_catalog

    return run_catalog(args, settings)


def _cmd_accounts(args: argparse.Namespace, settings: Settings) -> int:
    from emc.catalog_cli import run_accounts

    return run_accounts(args, settings)


def _cmd_targets(args: argparse.Namespace, settings: Settings) -> int:
    from emc.targets_cli import run_targets

    return run_targets(args, settings)


def _cmd_reconciliation(args: argparse.Namespace, settings: Settings) -> int:
    from emc.targets_cli import run_reconciliation

    return run_reconciliation(args, settings)


def _cmd_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from emc.rebuild_cli import run_rebuild

    return run_rebuild(args, settings)


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def format_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain aligned text table (what ``emc sql`` prints by default)."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(c) for c in columns]
    for row in cells:
        widths = [max(w, len(v)) for w, v in zip(widths, row, strict=True)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    footer = f"({len(rows)} row{'s' if len(rows) != 1 else ''})"
    return "\n".join([line, rule, *body, footer])


def _positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emc",
        description="OpenEMC: measure how citizens use digital government. "
        "Settings come from EMC_* environment variables (see README).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="start Kafka, collector, streams and warehouse (+ demo traffic)")
    up.add_argument("--no-demo", action="store_true", help="do not post demo traffic")
    up.add_argument(
        "--no-restart",
        action="store_true",
        help="stop everything when a process dies (default: restart it after 1, 2, 4 … 30 s; "
        "more than 5 deaths within 5 minutes stop everything)",
    )
    up.set_defaults(handler=_cmd_up)

    kafka = sub.add_parser("kafka", help="run the local Kafka broker(s) in the foreground")
    kafka.add_argument(
        "--nodes",
        type=int,
        choices=range(1, 10),
        metavar="N",
        help="KRaft nodes to start on loopback (default EMC_KAFKA_NODES; 3: a cluster that "
        "tolerates losing one, topics with 3 replicas and min.insync.replicas=2)",
    )
    kafka.set_defaults(handler=_cmd_kafka)
    sub.add_parser("topics", help="create the Kafka topics (idempotent)").set_defaults(
        handler=_cmd_topics
    )
    collector = sub.add_parser("collector", help="run one collector process (ingest HTTP server)")
    collector.add_argument(
        "--reuse-port",
        action="store_true",
        help="bind with SO_REUSEPORT, so that several collector processes share the port "
        "(emc up starts EMC_COLLECTOR_WORKERS of them)",
    )
    collector.add_argument(
        "--metrics-dir",
        type=Path,
        help="folder where the processes sharing the port keep their metrics (prometheus-"
        "client multiprocess mode; empty it before the first process starts)",
    )
    collector.set_defaults(handler=_cmd_collector)
    streams = sub.add_parser("streams", help="run the Faust stream worker")
    streams.add_argument(
        "--worker",
        type=_positive_int,
        default=1,
        metavar="N",
        help="this worker's number (1-based; emc up starts EMC_STREAMS_WORKERS of them in one "
        "consumer group): web port EMC_STREAMS_WEB_PORT+N-1, store DATA_DIR/streams-N",
    )
    streams.set_defaults(handler=_cmd_streams)
    sub.add_parser(
        "warehouse", help="run the warehouse: migrations, sink and query API"
    ).set_defaults(handler=_cmd_warehouse)
    sub.add_parser(
        "sink",
        help="run only the sink (Kafka to ClickHouse; several share the partitions); needs "
        "EMC_CLICKHOUSE_URL and `emc migrate` first",
    ).set_defaults(handler=_cmd_warehouse)
    sub.add_parser(
        "api",
        help="run only the stateless query API (any number of replicas); needs "
        "EMC_CLICKHOUSE_URL and `emc migrate` first",
    ).set_defaults(handler=_cmd_warehouse)

    migrate = sub.add_parser("migrate", help="apply ClickHouse migrations")
    migrate.add_argument("--dry-run", action="store_true", help="show what would be applied")
    migrate.add_argument(
        "--cluster",
        metavar="NAME",
        help="render for a ClickHouse cluster (ON CLUSTER, Replicated*, Distributed); "
        "default EMC_CLICKHOUSE_CLUSTER; with --dry-run prints the DDL",
    )
    migrate.set_defaults(handler=_cmd_migrate)

    sites = sub.add_parser("sites", help="manage the site registry")
    sites_sub = sites.add_subparsers(dest="sites_cmd", required=True, metavar="ACTION")
    add = sites_sub.add_parser("add", help="register or update a site")
    add.add_argument("--id", required=True, help="site id (letters, digits, . _ -)")
    add.add_argument("--name", required=True, help="display name")
    add.add_argument("--type", required=True, choices=["portal", "dvc", "onestop"])
    add.add_argument(
        "--domain", action="append", required=True, help="a domain of the site (repeatable)"
    )
    add.add_argument("--timezone", default="Asia/Ho_Chi_Minh", help="IANA timezone for reports")
    add.add_argument("--token", help="ingest token for the site's servers (optional)")
    add.add_argument("--agency", help="owning agency id (see emc agencies list)")
    add.add_argument("--parent-site", dest="parent_site", help="managing parent site id")
    add.add_argument("--matomo-id", dest="matomo_id", type=int, help="Matomo idsite it answers to")
    lst = sites_sub.add_parser("list", help="list registered sites")
    lst.add_argument("--format", choices=["table", "json", "tree"], default="table")
    sites.set_defaults(handler=_cmd_sites)
    registry_cli.register(sub, sites_sub, _cmd_agencies, _cmd_tokens)

    sql = sub.add_parser("sql", help="run read-only SQL or a named query against the warehouse")
    sql.add_argument("query", nargs="?", help='SQL, e.g. "SELECT count() FROM pageviews"')
    sql.add_argument(
        "--query", dest="named", metavar="NAME", help="run clickhouse/queries/NAME.sql"
    )
    sql.add_argument(
        "--param", action="append", default=[], metavar="K=V", help="named query parameter"
    )
    sql.add_argument("--list", action="store_true", help="list the named queries")
    sql.add_argument(
        "--token",
        help="bearer token (default: EMC_TOKEN, else the admin token); an agency token "
        "reads its own subtree's rows only",
    )
    sql.add_argument("--format", choices=["table", "tsv", "json"], default="table")
    sql.add_argument("--max-rows", type=int, default=1000, help="row limit (default 1000)")
    sql.set_defaults(handler=_cmd_sql)

    schema = sub.add_parser("schema", help="export JSON Schemas of the wire formats")
    schema.add_argument("name", nargs="?", help="one schema (default: all)")
    schema.add_argument("--out", type=Path, help="write NAME.schema.json files into this folder")
    schema.set_defaults(handler=_cmd_schema)

    demo = sub.add_parser("demo", help="post realistic demo traffic to a running collector")
    demo.add_argument("--rate", type=float, help="pageviews per second (default EMC_DEMO_RATE)")
    demo.add_argument("--duration", type=float, help="seconds to run (default: until Ctrl-C)")
    demo.add_argument("--collector", help="collector URL (default from settings)")
    demo.add_argument(
        "--no-register", action="store_true", help="do not register the demo sites first"
    )
    demo.add_argument(
        "--history-days",
        type=int,
        help="days of history posted once first (default EMC_DEMO_HISTORY_DAYS; 0: none)",
    )
    demo.set_defaults(handler=_cmd_demo)

    from emc.catalog_cli import register as register_catalog

    catalog, accounts = register_catalog(sub)
    catalog.set_defaults(handler=_cmd_catalog)
    accounts.set_defaults(handler=_cmd_accounts)

    from emc.targets_cli import register as register_targets

    targets, reconciliation = register_targets(sub)
    targets.set_defaults(handler=_cmd_targets)
    reconciliation.set_defaults(handler=_cmd_reconciliation)

    from emc.ops_cli import add_parsers as add_ops_parsers

    add_ops_parsers(sub)  # lag, status, deadletters

    from emc.reports_cli import add_parser as add_reports_parser

    add_reports_parser(sub)  # reports schedule|list|delete|send-now|deliveries|letter

    from emc.rebuild_cli import add_parser as add_rebuild_parser

    add_rebuild_parser(sub).set_defaults(handler=_cmd_rebuild)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ValueError as exc:
        print(f"emc: invalid settings: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise
    handler: Handler = args.handler
    try:
        return handler(args, settings)
    except KeyboardInterrupt:
        return 130
    except (UserError, TimeoutError) as exc:
        print(f"emc: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
