"""One statement of the hostile-SQL corpus in a process of its own, on its own chDB folder, for
the statements that may leave the engine session unusable (``"isolate": true`` in
``hostile_sql.jsonl``; chDB allows one data folder per process, so the test's own engine cannot
be spared otherwise).

``python -m tests.integration.hostile_sql_child agency|admin '<entry as JSON>' FOLDER`` builds the
world of ``test_hostile_sql`` in FOLDER (the test's tmp_path), sends the statement with that token, checks the session afterwards and
prints one JSON line: the statement as sent, the status and body of the answer, the markers and
counts of this world, the files written into ``{tmp}`` and the health of the session (None when
it still reads with settings and inserts).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from clickhouse.client import connect
from clickhouse.migrate import migrate
from tests.integration.test_hostile_sql import health, open_hostile_world


async def main(who: str, entry: dict[str, object], root: Path) -> None:
    engine = connect(url=None, chdb_path=root / "chdb", database="default")
    engine.command("CREATE DATABASE hostile")
    migrate(engine, "hostile")
    async with open_hostile_world(engine, "hostile", root) as world:
        statement = world.expand(str(entry["sql"]))
        response = await world.post(who, statement)
        answer = {
            "statement": statement,
            "status": response.status_code,
            "text": response.text,
            "markers": world.markers,
            "host_markers": world.host_markers,
            "counts": world.counts,
            "written": sorted(p.name for p in world.tmp.iterdir()),
            "health": await asyncio.to_thread(health, world.db),
        }
    print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], json.loads(sys.argv[2]), Path(sys.argv[3])))
