"""What ``tests/test_tenancy.py`` needs to cover the contact policy and broadcast routes: the tables
their id fields name, the tables behind their responses, values for body fields it cannot make up, and
one broadcast per corp in a state where every write on it succeeds."""

from __future__ import annotations

from siyu.models import Broadcast, GroupChat, Tag
from siyu.models.broadcast import BroadcastKind, BroadcastStatus, BroadcastVariant
from siyu.models.policy import TouchPriority

REFERENCES = {"broadcast_id": Broadcast, "blacklist_tag_id": Tag, "group_chat_id": GroupChat}
ITEM_TABLES = {
    "PolicyOut": None, "DecisionOut": None,
    "BroadcastOut": Broadcast, "PreviewOut": None, "ReportOut": None,
}
PREFERRED_VALUES = {
    # the policy's choices and times of day
    "wecom_quota_rule": "days_in_month",
    "marketing_period": "week",
    "quiet_start": "22:00",
    "quiet_end": "08:00",
    # a broadcast's priority and audience rule (free strings, checked by the service)
    "priority": TouchPriority.marketing.value,
    "tag_match": "any",
    # after the test clock's start (a broadcast cannot be scheduled in the past)
    "scheduled_at": "2026-02-01T10:00:00+08:00",
    "at": "2026-01-05T10:00:00+08:00",
}


def broadcast_objects(session, brand) -> dict[str, int]:
    """A draft broadcast with one variant: it can be previewed, scheduled, reminded and cancelled."""
    broadcast = Broadcast(corp_id=brand.corp_id, name="新品上市", kind=BroadcastKind.customers,
                          priority=TouchPriority.marketing, audience={}, status=BroadcastStatus.draft)
    session.add(broadcast)
    session.flush()
    session.add(BroadcastVariant(corp_id=brand.corp_id, broadcast_id=broadcast.id, label="A", text="新品到店"))
    session.flush()
    return {"broadcast_id": broadcast.id}
