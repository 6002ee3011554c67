"""Moments against the WeCom emulator: a task visible by staff and tag, created through the outbox,
published by staff, and its results and interactions synced into touches."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from siyu.emulator.wecom.entities import Tag as WeComTag
from siyu.kit.errors import InvalidInput
from siyu.kit.jobs import enqueue
from siyu.models import CustomerTag, Tag, TagGroup
from siyu.models.moment import MomentStatus, MomentTask
from siyu.models.policy import Touch, TouchChannel, TouchPriority, TouchRule, TouchStatus
from siyu.moment import service
from siyu.policy import TouchRequest, admit
from tests.broadcast.conftest import drain, wired, worker  # noqa: F401
from tests.integrations.wecom.conftest import wecom_emulator, wecom_emulator_factory  # noqa: F401
from tests.integrations.wecom.handling import process_secret_key  # noqa: F401


@pytest.fixture
def vip(database, wired, clock):
    """A corp tag 'VIP' in siyu and WeCom, on the first customer of staff 1 and of staff 2."""
    brand = wired.brand
    tagged = [brand.served[brand.staff_ids[0]][0], brand.served[brand.staff_ids[1]][0]]
    with database.session() as session:
        group = TagGroup(corp_id=wired.corp_id, name="等级", wecom_group_id="etgroupvip")
        session.add(group)
        session.flush()
        tag = Tag(corp_id=wired.corp_id, group_id=group.id, name="VIP", wecom_tag_id="etvip0001")
        session.add(tag)
        session.flush()
        for customer in tagged:
            session.add(CustomerTag(corp_id=wired.corp_id, customer_id=customer, tag_id=tag.id, source="wecom",
                                    tagged_at=clock.now()))
        tag_id = tag.id
    with wired.emulator.state.lock:
        corp = wired.wecom_corp
        corp.tags["etvip0001"] = WeComTag(id="etvip0001", name="VIP", group_id="etgroupvip", create_time=0)
        for customer in tagged:
            external = wired.external[customer]
            for follow in corp.customers[external].follows.values():
                follow.tag_ids.append("etvip0001")
    return tag_id, tagged


def test_a_moment_visible_by_staff_and_tag_is_synced_into_touches(database, clock, wired, worker, vip):
    tag_id, tagged = vip
    staff = wired.brand.staff_ids[:2]
    with database.session() as session:
        # one tagged customer already saw three moments today: the gate holds their fourth back
        admit(session, wired.corp_id, [TouchRequest(tagged[1], TouchChannel.moment, TouchPriority.service)
                                       for _ in range(3)], now=clock.now())
        preview = service.preview(session, wired.corp_id, staff_ids=staff, tag_ids=[tag_id], now=clock.now())
        task = service.create_moment(session, wired.corp_id, text="新品上架：阳光玫瑰", staff_ids=staff,
                                     tag_ids=[tag_id], material_ids=[], now=clock.now())
    assert (preview.customers, preview.visible, dict(preview.held_back)) == (2, 1, {TouchRule.moment_cap: 1})
    drain(worker, clock)
    moments = list(wired.wecom_corp.moments.values())
    assert [(m.text["content"], sorted(m.senders), m.tag_list) for m in moments] == [
        ("新品上架：阳光玫瑰", sorted(wired.userid[s] for s in staff), ["etvip0001"])]
    # staff 1 publishes, a customer likes it; the sync records what WeCom reports
    moment = moments[0]
    simulator, corp_id = wired.emulator.simulator, wired.emulator.corp_id
    simulator.staff_publish_moment(corp_id, moment.moment_id, wired.userid[staff[0]])
    simulator.customer_comment_moment(corp_id, moment.moment_id, wired.userid[staff[0]], wired.external[tagged[0]],
                                      like=True)
    with database.session() as session:
        enqueue(session, service.SYNC_JOB, {"corp_id": wired.corp_id, "moment_task_id": task.id},
                corp_id=wired.corp_id, clock=clock)
    drain(worker, clock)
    with database.session() as session:
        synced = session.get(MomentTask, task.id)
        touches = session.execute(select(Touch.customer_id, Touch.status).where(Touch.source_kind == "moment")).all()
    assert (synced.status, synced.moment_id, synced.published_staff, synced.visible_customers, synced.likes) == (
        MomentStatus.publishing, moment.moment_id, 1, 1, 1)
    assert touches == [(tagged[0], TouchStatus.sent)]
    # a second sync records nothing twice
    clock.advance(timedelta(minutes=5))
    with database.session() as session:
        enqueue(session, service.SYNC_JOB, {"corp_id": wired.corp_id, "moment_task_id": task.id},
                corp_id=wired.corp_id, clock=clock)
    drain(worker, clock)
    with database.session() as session:
        assert len(session.scalars(select(Touch.id).where(Touch.source_kind == "moment")).all()) == 1


def test_a_tag_not_in_wecom_is_refused_and_nothing_reaches_wecom(database, clock, wired, worker):
    with database.session() as session:
        group = TagGroup(corp_id=wired.corp_id, name="本地")
        session.add(group)
        session.flush()
        tag = Tag(corp_id=wired.corp_id, group_id=group.id, name="仅本地")
        session.add(tag)
        session.flush()
        with pytest.raises(InvalidInput) as refused:
            service.create_moment(session, wired.corp_id, text="x", staff_ids=[], tag_ids=[tag.id], material_ids=[],
                                  now=clock.now())
    assert refused.value.field == "tag_ids"
    drain(worker, clock)
    assert wired.wecom_corp.moments == {}
