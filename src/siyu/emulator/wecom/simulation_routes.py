"""The JSON simulation API under ``/simulate/`` (not part of WeCom; lets tests and the demo act).

* ``POST /simulate/corps`` — create a corp; returns its secrets and callback settings.
* ``GET /simulate/{corp_id}`` — credentials; ``PUT /simulate/{corp_id}/config`` — callback URL/token/key,
  ``quota_rule`` (``daily`` | ``weekly7`` | ``days_in_month``), transfer delay, rate limits.
* ``POST /simulate/{corp_id}/seed`` — deterministic population (departments, staff, customers, seed).
* ``POST /simulate/{corp_id}/{action}`` — one simulated action, body = its keyword arguments
  (see ``ACTIONS``); returns what happened. Refusals: 404 unknown entity, 409 rule, 422 bad body.
* ``GET /simulate/{corp_id}/callbacks`` — every callback delivery and attempt;
  ``GET /simulate/{corp_id}/messages`` — messages delivered to customers/groups.
* ``POST /simulate/clock/advance`` (or ``/simulate/{corp_id}/clock/advance``) — TestClock only.
* ``POST /simulate/{corp_id}/population/start|stop|step``, ``GET …/population``.
"""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import APIRouter, Body, Request

from siyu.emulator.wecom.callbacks import CallbackDispatcher
from siyu.emulator.wecom.errors import SimulationError, WeComError
from siyu.emulator.wecom.population import PopulationSimulator
from siyu.emulator.wecom.seed import seed_corp
from siyu.emulator.wecom.simulation import Simulator

ACTIONS = {
    # WeChat users
    "scan_contact_way", "accept", "customer_delete_staff", "join_group", "leave_group", "send_chat_message",
    "customer_comment_moment", "customer_refuse_transfer",
    # staff
    "staff_delete_customer", "staff_edit_customer", "staff_send_single", "staff_confirm_mass_task",
    "staff_publish_moment", "staff_create_group", "staff_rename_group", "staff_dismiss_group", "staff_resign",
    # another app / admins
    "hold_welcome_code", "admin_create_tags", "admin_update_tag", "admin_delete_tags", "admin_shuffle_tags",
    "admin_add_department", "admin_update_department", "admin_delete_department", "admin_add_user",
    "admin_update_user",
}
ALIASES = {"create_group": "staff_create_group", "dismiss_group": "staff_dismiss_group",
           "rename_group": "staff_rename_group"}

router = APIRouter(prefix="/simulate")


def _simulator(request: Request) -> Simulator:
    return request.app.state.simulator


def _call(method: Any, *args: Any, **kwargs: Any) -> Any:
    """Bind the JSON body to the method's keywords (422 when it does not fit), then call it."""
    try:
        inspect.signature(method).bind(*args, **kwargs)
    except TypeError as error:
        raise SimulationError(422, f"bad arguments: {error}") from error
    try:
        return method(*args, **kwargs)
    except WeComError as error:
        raise SimulationError(409, str(error)) from error


@router.post("/corps")
def create_corp(request: Request, body: dict[str, Any] = Body(default={})) -> dict:
    return _call(_simulator(request).create_corp, **body)


@router.post("/clock/advance")
def advance_clock(request: Request, body: dict[str, Any] = Body(default={})) -> dict:
    return _call(_simulator(request).advance_clock, **body)


@router.get("/{corp_id}")
def credentials(corp_id: str, request: Request) -> dict:
    return _simulator(request).credentials(corp_id)


@router.put("/{corp_id}/config")
def configure(corp_id: str, request: Request, body: dict[str, Any] = Body(default={})) -> dict:
    return _call(_simulator(request).configure, corp_id, **body)


