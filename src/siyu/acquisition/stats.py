"""Statistics of channel codes and package cards, in a few set-based queries each.

* adds per day and per staff member — from the day counters (``channel_code_day``, local days);
* still connected after 7 / 30 days — of the adds at least that old, those whose relation had not
  ended within that many days (only the ended relations are read row by row: they are few);
* orders and sales attributed — purchases of the code's customers paid after they arrived through it
  (a customer who came through two codes counts for both);
* package cards (包裹卡): per platform, customers added through its cards ÷ orders shipped in the
  period (加粉率), and the cost per added customer from the card cost (one card per shipped order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.models.acquisition import ChannelCode, ChannelCodeAdd, ChannelCodeDay
from siyu.models.customer import Relation
from siyu.models.order import PURCHASE_STATUSES, Order
from siyu.models.org import Staff

RETENTION_DAYS = (7, 30)


@dataclass
class Retention:
    days: int
    eligible: int
    retained: int

    @property
    def rate(self) -> float | None:
        return None if not self.eligible else self.retained / self.eligible


@dataclass
class CodeStatistics:
    code_id: int
    total_adds: int
    adds_per_day: list[tuple[date, int]]
    adds_per_staff: list[tuple[int, str, int]]
    retention: list[Retention]
    orders: int
    sales: Decimal


def adds_per_day(session: Session, code_ids: list[int], since: date) -> dict[int, dict[date, int]]:
    rows = session.execute(select(ChannelCodeDay.channel_code_id, ChannelCodeDay.day, func.sum(ChannelCodeDay.adds))
                           .where(ChannelCodeDay.channel_code_id.in_(code_ids), ChannelCodeDay.day >= since)
                           .group_by(ChannelCodeDay.channel_code_id, ChannelCodeDay.day))
    found: dict[int, dict[date, int]] = {code_id: {} for code_id in code_ids}
    for code_id, day, adds in rows:
        found[code_id][day] = int(adds)
    return found


def total_adds(session: Session, code_ids: list[int]) -> dict[int, int]:
    """Adds of each code since it was made (the sum of its day counters)."""
    rows = session.execute(select(ChannelCodeDay.channel_code_id, func.sum(ChannelCodeDay.adds)).where(
        ChannelCodeDay.channel_code_id.in_(code_ids)).group_by(ChannelCodeDay.channel_code_id))
    return {code_id: 0 for code_id in code_ids} | {code_id: int(count) for code_id, count in rows}


def _retention(session: Session, code_id: int, now: datetime, days: int) -> Retention:
    cutoff = now - timedelta(days=days)
    old_enough = (ChannelCodeAdd.channel_code_id == code_id, ChannelCodeAdd.added_at <= cutoff)
    eligible = session.scalar(select(func.count()).select_from(ChannelCodeAdd).where(*old_enough)) or 0
    ended = session.execute(select(ChannelCodeAdd.added_at, Relation.ended_at)
                            .join(Relation, Relation.id == ChannelCodeAdd.relation_id)
                            .where(*old_enough, Relation.ended_at.is_not(None)))
    lost = sum(1 for added_at, ended_at in ended if ended_at - added_at < timedelta(days=days))
    return Retention(days, eligible, eligible - lost)


def attributed_sales(session: Session, code_ids: list[int]) -> dict[int, tuple[int, Decimal]]:
    rows = session.execute(
        select(ChannelCodeAdd.channel_code_id, func.count(func.distinct(Order.id)),
               func.coalesce(func.sum(Order.amount - Order.refund_amount), 0))
        .join(Order, (Order.customer_id == ChannelCodeAdd.customer_id) & (Order.paid_at >= ChannelCodeAdd.added_at))
        .where(ChannelCodeAdd.channel_code_id.in_(code_ids), Order.status.in_(PURCHASE_STATUSES))
        .group_by(ChannelCodeAdd.channel_code_id))
    found = {code_id: (0, Decimal(0)) for code_id in code_ids}
    for code_id, orders, sales in rows:
        found[code_id] = (int(orders), Decimal(sales))
    return found


def code_statistics(session: Session, code: ChannelCode, now: datetime, today: date, *,
                    days: int = 30) -> CodeStatistics:
    since = today - timedelta(days=days - 1)
    per_day = adds_per_day(session, [code.id], since)[code.id]
    per_staff = session.execute(
        select(Staff.id, Staff.name, func.sum(ChannelCodeDay.adds)).join(Staff, Staff.id == ChannelCodeDay.staff_id)
        .where(ChannelCodeDay.channel_code_id == code.id).group_by(Staff.id, Staff.name)
        .order_by(func.sum(ChannelCodeDay.adds).desc(), Staff.id))
    orders, sales = attributed_sales(session, [code.id])[code.id]
    return CodeStatistics(
        code_id=code.id, total_adds=total_adds(session, [code.id])[code.id],
        adds_per_day=[(since + timedelta(days=i), per_day.get(since + timedelta(days=i), 0)) for i in range(days)],
        adds_per_staff=[(staff_id, name, int(adds)) for staff_id, name, adds in per_staff],
        retention=[_retention(session, code.id, now, d) for d in RETENTION_DAYS], orders=orders, sales=sales)


@dataclass
class PlatformFunnel:
    platform: str
    added: int = 0
    shipped: int = 0
    card_cost: Decimal = Decimal(0)
    cards: list[str] = field(default_factory=list)

    @property
    def add_rate(self) -> float | None:
        return None if not self.shipped else self.added / self.shipped

    @property
    def cost_per_added(self) -> Decimal | None:
        return None if not self.added or not self.card_cost else (self.card_cost / self.added).quantize(Decimal("0.01"))


def package_card_funnel(session: Session, corp_id: int, start: datetime, end: datetime) -> list[PlatformFunnel]:
    """Per platform: adds through its package cards and orders shipped in [start, end)."""
    cards = list(session.scalars(select(ChannelCode).where(
        ChannelCode.corp_id == corp_id, ChannelCode.kind == "package_card", ChannelCode.status != "deleted")
        .order_by(ChannelCode.id)))
    if not cards:
        return []
    added = dict(session.execute(select(ChannelCodeAdd.channel_code_id, func.count()).where(
        ChannelCodeAdd.channel_code_id.in_([c.id for c in cards]), ChannelCodeAdd.added_at >= start,
        ChannelCodeAdd.added_at < end).group_by(ChannelCodeAdd.channel_code_id)).all())
    shipped = {(platform, shop): int(count) for platform, shop, count in session.execute(
        select(Order.platform, Order.shop, func.count()).where(
            Order.corp_id == corp_id, Order.shipped_at >= start, Order.shipped_at < end,
            Order.platform.in_({c.platform for c in cards})).group_by(Order.platform, Order.shop))}
    funnels: dict[str, PlatformFunnel] = {}
    counted_shops: set[tuple[str, str | None]] = set()
    for card in cards:
        funnel = funnels.setdefault(card.platform or "", PlatformFunnel(card.platform or ""))
        funnel.added += int(added.get(card.id, 0))
        funnel.cards.append(card.name)
        shops = [key for key in shipped if key[0] == card.platform and (not card.shop or key[1] == card.shop)]
        for key in shops:
            if key not in counted_shops:
                counted_shops.add(key)
                funnel.shipped += shipped[key]
            if card.card_cost:
                funnel.card_cost += card.card_cost * shipped[key]
    return list(funnels.values())
