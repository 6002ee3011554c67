"""A journey worker process for the crash test: ``python -m tests.journey.crash_worker DATABASE_URL``."""

from __future__ import annotations

import sys

from siyu.journey.runner import JourneyRunner
from siyu.kit.db import Database


def main() -> None:
    database = Database(sys.argv[1])
    JourneyRunner(database, batch_size=int(sys.argv[2]) if len(sys.argv) > 2 else 200, idle_seconds=0.05).run()


if __name__ == "__main__":
    main()
