"""Which staff members a channel code hands customers to right now — decided by siyu, carried out by
WeCom.

WeCom routes a scan itself among the contact way's ``user`` list (reference §3.3: siyu is not asked
who should get the next customer). So siyu routes by *rewriting that list* (``update_contact_way``)
whenever the answer changes: a member reaches their daily cap, a schedule opens or closes, the day
turns over. What each routing mode means under that constraint:

* ``round_robin`` and ``random`` — every member who may take customers now is in the list; WeCom
  spreads scans among them. siyu cannot make WeCom alternate strictly or draw at random, and does not
  pretend to; the modes differ only in the order written.
* ``weighted`` — the list holds exactly one member: the one furthest below their share (smooth
  weighted round-robin on today's adds: lowest ``adds / weight``, ties by higher weight, then
  position). After every add the list is rewritten, so shares follow the weights exactly, up to the
  scans that arrive before the rewrite reaches WeCom.

Members at their cap or outside their schedule are left out. Backup members are used only when no
regular member can take customers. When nobody can, the list keeps the backup members, else the
regular members (a contact way needs at least one user; an add over a cap is still recorded).
"""

from __future__ import annotations

import random as random_module
from dataclasses import dataclass
from datetime import datetime, time

ROUTING_MODES = ("round_robin", "random", "weighted")
DEFAULT_DAILY_CAP = 300


@dataclass(frozen=True)
class Candidate:
    """A member of a code with what routing needs to know today."""

    userid: str
    weight: int
    cap: int
    adds_today: int
    backup: bool = False
    schedule: dict | None = None


def _parse_time(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def valid_schedule(schedule: dict | None) -> bool:
    """A schedule is ``{"weekdays": [0..6] (Monday 0), "start": "HH:MM", "end": "HH:MM"}``; an end
    before the start runs past midnight."""
    if schedule is None:
        return True
    try:
        weekdays = schedule.get("weekdays", list(range(7)))
        if not isinstance(weekdays, list) or not all(isinstance(d, int) and 0 <= d <= 6 for d in weekdays):
            return False
        _parse_time(schedule.get("start", "00:00"))
        _parse_time(schedule.get("end", "23:59"))
    except (AttributeError, ValueError):
        return False
    return True


def on_schedule(schedule: dict | None, local_now: datetime) -> bool:
    """Whether ``local_now`` (the corp's wall clock) is inside ``schedule`` (None: always)."""
    if not schedule:
        return True
    weekdays = schedule.get("weekdays", list(range(7)))
    start = _parse_time(schedule.get("start", "00:00"))
    end = _parse_time(schedule.get("end", "23:59"))
    moment = local_now.time().replace(second=0, microsecond=0)
    if start <= end:
        return local_now.weekday() in weekdays and start <= moment <= end
    # Past midnight: the evening belongs to today's weekday, the small hours to yesterday's.
    if moment >= start:
        return local_now.weekday() in weekdays
    return moment <= end and (local_now.weekday() - 1) % 7 in weekdays


def available(candidate: Candidate, local_now: datetime) -> bool:
    return candidate.adds_today < candidate.cap and on_schedule(candidate.schedule, local_now)


def next_weighted(candidates: list[Candidate]) -> Candidate:
    """The member furthest below their weighted share of today's adds."""
    order = {c.userid: i for i, c in enumerate(candidates)}
    return min(candidates, key=lambda c: (c.adds_today / c.weight, -c.weight, order[c.userid]))


def rotation(mode: str, candidates: list[Candidate], local_now: datetime, *,
             seed: int | None = None) -> list[str]:
    """The contact way's ``user`` list for ``candidates`` at ``local_now`` (see the module docstring)."""
    if mode not in ROUTING_MODES:
        raise ValueError(f"unknown routing mode {mode!r}")
    regular = [c for c in candidates if not c.backup and available(c, local_now)]
    pool = regular or [c for c in candidates if c.backup and available(c, local_now)]
    if not pool:
        fallback = [c for c in candidates if c.backup] or list(candidates)
        return [c.userid for c in fallback]
    if mode == "weighted":
        return [next_weighted(pool).userid]
    userids = [c.userid for c in pool]
    if mode == "random":
        random_module.Random(seed).shuffle(userids)
    return userids
