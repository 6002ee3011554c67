"""Background machinery started with the web app: the embedded worker (``siyu demo``)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from fastapi import FastAPI

from siyu.kit.clock import Clock
from siyu.kit.db import Database
from siyu.kit.jobs import Worker, load_handler_modules
from siyu.kit.settings import Settings


@dataclass
class BackgroundHandles:
    workers: list[Worker] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)
    stoppers: list = field(default_factory=list)


def start_background(app: FastAPI, settings: Settings, database: Database, clock: Clock, *,
                     embedded_worker: bool) -> BackgroundHandles:
    handles = BackgroundHandles()
    load_handler_modules(settings.job_modules)
    if embedded_worker:
        worker = Worker(database, clock=clock, lease_seconds=settings.job_lease_seconds,
                        batch_size=settings.job_batch_size, idle_seconds=settings.worker_idle_seconds)
        thread = threading.Thread(target=worker.run, name="siyu-embedded-worker", daemon=True)
        thread.start()
        handles.workers.append(worker)
        handles.threads.append(thread)
        # The journey engine's loop, in-process like the job loop (issue 7).
        from siyu.journey.runner import JourneyRunner

        journeys = JourneyRunner(database, clock=clock, stop=worker.stop)
        journey_thread = threading.Thread(target=journeys.run, name="siyu-embedded-journeys", daemon=True)
        journey_thread.start()
        handles.threads.append(journey_thread)
    for starter in getattr(app.state, "background_starters", []):
        stopper = starter()
        if stopper is not None:
            handles.stoppers.append(stopper)
    return handles


def stop_background(handles: BackgroundHandles) -> None:
    for stopper in handles.stoppers:
        stopper()
    for worker in handles.workers:
        worker.stop.set()
    for thread in handles.threads:
        thread.join(timeout=10)
