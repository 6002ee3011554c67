"""The set-based gate (``policy.bulk.classify``) decides exactly what the per-request gate decides."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, literal, select, union_all

from siyu.models import CustomerTag, Relation, RelationStatus, Tag, TagGroup
from siyu.models.policy import TouchChannel, TouchPriority, TouchStatus
from siyu.policy import admit, decide, opt_out, set_timezone
from siyu.policy.bulk import classify
from tests.policy.conftest import MONDAY_AFTERNOON, ask
from tests.policy.test_rules import _save

LATE = datetime(2026, 1, 5, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai


def _population(session, corp):
    """One customer per rule: opted out, blacklisted, deleted contact, New York time zone, two with a
    full marketing cap, one with the daily WeCom quota used; plus the walk-ins."""
    ids = corp.customer_ids
    group = TagGroup(corp_id=corp.corp_id, name="风控")
    session.add(group)
    session.flush()
    tag = Tag(corp_id=corp.corp_id, group_id=group.id, name="黑名单")
    session.add(tag)
    session.flush()
    session.add(CustomerTag(corp_id=corp.corp_id, customer_id=ids[1], tag_id=tag.id, source="manual",
                            tagged_at=MONDAY_AFTERNOON))
    _save(session, corp.corp_id, wecom_quota_rule="daily", marketing_cap=1, blacklist_tag_id=tag.id)
    opt_out(session, corp.corp_id, ids[0], source="reply", now=MONDAY_AFTERNOON)
    relation = session.scalars(select(Relation).where(Relation.customer_id == ids[2])).one()
    relation.status = RelationStatus.deleted_by_customer
    set_timezone(session, corp.corp_id, ids[3], "America/New_York")
    admit(session, corp.corp_id, [ask(ids[4]), ask(ids[5], TouchChannel.broadcast, TouchPriority.service)],
          now=MONDAY_AFTERNOON)


def test_classify_agrees_with_decide_for_every_channel_priority_and_time(database, corp):
    with database.session() as session:
        _population(session, corp)
    seen_rules: set[str | None] = set()
    with database.session() as session:
        requests = union_all(*[select(literal(c).label("customer_id"), literal(None, BigInteger()).label("staff_id"))
                               for c in corp.customer_ids]).subquery()
        for channel in (TouchChannel.broadcast, TouchChannel.journey, TouchChannel.moment, TouchChannel.group):
            for priority in TouchPriority:
                for at in (MONDAY_AFTERNOON, LATE):
                    rows = session.execute(classify(session, corp.corp_id, requests, channel=channel,
                                                    priority=priority, at=at)).all()
                    bulk = {row.customer_id: (TouchStatus(row.status), row.rule, row.deferred_until) for row in rows}
                    single = {d.request.customer_id: (d.status, d.rule.value if d.rule else None, d.deferred_until)
                              for d in decide(session, corp.corp_id,
                                              [ask(c, channel, priority, at=at) for c in corp.customer_ids], now=at)}
                    assert bulk == single, (channel, priority, at)
                    seen_rules |= {rule for _, rule, _ in single.values()}
    # the population exercises every rule but the moments cap
    assert seen_rules == {None, "opted_out", "blacklisted", "contact_deleted", "no_relation", "marketing_cap",
                          "wecom_quota", "quiet_hours"}
