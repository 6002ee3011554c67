"""Tables other domains are adding (channel codes, the touch ledger, memberships), read when present.

Segments read these facts but do not own them; until the owning domain's model exists, a condition
on them matches nobody (and validation says the feature is not available), so the language and
stored definitions need no change the day the table arrives.
"""

from __future__ import annotations

import importlib
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session


def _model(module: str, name: str) -> Any | None:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def channel_code_model() -> Any | None:
    """``siyu.models.acquisition.ChannelCode`` (its ``state`` is the WeCom contact-way state)."""
    return _model("siyu.models.acquisition", "ChannelCode")


def touch_model() -> Any | None:
    """``siyu.models.policy.Touch`` — the ledger of every touch sent to a customer."""
    return _model("siyu.models.policy", "Touch")


def membership_model() -> Any | None:
    """The loyalty membership (a customer's current level), when the loyalty domain exists."""
    return _model("siyu.models.loyalty", "Member")


def channel_code_states(session: Session, corp_id: int, code_ids: list[int]) -> list[str]:
    model = channel_code_model()
    if model is None:
        return []
    return [state for state in session.scalars(
        select(model.state).where(model.corp_id == corp_id, model.id.in_(code_ids))) if state]


def member_level_customers(corp_id: int, level_ids: list[int]) -> Select | None:
    """Customer ids of the corp's members at one of ``level_ids``; None without a loyalty model."""
    model = membership_model()
    if model is None or not hasattr(model, "level_id") or not hasattr(model, "customer_id"):
        return None
    return select(model.customer_id).where(model.corp_id == corp_id, model.level_id.in_(level_ids))
