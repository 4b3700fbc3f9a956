"""``python -m streams``: run the stream worker with settings from the environment."""

from __future__ import annotations

from core.settings import load_settings
from streams.worker import run_worker

if __name__ == "__main__":
    run_worker(load_settings())
