"""Run every benchmark harness in turn and print their numbers (``make bench``).

Each harness starts what it needs (local Kafka, stack) and prints its own results; this only
sequences them so they never compete for the two cores.
"""

from __future__ import annotations

import subprocess
import sys

HARNESSES = (
    ("collector", [sys.executable, "-m", "bench.collector_bench"]),
    ("dossiers", [sys.executable, "-m", "bench.dossier_bench", "--dossiers", "2000000"]),
    ("stream worker: handler vs worker", [sys.executable, "-m", "bench.worker_bench"]),
    # freshness targets of issue 14: p95 ≤ 2 s at 1,000 hits/s, ≤ 5 s at 5,000
    (
        "end to end, bulk, 1,000 hits/s",
        [
            sys.executable,
            "-m",
            "bench.e2e_bench",
            "--shape",
            "bulk",
            "--rate",
            "1000",
            "--batch",
            "50",
        ],
    ),
    (
        "end to end, bulk, 5,000 hits/s",
        [sys.executable, "-m", "bench.e2e_bench", "--shape", "bulk", "--rate", "5000"],
    ),
    (
        "end to end, beacons, 5,000 hits/s",
        [sys.executable, "-m", "bench.e2e_bench", "--shape", "beacon", "--rate", "5000"],
    ),
)


def main() -> int:
    failed = 0
    for name, argv in HARNESSES:
        print(f"=== {name}: {' '.join(argv[1:])}", flush=True)
        failed += subprocess.call(argv) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
