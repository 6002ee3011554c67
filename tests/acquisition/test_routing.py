"""Routing of a channel code: who is in the contact way's user list, by mode, cap, schedule and backup."""

from __future__ import annotations

from datetime import datetime

import pytest

from siyu.acquisition.routing import Candidate, on_schedule, rotation, valid_schedule

MONDAY_10 = datetime(2026, 11, 30, 10, 0)
MONDAY_23 = datetime(2026, 11, 30, 23, 0)
TUESDAY_02 = datetime(2026, 12, 1, 2, 0)


def _members(*adds: int, caps=(300, 300, 300), weights=(3, 2, 1), backup=(False, False, False), schedules=None):
    schedules = schedules or (None, None, None)
    return [Candidate(f"u{i}", weights[i], caps[i], adds[i], backup[i], schedules[i]) for i in range(len(adds))]


def test_weighted_routing_follows_the_weights_exactly():
    # Given three members of weights 3, 2, 1, when 60 customers arrive one after another
    counts = [0, 0, 0]
    for _ in range(60):
        chosen = rotation("weighted", _members(*counts), MONDAY_10)
        assert len(chosen) == 1
        counts[int(chosen[0][1])] += 1
    # Then they got 30, 20 and 10
    assert counts == [30, 20, 10]


def test_a_member_at_the_cap_leaves_the_rotation_and_backups_step_in_only_when_nobody_else_can():
    assert rotation("round_robin", _members(300, 5, 0), MONDAY_10) == ["u1", "u2"]
    assert rotation("weighted", _members(1, 0, 0, caps=(1, 300, 300)), MONDAY_10) == ["u1"]
    # Every regular member is full: the backup takes over
    members = _members(1, 1, 0, caps=(1, 1, 300), backup=(False, False, True))
    assert rotation("round_robin", members, MONDAY_10) == ["u2"]
    # Nobody can take customers: the list keeps the backups (a contact way needs a user)
    members = _members(1, 1, 1, caps=(1, 1, 1), backup=(False, False, True))
    assert rotation("weighted", members, MONDAY_10) == ["u2"]
    # No backups at all: the regular members stay
    assert rotation("weighted", _members(1, 1, 1, caps=(1, 1, 1)), MONDAY_10) == ["u0", "u1", "u2"]


def test_random_routing_is_a_reproducible_order_of_the_available_members():
    first = rotation("random", _members(0, 0, 0), MONDAY_10, seed=7)
    assert sorted(first) == ["u0", "u1", "u2"]
    assert rotation("random", _members(0, 0, 0), MONDAY_10, seed=7) == first


def test_schedules_by_weekday_and_hours_including_past_midnight():
    day_shift = {"weekdays": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}
    night_shift = {"weekdays": [0], "start": "22:00", "end": "06:00"}
    assert (on_schedule(day_shift, MONDAY_10), on_schedule(day_shift, MONDAY_23)) == (True, False)
    # Monday's night shift covers Monday 23:00 and Tuesday 02:00, not Tuesday 23:00
    assert on_schedule(night_shift, MONDAY_23) and on_schedule(night_shift, TUESDAY_02)
    assert not on_schedule(night_shift, datetime(2026, 12, 1, 23, 0))
    members = _members(0, 0, 0, schedules=(day_shift, night_shift, None))
    assert rotation("round_robin", members, MONDAY_10) == ["u0", "u2"]
    assert rotation("round_robin", members, TUESDAY_02) == ["u1", "u2"]


@pytest.mark.parametrize(("schedule", "valid"), [
    (None, True), ({"weekdays": [0, 6], "start": "08:30", "end": "20:00"}, True), ({"weekdays": [7]}, False),
    ({"start": "25:00"}, False), ({"start": "9"}, False), ("mornings", False), ({"weekdays": "0"}, False)])
def test_schedule_validation(schedule, valid):
    assert valid_schedule(schedule) is valid


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown routing mode 'sticky'"):
        rotation("sticky", _members(0, 0, 0), MONDAY_10)