@router.post("/{corp_id}/seed")
def seed(corp_id: str, request: Request, body: dict[str, Any] = Body(default={})) -> dict:
    summary = _call(seed_corp, _simulator(request).state, corp_id, **body)
    return {"corp_id": summary.corp_id, "departments": summary.departments, "staff": summary.staff,
            "customers": summary.customers, "groups": summary.groups, "contact_ways": summary.contact_ways,
            "tags": summary.tags}


@router.post("/{corp_id}/clock/advance")
def advance_corp_clock(corp_id: str, request: Request, body: dict[str, Any] = Body(default={})) -> dict:
    _simulator(request).corp(corp_id)
    return _call(_simulator(request).advance_clock, **body)


@router.get("/{corp_id}/callbacks")
def callbacks(corp_id: str, request: Request) -> list[dict]:
    dispatcher: CallbackDispatcher = request.app.state.callbacks
    return dispatcher.deliveries_as_dicts(corp_id)


@router.get("/{corp_id}/messages")
def messages(corp_id: str, request: Request) -> list[dict]:
    simulator = _simulator(request)
    with simulator.state.lock:
        return [dict(entry) for entry in simulator.corp(corp_id).messages]


@router.get("/{corp_id}/summary")
def summary(corp_id: str, request: Request) -> dict:
    """Counts for dashboards and smoke checks."""
    simulator = _simulator(request)
    with simulator.state.lock:
        corp = simulator.corp(corp_id)
        return {"corp_id": corp_id, "departments": len(corp.departments),
                "members": sum(1 for m in corp.members.values() if m.status != 5),
                "customers": len(corp.customers),
                "relations": sum(len(c) for c in corp.customers_by_user.values()),
                "groups": sum(1 for g in corp.groups.values() if not g.dismissed),
                "contact_ways": [{"config_id": w.config_id, "state": w.state, "remark": w.remark,
                                  "user": list(w.user), "skip_verify": w.skip_verify}
                                 for w in corp.contact_ways.values()],
                "join_ways": list(corp.join_ways), "mass_messages": list(corp.mass_messages)}


def _populations(request: Request) -> dict[str, PopulationSimulator]:
    return request.app.state.populations


@router.post("/{corp_id}/population/start")
def population_start(corp_id: str, request: Request, body: dict[str, Any] = Body(default={})) -> dict:
    simulator = _simulator(request)
    simulator.corp(corp_id)
    populations = _populations(request)
    if corp_id in populations:
        populations[corp_id].stop()
    population = _call(PopulationSimulator, simulator, corp_id, **body)
    populations[corp_id] = population
    population.start()
    return population.status()


@router.post("/{corp_id}/population/stop")
def population_stop(corp_id: str, request: Request) -> dict:
    population = _populations(request).get(corp_id)
    if population is None:
        raise SimulationError(404, "no population running for this corp")
    population.stop()
    return population.status()


@router.post("/{corp_id}/population/step")
def population_step(corp_id: str, request: Request, body: dict[str, Any] = Body(default={})) -> dict:
    """Synchronous steps (with a population created on first use from ``seed``)."""
    simulator = _simulator(request)
    simulator.corp(corp_id)
    populations = _populations(request)
    if corp_id not in populations:
        populations[corp_id] = PopulationSimulator(simulator, corp_id, seed=int(body.get("seed", 0)))
    performed = populations[corp_id].run_steps(int(body.get("count", 1)))
    return {"performed": performed, **populations[corp_id].status()}


@router.get("/{corp_id}/population")
def population_status(corp_id: str, request: Request) -> dict:
    population = _populations(request).get(corp_id)
    if population is None:
        raise SimulationError(404, "no population for this corp")
    return population.status()


@router.post("/{corp_id}/{action}")
def act(corp_id: str, action: str, request: Request, body: dict[str, Any] = Body(default={})) -> dict:
    """Run one simulated action; callbacks it raises are delivered in the background."""
    name = ALIASES.get(action, action)
    if name not in ACTIONS:
        raise SimulationError(404, f"unknown action {action!r}")
    return _call(getattr(_simulator(request), name), corp_id, **body)
