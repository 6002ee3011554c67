"""Run benchmarks: ``python -m bench`` runs all of them, ``python -m bench NAME [OPTIONS]`` one.

``make bench`` calls this. Each benchmark module exposes ``main(argv) -> int``.
"""

from __future__ import annotations

import importlib
import sys

#: benchmark name → module (add new benchmarks here)
BENCHMARKS = {
    "acquisition": "bench.acquisition_bench",
    "seed": "bench.seed_bench",
    "callbacks": "bench.callback_bench",
    "wecom-sync": "bench.wecom_sync_bench",
    "identity": "bench.identity_bench",
    "ingest": "bench.ingest_bench",
    "orders": "bench.order_import_bench",
    "rfm": "bench.rfm_bench",
    "broadcast": "bench.broadcast_bench",
    "customer-360": "bench.customer_360_bench",
    "segment": "bench.segment_bench",
    "loyalty": "bench.loyalty_bench",
    "journey": "bench.journey_bench",
}


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        print("benchmarks: " + ", ".join(BENCHMARKS))
        return 0
    if argv and not argv[0].startswith("-"):
        name, options = argv[0], argv[1:]
        if name not in BENCHMARKS:
            print(f"unknown benchmark {name!r}; choose one of: {', '.join(BENCHMARKS)}", file=sys.stderr)
            return 2
        names = [name]
    else:
        names, options = list(BENCHMARKS), argv
    status = 0
    for name in names:
        print(f"== benchmark {name}")
        status |= importlib.import_module(BENCHMARKS[name]).main(options)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
