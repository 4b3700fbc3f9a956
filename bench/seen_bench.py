"""Size and speed of the sessionizer's duplicate memory (``seen``) at its cap of 512 event ids,
in state format 1 (a list of 12-hex-digit hashes) and 2 (one string of 8-character base64
hashes). Prints numbers, asserts nothing.

    .venv/bin/python -m bench.seen_bench
"""

from __future__ import annotations

import hashlib
import time
import tracemalloc

import orjson

from streams import sessionize

VISITORS = 200
ROUNDS = 20_000


def _format1(visitor: int) -> list[str]:
    return [
        hashlib.blake2b(f"{visitor}-evt-{i}".encode(), digest_size=6).hexdigest()
        for i in range(sessionize.SEEN_LIMIT)
    ]


def main() -> None:
    tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0]
    old = [_format1(v) for v in range(VISITORS)]
    after_old = tracemalloc.get_traced_memory()[0]
    new = [sessionize.seen_text(o) for o in old]
    after_new = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print(f"memory per visitor at the cap ({sessionize.SEEN_LIMIT} ids, {VISITORS} visitors):")
    print(f"  format 1 (list)   {(after_old - start) / VISITORS / 1024:6.1f} KB")
    print(f"  format 2 (string) {(after_new - after_old) / VISITORS / 1024:6.1f} KB")

    seen_list, seen_text = old[0], new[0]
    digest_hex = hashlib.blake2b(b"new", digest_size=6).hexdigest()
    digest = sessionize.event_hash("new")
    began = time.perf_counter()
    for _ in range(ROUNDS):
        _ = digest_hex in seen_list
        grown = [*seen_list, digest_hex]
        del grown[: -sessionize.SEEN_LIMIT]
    middle = time.perf_counter()
    for _ in range(ROUNDS):
        _ = sessionize.remembers(seen_text, digest)
        _ = (seen_text + digest)[-sessionize.SEEN_LIMIT * sessionize.SEEN_WIDTH :]
    end = time.perf_counter()
    print("duplicate check + append at the cap, per hit:")
    print(f"  format 1 {(middle - began) / ROUNDS * 1e6:6.1f} µs")
    print(f"  format 2 {(end - middle) / ROUNDS * 1e6:6.1f} µs")
    print("bytes of `seen` in each changelog record (JSON):")
    print(f"  format 1 {len(orjson.dumps(seen_list)):6d}")
    print(f"  format 2 {len(orjson.dumps(seen_text)):6d}")


if __name__ == "__main__":
    main()
