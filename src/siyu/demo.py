"""The demo application: the platform plus the WeCom emulator mounted at /wecom-emulator."""

from __future__ import annotations

from fastapi import FastAPI

from siyu.app import create_app


def create_demo_app(settings, database, *, embedded_worker: bool = True, mount_emulator: bool = True,
                    clock=None) -> FastAPI:
    return create_app(settings, database, clock, embedded_worker=embedded_worker, mount_emulator=mount_emulator)
