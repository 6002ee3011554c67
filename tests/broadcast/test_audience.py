"""Who a broadcast is for: tags (any / all), stores, staff and a saved segment's members, each
recipient with the staff member who serves them."""

from __future__ import annotations

import pytest

from siyu.broadcast.audience import check_audience, recipients_select
from siyu.kit.errors import InvalidInput
from siyu.models import CustomerTag, Tag, TagGroup


@pytest.fixture
def tagged(database, brand, clock):
    """Tags 水果控 on customers 0, 1, 2 and 会员 on 1, 2, 6 of corp alpha."""
    corp = brand[0]
    ids = corp.customer_ids
    with database.session() as session:
        group = TagGroup(corp_id=corp.corp_id, name="偏好")
        session.add(group)
        session.flush()
        tags = {}
        for name, customers in (("水果控", ids[0:3]), ("会员", [ids[1], ids[2], ids[6]])):
            tag = Tag(corp_id=corp.corp_id, group_id=group.id, name=name)
            session.add(tag)
            session.flush()
            tags[name] = tag.id
            for customer in customers:
                session.add(CustomerTag(corp_id=corp.corp_id, customer_id=customer, tag_id=tag.id, source="manual",
                                        tagged_at=clock.now()))
    return corp, tags


def _select(database, corp_id, audience):
    with database.session() as session:
        return [tuple(row[:2]) for row in session.execute(recipients_select(session, corp_id, audience))]


def test_tags_match_any_or_all_and_each_recipient_has_their_serving_staff(database, tagged):
    corp, tags = tagged
    ids, staff = corp.customer_ids, corp.staff_ids
    assert _select(database, corp.corp_id, check_audience({"tag_ids": list(tags.values())})) == [
        (ids[0], staff[0]), (ids[1], staff[0]), (ids[2], staff[1]), (ids[6], None)]
    assert _select(database, corp.corp_id, check_audience({"tag_ids": list(tags.values()), "tag_match": "all"})) == [
        (ids[1], staff[0]), (ids[2], staff[1])]


def test_stores_and_staff_narrow_the_audience(database, brand):
    corp = brand[0]
    ids, staff = corp.customer_ids, corp.staff_ids
    assert _select(database, corp.corp_id, {"store_ids": [corp.store_ids[1]]}) == [
        (ids[4], staff[2]), (ids[5], staff[2]), (ids[7], None)]
    assert _select(database, corp.corp_id, {"staff_ids": [staff[1]]}) == [(ids[2], staff[1]), (ids[3], staff[1])]


def test_a_segment_audience_is_its_current_members(database, brand, clock):
    from siyu.models.segment import Segment, SegmentMembership

    corp = brand[0]
    ids = corp.customer_ids
    with database.session() as session:
        segment = Segment(corp_id=corp.corp_id, name="高价值", kind="static")
        session.add(segment)
        session.flush()
        for customer, exited in ((ids[3], None), (ids[4], clock.now())):
            session.add(SegmentMembership(segment_id=segment.id, customer_id=customer, corp_id=corp.corp_id,
                                          entered_at=clock.now(), exited_at=exited))
        segment_id = segment.id
    assert _select(database, corp.corp_id, {"segment_id": segment_id}) == [(ids[3], corp.staff_ids[1])]


def test_a_malformed_audience_is_refused_naming_the_field():
    for audience, field in (({"tag_ids": ["7"]}, "audience.tag_ids"), ({"tag_match": "some"}, "audience.tag_match"),
                            ({"segment_id": "x"}, "audience.segment_id")):
        with pytest.raises(InvalidInput) as refused:
            check_audience(audience)
        assert refused.value.field == field


def test_an_audience_naming_another_corps_rows_is_refused(database, brand, clock):
    from siyu.broadcast.audience import check_references
    from siyu.kit.errors import NotFound

    corp_a, corp_b = brand
    with database.session() as session:
        for audience, field in (({"store_ids": [corp_b.store_ids[0]]}, "audience.store_ids"),
                                ({"staff_ids": [corp_b.staff_ids[0]]}, "audience.staff_ids")):
            with pytest.raises(NotFound) as refused:
                check_references(session, corp_a.corp_id, audience)
            assert refused.value.field == field
        check_references(session, corp_a.corp_id, {"store_ids": [corp_a.store_ids[0]]})
