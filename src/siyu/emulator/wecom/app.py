"""The emulator as a FastAPI application: WeCom's ``/cgi-bin/`` API plus the ``/simulate/`` API.

Standalone: ``uvicorn --factory siyu.emulator.wecom.app:create_emulator_app`` (API base
``http://127.0.0.1:8000/cgi-bin/``). Mounted: ``main.mount("/wecom-emulator", create_emulator_app())``
(API base ``…/wecom-emulator/cgi-bin/``). Starlette does not run a mounted app's lifespan, so nothing
here depends on start-up events: background threads start on first use; call ``close_emulator(app)``
on shutdown.
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from siyu.emulator.wecom.api import build_cgi_router, wecom_error_response
from siyu.emulator.wecom.api_payment import router as payment_router
from siyu.emulator.wecom.callbacks import CallbackDispatcher
from siyu.emulator.wecom.errors import SimulationError, WeComError
from siyu.emulator.wecom.population import PopulationSimulator
from siyu.emulator.wecom.simulation import Simulator
from siyu.emulator.wecom.simulation_routes import router as simulation_router
from siyu.emulator.wecom.state import EmulatorState
from siyu.kit.clock import Clock


def create_emulator_app(clock: Clock | None = None, callback_http_client: httpx.Client | None = None, *,
                        callback_retry_delays: tuple[float, ...] = (1.0, 2.0), seed: int = 0) -> FastAPI:
    """Build an emulator with its own empty state.

    ``clock``: a ``TestClock`` makes token expiry, welcome codes, quotas and transfers controllable
    (and enables ``/simulate/clock/advance``). ``callback_http_client``: the client that POSTs
    callbacks (inject an ``httpx.Client`` with a ``MockTransport`` or an ASGI transport in tests).
    ``callback_retry_delays``: seconds to wait before the 2nd and 3rd delivery attempt.
    """
    state = EmulatorState(clock=clock, seed=seed)
    dispatcher = CallbackDispatcher(state, callback_http_client, retry_delays=callback_retry_delays)
    app = FastAPI(title="siyu WeCom emulator", version="1.0",
                  description="A second, independent implementation of WeCom's server API and callbacks.")
    app.state.emulator = state
    app.state.callbacks = dispatcher
    app.state.simulator = Simulator(state, seed=seed, http_client=callback_http_client)
    app.state.populations = {}
    app.include_router(build_cgi_router())
    app.include_router(payment_router)  # before /simulate/{corp_id}/{action}
    app.include_router(simulation_router)

    @app.exception_handler(WeComError)
    async def _wecom_error(request: Request, error: WeComError) -> JSONResponse:
        return wecom_error_response(request, error)

    @app.exception_handler(SimulationError)
    async def _simulation_error(request: Request, error: SimulationError) -> JSONResponse:
        return JSONResponse({"detail": error.detail}, status_code=error.status_code)

    return app


def get_emulator(app: FastAPI) -> EmulatorState:
    """The state behind an emulator app (for seeding and assertions in-process)."""
    return app.state.emulator


def get_simulator(app: FastAPI) -> Simulator:
    return app.state.simulator


def get_dispatcher(app: FastAPI) -> CallbackDispatcher:
    return app.state.callbacks


def close_emulator(app: FastAPI) -> None:
    """Stop population threads and the callback delivery thread."""
    populations: dict[str, PopulationSimulator] = app.state.populations
    for population in populations.values():
        population.stop()
    app.state.callbacks.close()
