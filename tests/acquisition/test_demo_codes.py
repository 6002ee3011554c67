"""The demo: the tiny demo brand mirrored into the mounted emulator, its stores' contact ways adopted as
channel codes (plus two package cards), and the population simulator's scans filling their statistics
through real callbacks and the embedded worker."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from sqlalchemy import func, select

from siyu.models import ChannelCode, ChannelCodeAdd
from siyu.seed.generator import run_seed


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_population_scans_fill_the_demo_codes(settings, database, clock):
    from siyu.demo import create_demo_app

    run_seed(database, scale="tiny", corp_slug=None, seed=7, echo=lambda _: None, interactive=False)
    port = _free_port()
    settings = settings.model_copy(update={"public_base_url": f"http://127.0.0.1:{port}"})
    app = create_demo_app(settings, database, clock=clock, population_per_minute=1200)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        adds = 0
        while time.monotonic() < deadline:
            time.sleep(0.5)
            with database.session() as session:
                adds = session.scalar(select(func.count()).select_from(ChannelCodeAdd)) or 0
            if adds >= 5:
                break
        with database.session() as session:
            kinds = sorted(session.scalars(select(ChannelCode.kind).where(ChannelCode.status == "active")))
        assert adds >= 5
        assert kinds.count("package_card") == 2 and kinds.count("channel") == 6
    finally:
        server.should_exit = True
        thread.join(timeout=15)
