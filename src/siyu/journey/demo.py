"""The demo brand's journeys: every template created for the corp, and published where the demo has
what it refers to (a channel code for the welcome series, a coupon template for the rewards)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.journey import service, templates
from siyu.journey.definition import JourneyInvalid
from siyu.kit.clock import Clock
from siyu.kit.tenancy import Principal
from siyu.models.journey import Journey

NAMES = {"welcome": "新客欢迎系列（七匹狼）", "post_purchase": "购后关怀", "win_back": "沉睡客户唤醒",
         "points_expiry": "积分到期提醒（周大福）", "birthday": "生日礼券", "weather": "天气推荐（瑞幸）"}


def _first_id(session: Session, module: str, model: str, corp_id: int) -> int | None:
    try:
        found = getattr(__import__(module, fromlist=[model]), model)
    except (ImportError, AttributeError):
        return None
    return session.scalar(select(found.id).where(found.corp_id == corp_id).order_by(found.id).limit(1))


def seed_demo_journeys(session: Session, principal: Principal, clock: Clock) -> list[int]:
    """Create the six template journeys once (by template) and publish those that validate."""
    existing = set(session.scalars(select(Journey.template).where(Journey.corp_id == principal.corp_id)))
    coupon = _first_id(session, "siyu.models.loyalty", "CouponTemplate", principal.corp_id)
    code = _first_id(session, "siyu.models.acquisition", "ChannelCode", principal.corp_id)
    params = {"welcome": {"channel_code_id": code} if code else {"state": "welcome"},
              "birthday": {"coupon_template_id": coupon} if coupon else {},
              "win_back": {"coupon_template_id": coupon} if coupon else {}}
    created = []
    for key in templates.TEMPLATES:
        if key in existing:
            continue
        journey = service.create(session, principal, clock, name=NAMES[key],
                                 definition=templates.build(key, params.get(key)), template=key)
        try:
            with session.begin_nested():
                service.publish(session, principal, clock, journey.id)
        except JourneyInvalid:
            pass  # stays a draft, its problems shown in the console
        created.append(journey.id)
    return created
