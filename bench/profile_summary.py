"""Where a stream worker's time goes, from py-spy ``raw`` profiles (``bench.worker_bench
--profile``): share of samples per part of the worker, profiles side by side.

    .venv/bin/python -m bench.profile_summary before.txt after.txt

A sample counts for the handler when ``HitHandler.handle`` (or the dossier handler) is on its
stack; for the consumer thread when it is aiokafka's fetch thread; for aiokafka's producer when
any of its frames is (its requests and socket writes included); otherwise for the innermost
frame of a known package: the rest of aiokafka (client, connections, protocol), Faust and mode
(per-event machinery, commits, timers), the worker's own glue (``streams/`` outside the
handler). What is left is the asyncio loop itself (selector,
scheduling). Garbage collection is counted where it struck.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

#: Frame names of the handlers and of the comprehensions and closures inside them.
_HANDLERS = tuple(f"{h}.handle{end}" for h in ("HitHandler", "DossierHandler") for end in " .")
PARTS = (
    "handler",
    "worker glue (streams/)",
    "Faust + mode",
    "aiokafka producer",
    "aiokafka client (connections, protocol)",
    "aiokafka consumer thread",
    "asyncio loop, other",
)


def part_of(stack: str) -> str:
    """The part of the worker a py-spy raw stack (``frame (file:line);…``, root first) is in."""
    frames = stack.split(";")
    if any(f.startswith(_HANDLERS) for f in frames):
        return PARTS[0]
    if frames and "threading.py" in frames[0]:
        return PARTS[5]
    if any("aiokafka/producer/" in f for f in frames):
        return PARTS[3]
    for frame in reversed(frames):
        if "aiokafka/" in frame:
            return PARTS[4]
        if "faust/" in frame or "mode/" in frame:
            return PARTS[2]
        if "streams/" in frame:
            return PARTS[1]
    return PARTS[6]


def summarise(path: Path) -> Counter[str]:
    """Samples per part in a py-spy raw profile (one ``stack count`` per line)."""
    parts: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            parts[part_of(stack)] += int(count)
    return parts


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    profiles = {name: summarise(Path(name)) for name in argv}
    width = max(len(p) for p in PARTS)
    print(f"{'':{width}}  " + "  ".join(f"{Path(n).name:>14}" for n in profiles))
    for part in PARTS:
        cells = []
        for parts in profiles.values():
            total = sum(parts.values()) or 1
            cells.append(f"{100 * parts[part] / total:13.1f}%")
        print(f"{part:{width}}  " + "  ".join(cells))
    print(
        f"{'samples':{width}}  " + "  ".join(f"{sum(p.values()):>14,}" for p in profiles.values())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
