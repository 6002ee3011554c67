"""The demo application: the platform, the WeCom emulator mounted at /wecom-emulator, and the demo
brand connected to an emulated WeCom corp whose simulated customers keep arriving via callbacks."""

from __future__ import annotations

from fastapi import FastAPI

from siyu.app import create_app


def create_demo_app(settings, database, *, embedded_worker: bool = True, mount_emulator: bool = True,
                    clock=None, population_per_minute: float = 12.0) -> FastAPI:
    app = create_app(settings, database, clock, embedded_worker=embedded_worker, mount_emulator=True)

    def start_demo_wecom():
        from siyu.demo.wecom_mirror import connect_demo_brand

        return connect_demo_brand(app, settings, database, population_per_minute=population_per_minute)

    app.state.background_starters = [start_demo_wecom]
    return app
