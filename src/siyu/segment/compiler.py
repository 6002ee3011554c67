"""The one compiler from the segment language to SQLAlchemy Core (SQLite and PostgreSQL).

Every condition becomes a boolean expression over one row of ``customer LEFT JOIN customer_trait``:

* conditions on the customer or its traits (trait, RFM, lifecycle, city, bucket) compare columns of
  that row directly;
* the others are *sets*: ``customer.id IN (SELECT customer_id FROM … [GROUP BY … HAVING …])`` — a
  semi-join the planner hashes once. A negated set is an anti-join (``NOT EXISTS`` on PostgreSQL,
  ``NOT IN`` over a NULL-free subquery on SQLite, which materialises it once).

NOT is pushed down to the leaves (De Morgan), so each leaf picks its own negated form. An aggregate
whose test also holds for zero (``count < 2``, "not performed") is compiled as the complement of the
customers for whom it fails, so customers without any row are members too.

Merged-away customers (``merged_into_id`` set) are never members. ``candidates`` restricts the
evaluation to a list of customer ids (the incremental refresh): it is applied to the customer row and
inside every set, so a tick costs what its dirty customers cost.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from siyu.kit.db import UtcDateTime
from siyu.models.customer import Customer, Identity, Relation, RelationStatus
from siyu.models.event import Event
from siyu.models.group import GroupChat, GroupChatMember
from siyu.models.order import PURCHASE_STATUSES, Order
from siyu.models.org import Department, Staff
from siyu.models.segment import CustomerEventDay, Segment, SegmentMembership
from siyu.models.tag import CustomerTag, RelationTag
from siyu.models.trait import CustomerTrait
from siyu.segment import language as lang
from siyu.segment import optional_models

BUCKET_PRIME = 2147483647  # 2^31 − 1: products of two residues stay inside 64-bit integers
BUCKET_MULTIPLIER = 48271
_INVERSE = {"=": "!=", "!=": "=", "<": ">=", ">=": "<", "<=": ">", ">": "<="}


class SegmentCycle(Exception):
    """A definition refers, through other segments, to itself."""

    def __init__(self, segment_ids: list[int]) -> None:
        self.segment_ids = segment_ids
        super().__init__(" → ".join(map(str, segment_ids)))


def holds(op: str, left: Any, right: Any) -> bool:
    """``left op right`` in Python (for the zero test of aggregates)."""
    return {"=": left == right, "!=": left != right, "<": left < right, "<=": left <= right,
            ">": left > right, ">=": left >= right}[op]


def compare(expression: Any, op: str, value: Any) -> ColumnElement:
    return {"=": expression.__eq__, "!=": expression.__ne__, "<": expression.__lt__, "<=": expression.__le__,
            ">": expression.__gt__, ">=": expression.__ge__}[op](value)


def bucket_of(customer_id: int, salt: str, buckets: int) -> int:
    """The A/B bucket of a customer, as the SQL computes it (stable across runs and databases)."""
    first, second = _salt_numbers(salt)
    mixed = ((customer_id % BUCKET_PRIME) * BUCKET_MULTIPLIER + first) % BUCKET_PRIME
    return ((mixed * mixed + second) % BUCKET_PRIME) % buckets


def _salt_numbers(salt: str) -> tuple[int, int]:
    digest = hashlib.sha256(salt.encode()).digest()
    return int.from_bytes(digest[:4], "big") % BUCKET_PRIME, int.from_bytes(digest[4:8], "big") % BUCKET_PRIME


@dataclass
class Compiler:
    session: Session
    corp_id: int
    now: datetime
    candidates: list[int] | None = None
    #: the segments being expanded (for cycle detection)
    stack: tuple[int, ...] = ()
    _timezone: ZoneInfo | None = field(default=None, init=False)
    _subtrees: dict[int, Select] = field(default_factory=dict, init=False)

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    @property
    def timezone(self) -> ZoneInfo:
        if self._timezone is None:
            from siyu.models.corp import Corp

            name = self.session.scalar(select(Corp.timezone).where(Corp.id == self.corp_id)) or "Asia/Shanghai"
            self._timezone = ZoneInfo(name)
        return self._timezone

    # -- time -----------------------------------------------------------------------------------------

    def start_of(self, moment: date | datetime) -> datetime:
        if isinstance(moment, datetime):
            return moment.astimezone(UTC)
        return datetime.combine(moment, time(), self.timezone).astimezone(UTC)

    def end_of(self, moment: date | datetime) -> datetime:
        """Exclusive end: a date includes its whole day."""
        if isinstance(moment, datetime):
            return moment.astimezone(UTC)
        return self.start_of(moment + timedelta(days=1))

    def local_today(self) -> date:
        return self.now.astimezone(self.timezone).date()

    def moment_window(self, column: Any, window: lang.Window | None) -> list[ColumnElement]:
        """Conditions putting ``column`` (a timestamp) inside ``window``."""
        if window is None:
            return []
        if window.relative:
            return [column >= _at(self.now - timedelta(days=window.days)), column <= _at(self.now)]
        return [column >= _at(self.start_of(window.start)), column < _at(self.end_of(window.end))]

    def day_window(self, window: lang.Window | None) -> tuple[date | None, date | None]:
        """Local days (inclusive) of an event window: ``within 7d`` is today and the six days before."""
        if window is None:
            return None, None
        if window.relative:
            today = self.local_today()
            return today - timedelta(days=max(window.days - 1, 0)), today
        start = window.start if not isinstance(window.start, datetime) else \
            window.start.astimezone(self.timezone).date()
        end = window.end if not isinstance(window.end, datetime) else window.end.astimezone(self.timezone).date()
        return start, end

    # -- the tree -------------------------------------------------------------------------------------

    def base(self, *columns: Any) -> Select:
        statement = (select(*columns).select_from(Customer)
                     .outerjoin(CustomerTrait, CustomerTrait.customer_id == Customer.id)
                     .where(Customer.corp_id == self.corp_id, Customer.merged_into_id.is_(None)))
        if self.candidates is not None:
            statement = statement.where(self.among_candidates(Customer.id))
        return statement

    def among_candidates(self, column: Any) -> ColumnElement:
        """``column`` is one of the candidates: one array parameter on PostgreSQL (a list repeated in
        every set would run into the driver's limit of parameters), an IN list on SQLite."""
        if self.dialect == "postgresql":
            from sqlalchemy import BigInteger, any_, bindparam
            from sqlalchemy.dialects.postgresql import ARRAY

            return column == any_(bindparam("candidates", list(self.candidates), type_=ARRAY(BigInteger()),
                                           unique=True))
        return column.in_(self.candidates)

    def customer_ids(self, node: lang.Node) -> Select:
        """``SELECT customer.id`` of the members."""
        return self.base(Customer.id).where(self.predicate(node))

    def predicate(self, node: lang.Node, negate: bool = False) -> ColumnElement:
        if isinstance(node, lang.NotOf):
            return self.predicate(node.child, not negate)
        if isinstance(node, lang.AllOf | lang.AnyOf):
            parts = [self.predicate(child, negate) for child in node.children]
            conjunctive = isinstance(node, lang.AllOf) != negate
            return and_(true(), *parts) if conjunctive else or_(false(), *parts)
        method = getattr(self, f"_{type(node).__name__}")
        return method(node, negate)

    # -- shapes -----------------------------------------------------------------------------------------

    def direct(self, expression: ColumnElement, negate: bool) -> ColumnElement:
        """A condition on the customer row; its negation treats unknown (NULL) as "not matching"."""
        if not negate:
            return expression
        return not_(func.coalesce(expression, false()))

    def member_of(self, ids: Select, negate: bool) -> ColumnElement:
        """``customer.id`` in (or, negated, not in) a one-column SELECT of non-NULL customer ids."""
        if not negate:
            return Customer.id.in_(ids)
        if self.dialect == "postgresql":
            subquery = ids.subquery()
            return ~exists(select(literal(1)).select_from(subquery).where(subquery.c[0] == Customer.id))
        return Customer.id.not_in(ids)

    def aggregate(self, build, op: str, value: Any, negate: bool) -> ColumnElement:
        """A set defined by ``aggregate op value`` where customers without rows aggregate to zero:
        ``build(op, value)`` returns the customers with rows whose aggregate satisfies it."""
        if holds(op, 0, value):
            return self.member_of(build(_INVERSE[op], value), not negate)
        return self.member_of(build(op, value), negate)

    def scoped(self, column: Any) -> list[ColumnElement]:
        """The filters every set applies to its customer column."""
        filters = [column.is_not(None)]
        if self.candidates is not None:
            filters.append(self.among_candidates(column))
        return filters

    def subtree(self, department_id: int) -> Select:
        """Ids of ``department_id`` and every department below it (through the materialised path)."""
        if department_id not in self._subtrees:
            path = self.session.scalar(select(Department.path).where(
                Department.corp_id == self.corp_id, Department.id == department_id))
            self._subtrees[department_id] = (
                select(Department.id).where(Department.corp_id == self.corp_id, Department.path.startswith(path))
                if path else select(Department.id).where(false()))
        return self._subtrees[department_id]

    # -- leaves -----------------------------------------------------------------------------------------

    def _TraitCondition(self, node: lang.TraitCondition, negate: bool) -> ColumnElement:
        spec = lang.TRAIT_FIELDS[node.name]
        column = getattr(CustomerTrait if spec.table == "customer_trait" else Customer, spec.column)
        return self.direct(self.trait_expression(spec, column, node), negate)

    def trait_expression(self, spec: lang.TraitField, column: Any, node: lang.TraitCondition) -> ColumnElement:
        op, value = node.op, node.value
        if op == "is_set":
            return column.is_not(None) if spec.kind != "list" else and_(
                column.is_not(None), cast(column, String) != "[]")
        if op == "is_not_set":
            return column.is_(None) if spec.kind != "list" else or_(column.is_(None), cast(column, String) == "[]")
        if spec.kind == "date":
            if op in ("within", "not_within", "before", "after") and isinstance(value, int):
                cut = _at(self.now - timedelta(days=value))
                return {"within": column >= cut, "after": column >= cut, "before": column < cut,
                        "not_within": or_(column.is_(None), column < cut)}[op]
            if op == "between":
                return and_(*self.moment_window(column, node.window))
            start = _at(self.start_of(node.window.start))
            return column < start if op == "before" else column >= start
        if spec.kind == "list":
            contains = cast(column, String).contains(json.dumps(value), autoescape=True)
            return contains if op == "contains" else or_(column.is_(None), not_(contains))
        typed = self.typed(spec, value)
        if op == "in":
            return column.in_(typed)
        if op == "not_in":
            return or_(column.is_(None), column.not_in(typed))
        if op == "between":
            return and_(column >= typed[0], column <= typed[1])
        if op == "contains":
            return column.contains(value, autoescape=True)
        if op == "starts_with":
            return column.startswith(value, autoescape=True)
        if op == "!=":
            return or_(column.is_(None), column != typed)
        return compare(column, op, typed)

    @staticmethod
    def typed(spec: lang.TraitField, value: Any) -> Any:
        if isinstance(value, list):
            return [Compiler.typed(spec, item) for item in value]
        if spec.kind == "integer":
            number = Decimal(value)
            return int(number) if number == number.to_integral_value() else number
        if spec.kind == "number":
            return Decimal(value)
        return value

    def _ChoiceCondition(self, node: lang.ChoiceCondition, negate: bool) -> ColumnElement:
        column = {"rfm": CustomerTrait.rfm_class, "lifecycle": CustomerTrait.lifecycle_stage,
                  "city": Customer.city}[node.kind]
        return self.direct(column.in_(list(node.values)), negate != node.negate)

    def _BucketCondition(self, node: lang.BucketCondition, negate: bool) -> ColumnElement:
        first, second = _salt_numbers(node.salt)
        mixed = ((Customer.id % BUCKET_PRIME) * BUCKET_MULTIPLIER + first) % BUCKET_PRIME
        bucket = ((mixed * mixed + second) % BUCKET_PRIME) % node.buckets
        return self.direct(and_(bucket >= node.start, bucket <= node.end), negate)

    def _TagCondition(self, node: lang.TagCondition, negate: bool) -> ColumnElement:
        tag_ids = list(node.tag_ids)
        if node.source == "customer":
            customer_column, tag_column = CustomerTag.customer_id, CustomerTag.tag_id
            ids = select(customer_column).where(CustomerTag.corp_id == self.corp_id, tag_column.in_(tag_ids),
                                                *self.scoped(customer_column))
        else:
            customer_column, tag_column = Relation.customer_id, RelationTag.tag_id
            ids = (select(customer_column).select_from(RelationTag)
                   .join(Relation, Relation.id == RelationTag.relation_id)
                   .where(RelationTag.corp_id == self.corp_id, tag_column.in_(tag_ids),
                          Relation.status == RelationStatus.active, *self.scoped(customer_column)))
        if node.mode == "all" and len(set(tag_ids)) > 1:
            ids = ids.group_by(customer_column).having(func.count(func.distinct(tag_column)) == len(set(tag_ids)))
        return self.member_of(ids, negate != (node.mode == "none"))

    def _EventCondition(self, node: lang.EventCondition, negate: bool) -> ColumnElement:
        first_day, last_day = self.day_window(node.window)
        if not node.where:
            # The rollup answers: counts per customer, name and local day.
            def build(op: str, value: int) -> Select:
                days = []
                if first_day is not None:
                    days = [CustomerEventDay.day >= first_day, CustomerEventDay.day <= last_day]
                return (select(CustomerEventDay.customer_id)
                        .where(CustomerEventDay.corp_id == self.corp_id, CustomerEventDay.name == node.name,
                               *days, *self.scoped(CustomerEventDay.customer_id))
                        .group_by(CustomerEventDay.customer_id)
                        .having(compare(func.sum(CustomerEventDay.count), op, value)))
        else:
            # Property filters need the raw events (the rollup keeps no properties).
            def build(op: str, value: int) -> Select:
                moments = []
                if first_day is not None:
                    moments = [Event.timestamp >= _at(self.start_of(first_day)),
                               Event.timestamp < _at(self.start_of(last_day + timedelta(days=1)))]
                statement = (select(Event.customer_id)
                             .where(Event.corp_id == self.corp_id, Event.name == node.name, *moments,
                                    *(self.property_filter(item) for item in node.where),
                                    *self.scoped(Event.customer_id))
                             .group_by(Event.customer_id))
                return statement.having(compare(func.count(), op, value))
        return self.aggregate(build, node.count_op, node.count, negate)

    def property_filter(self, item: lang.PropertyFilter) -> ColumnElement:
        element = Event.properties[item.property]
        text = cast(element.as_string(), String) if self.dialect == "sqlite" else element.as_string()
        if item.op == "is_set":
            return text.is_not(None)
        if item.op == "is_not_set":
            return text.is_(None)
        if item.op in ("<", "<=", ">", ">="):
            return compare(element.as_float(), item.op, item.value)
        if item.op == "in":
            return text.in_(item.value)
        if item.op == "not_in":
            return or_(text.is_(None), text.not_in(item.value))
        if item.op == "contains":
            return text.contains(item.value, autoescape=True)
        if item.op == "!=":
            return or_(text.is_(None), text != item.value)
        return text == item.value

    def _OrderCondition(self, node: lang.OrderCondition, negate: bool) -> ColumnElement:
        filters = [Order.corp_id == self.corp_id, Order.status.in_(PURCHASE_STATUSES),
                   *self.moment_window(Order.paid_at, node.window), *self.scoped(Order.customer_id)]
        if node.categories:
            filters.append(Order.category.in_(list(node.categories)))
        if node.platforms:
            filters.append(Order.platform.in_(list(node.platforms)))
        if node.store_ids:
            filters.append(or_(*(Order.store_id.in_(self.subtree(store)) for store in node.store_ids)))
        # spend nets out partial refunds, as the total_spend trait does
        measure = func.count() if node.metric == "count" else \
            func.coalesce(func.sum(Order.amount - Order.refund_amount), 0)
        value = node.value if node.metric == "sum" else int(node.value) if node.value == int(node.value) \
            else node.value

        def build(op: str, threshold: Any) -> Select:
            return (select(Order.customer_id).where(*filters).group_by(Order.customer_id)
                    .having(compare(measure, op, threshold)))

        return self.aggregate(build, node.op, value, negate)

    def _RelationCondition(self, node: lang.RelationCondition, negate: bool) -> ColumnElement:
        filters = [Relation.corp_id == self.corp_id, *self.scoped(Relation.customer_id),
                   *self.moment_window(Relation.added_at, node.added)]
        status = {"active": RelationStatus.active, "lost": RelationStatus.deleted_by_customer,
                  "deleted_by_staff": RelationStatus.deleted_by_staff,
                  "transferred": RelationStatus.transferred}.get(node.status)
        if status is not None:
            filters.append(Relation.status == status)
        if node.staff_ids:
            filters.append(Relation.staff_id.in_(list(node.staff_ids)))
        if node.department_id is not None:
            filters.append(Relation.staff_id.in_(
                select(Staff.id).where(Staff.corp_id == self.corp_id,
                                       Staff.department_id.in_(self.subtree(node.department_id)))))
        states = list(node.states)
        if node.channel_code_ids:
            states += optional_models.channel_code_states(self.session, self.corp_id, list(node.channel_code_ids))
        if node.states or node.channel_code_ids:
            filters.append(Relation.state.in_(states) if states else false())
        return self.member_of(select(Relation.customer_id).where(*filters), negate)

    def _GroupChatCondition(self, node: lang.GroupChatCondition, negate: bool) -> ColumnElement:
        filters = [GroupChatMember.corp_id == self.corp_id, GroupChatMember.left_at.is_(None),
                   GroupChat.dismissed_at.is_(None), *self.scoped(GroupChatMember.customer_id)]
        if node.chat_ids:
            filters.append(GroupChatMember.group_chat_id.in_(list(node.chat_ids)))
        ids = (select(GroupChatMember.customer_id)
               .join(GroupChat, GroupChat.id == GroupChatMember.group_chat_id).where(*filters))
        return self.member_of(ids, negate)

    def _IdentityCondition(self, node: lang.IdentityCondition, negate: bool) -> ColumnElement:
        ids = select(Identity.customer_id).where(Identity.corp_id == self.corp_id, Identity.kind == node.kind,
                                                 *self.scoped(Identity.customer_id))
        absent = negate == node.present
        if node.kind == "phone":
            has_phone = Customer.phone.is_not(None) & (Customer.phone != "")
            if absent:
                return and_(self.member_of(ids, True), not_(func.coalesce(has_phone, false())))
            return or_(has_phone, self.member_of(ids, False))
        return self.member_of(ids, absent)

    def _SegmentCondition(self, node: lang.SegmentCondition, negate: bool) -> ColumnElement:
        if node.segment_id in self.stack:
            raise SegmentCycle([*self.stack, node.segment_id])
        segment = self.session.execute(
            select(Segment.kind, Segment.definition)
            .where(Segment.corp_id == self.corp_id, Segment.id == node.segment_id)).one_or_none()
        if segment is None:
            return self.direct(false(), negate)
        if segment.kind == "dynamic" and segment.definition:
            inner = Compiler(self.session, self.corp_id, self.now, self.candidates,
                             (*self.stack, node.segment_id))
            inner._timezone = self._timezone
            parsed = lang.parse_definition(segment.definition)
            return self.member_of(inner.customer_ids(parsed.condition).correlate(None), negate)
        ids = select(SegmentMembership.customer_id).where(
            SegmentMembership.segment_id == node.segment_id, SegmentMembership.exited_at.is_(None),
            *self.scoped(SegmentMembership.customer_id))
        return self.member_of(ids, negate)

    def _TouchCondition(self, node: lang.TouchCondition, negate: bool) -> ColumnElement:
        touch = optional_models.touch_model()
        if touch is None:
            # Nothing can have been received before the touch ledger exists.
            return self.aggregate(lambda op, value: select(Customer.id).where(false()), node.count_op, node.count,
                                  negate)
        filters = [touch.corp_id == self.corp_id, *self.moment_window(touch.occurred_at, node.window),
                   *self.scoped(touch.customer_id)]
        if node.channels:
            filters.append(touch.channel.in_(list(node.channels)))
        filters.append(touch.status.in_(list(node.statuses or lang.TOUCH_RECEIVED_STATUSES)))

        def build(op: str, value: int) -> Select:
            return (select(touch.customer_id).where(*filters).group_by(touch.customer_id)
                    .having(compare(func.count(), op, value)))

        return self.aggregate(build, node.count_op, node.count, negate)

    def _MemberLevelCondition(self, node: lang.MemberLevelCondition, negate: bool) -> ColumnElement:
        ids = optional_models.member_level_customers(self.corp_id, list(node.level_ids))
        if ids is None:
            return self.direct(false(), negate)
        return self.member_of(ids.where(*self.scoped(ids.selected_columns[0])), negate)


def _at(moment: datetime) -> ColumnElement:
    return literal(moment, UtcDateTime())


def flag(expression: ColumnElement) -> ColumnElement:
    """1 where ``expression`` holds, else 0 (NULL counts as not holding)."""
    return case((expression, 1), else_=0)
