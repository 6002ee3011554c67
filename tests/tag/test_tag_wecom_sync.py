"""Tags of WeCom-synced groups become outbox messages with exact payloads; the WeCom deliverer
sends them to the emulator, whose corp tags and customer tags change."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from siyu.kit.tenancy import Principal
from siyu.models import (
    Customer,
    OutboxMessage,
    OutboxStatus,
    Relation,
    Role,
    Staff,
    Tag,
    TagGroup,
    WeComConnection,
)
from siyu.tag.manage import (
    TagDraft,
    apply_channel_tags,
    create_group,
    create_tag,
    delete_tag,
    tag_customer,
    untag_customer,
    update_group,
    update_tag,
)
from siyu.tag.wecom_sync import NotYetInWeCom, resolve_tags
from tests.tag.conftest import principal

API = "/api/v1"


def _messages(session) -> list[tuple[str, dict]]:
    return [(m.operation, m.payload) for m in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def _connect_stub(session, corp_id: int) -> None:
    session.add(WeComConnection(corp_id=corp_id, wecom_corp_id=f"ww-stub-{corp_id}", api_base="http://127.0.0.1:9/"))
    session.flush()


def test_synced_group_changes_become_exact_outbox_messages(database, clock, brand):
    # given a corp connected to WeCom and a customer with one active relation
    corp, _ = brand
    actor = principal(corp)
    staff_id = corp.staff_ids[0]
    customer = corp.served[staff_id][0]
    with database.session() as session:
        _connect_stub(session, corp.corp_id)
        relation = session.scalars(select(Relation).where(Relation.customer_id == customer)).one()
        userid, external_userid = session.get(Staff, staff_id).userid, relation.external_userid
        # when a synced group is created with two tags, a third tag added, the group and a tag
        # renamed, a customer tagged and untagged and a tag deleted
        group = create_group(session, actor, clock, name="会员", order=3, sync_to_wecom=True,
                             tags=[TagDraft("金卡", order=2), TagDraft("银卡")])
        gold, silver = session.scalars(select(Tag.id).where(Tag.group_id == group.id).order_by(Tag.id)).all()
        bronze = create_tag(session, actor, clock, group.id, TagDraft("铜卡", kind="channel")).id
        update_group(session, actor, clock, group.id, name="会员卡")
        update_tag(session, actor, clock, gold, name="黑金卡", order=5)
        tag_customer(session, actor, clock, customer, gold)
        untag_customer(session, actor, clock, customer, gold)
        apply_channel_tags(session, corp.corp_id, customer, [bronze], clock=clock)
        delete_tag(session, actor, clock, silver)
        assert group.wecom_group_id == f"pending:{group.id}"
    # then each change is one message naming siyu's ids
    with database.session() as session:
        messages = _messages(session)
        keys = session.scalars(select(OutboxMessage.idempotency_key).order_by(OutboxMessage.id)).all()
    relation_id = relation.id
    assert messages == [
        ("add_corp_tag", {"group_id": group.id, "group_name": "会员", "group_order": 3,
                          "tags": [{"tag_id": gold, "name": "金卡", "order": 2},
                                   {"tag_id": silver, "name": "银卡", "order": 0}]}),
        ("add_corp_tag", {"group_id": group.id, "group_name": "会员", "group_order": 3,
                          "tags": [{"tag_id": bronze, "name": "铜卡", "order": 0}]}),
        ("edit_corp_tag", {"target": "group", "id": group.id, "name": "会员卡", "order": 3}),
        ("edit_corp_tag", {"target": "tag", "id": gold, "name": "黑金卡", "order": 5}),
        ("mark_tag", {"relation_id": relation_id, "userid": userid, "external_userid": external_userid,
                      "add_tag": [gold], "remove_tag": []}),
        ("mark_tag", {"relation_id": relation_id, "userid": userid, "external_userid": external_userid,
                      "add_tag": [], "remove_tag": [gold]}),
        ("mark_tag", {"relation_id": relation_id, "userid": userid, "external_userid": external_userid,
                      "add_tag": [bronze], "remove_tag": []}),
        ("del_corp_tag", {"tag_ids": [silver], "group_ids": []}),
    ]
    assert keys[0] == f"wecom:add_corp_tag:{gold}" and keys[-1] == f"wecom:del_corp_tag:tag:{silver}"


def test_unsynced_groups_and_unconnected_corps_send_nothing(client, database, clock, brand, admin_headers):
    # given a corp without a WeCom connection
    corp, _ = brand
    # when a synced group is asked for
    refused = client.post(f"{API}/tag-groups", headers=admin_headers,
                          json={"name": "会员", "sync_to_wecom": True, "tags": [{"name": "金卡"}]})
    # then it is refused and nothing exists
    assert refused.status_code == 409
    assert refused.json()["error"]["field"] == "sync_to_wecom"
    # when a plain group's tag is put on a customer with relations
    tag = client.post(f"{API}/tag-groups", headers=admin_headers,
                      json={"name": "兴趣", "tags": [{"name": "烘焙"}]}).json()["tags"][0]
    assert client.post(f"{API}/customers/{corp.customer_ids[0]}/tags/{tag['id']}",
                       headers=admin_headers).status_code == 201
    # then no message leaves
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        assert session.scalars(select(TagGroup.name)).all() == ["兴趣"]


def test_a_tag_not_yet_in_wecom_makes_marking_wait(database, clock, brand):
    corp, _ = brand
    with database.session() as session:
        _connect_stub(session, corp.corp_id)
        group = create_group(session, principal(corp), clock, name="会员", sync_to_wecom=True,
                             tags=[TagDraft("金卡")])
        tag = session.scalar(select(Tag.id).where(Tag.group_id == group.id))
        try:
            resolve_tags(session, corp.corp_id, [tag])
        except NotYetInWeCom as waiting:
            assert str(waiting) == f"tag {tag} has not reached WeCom yet"
        else:
            raise AssertionError("a tag without a WeCom id resolved")
        session.get(Tag, tag).wecom_tag_id = "etWECOM"
        assert resolve_tags(session, corp.corp_id, [tag]) == ["etWECOM"]


def _system(corp_id: int) -> Principal:
    """A corp-wide principal without a user row (jobs and integrations act as one)."""
    return Principal(user_id=0, corp_id=corp_id, role=Role.admin)


def _linked_customer(session, corp_id: int, emulator) -> tuple[int, str, str]:
    """A siyu customer and staff member mirroring the first follow of the emulator's population."""
    wecom_corp = emulator.state.corp(emulator.corp_id)
    contact = min(wecom_corp.customers.values(), key=lambda c: c.external_userid)
    follow = min(contact.follows.values(), key=lambda f: f.userid)
    staff = Staff(corp_id=corp_id, userid=follow.userid, name="导购")
    customer = Customer(corp_id=corp_id, name="客户")
    session.add_all([staff, customer])
    session.flush()
    session.add(Relation(corp_id=corp_id, staff_id=staff.id, customer_id=customer.id,
                         external_userid=contact.external_userid, added_at=datetime(2026, 1, 1, tzinfo=UTC)))
    session.flush()
    return customer.id, follow.userid, contact.external_userid


def test_the_deliverer_changes_wecom_through_the_emulator(database, clock, settings, process_settings,
                                                         wecom_emulator, run_jobs):
    # given a siyu corp connected to the emulator, whose customer is a contact there
    wecom_emulator.seed(departments=0, staff=2, customers=3, groups=0)
    wecom_corp = wecom_emulator.state.corp(wecom_emulator.corp_id)
    with database.session() as session:
        corp_id = wecom_emulator.connect(session, secret_key=settings.secret_key)
        customer, userid, external_userid = _linked_customer(session, corp_id, wecom_emulator)
        actor = _system(corp_id)
        # when a synced group with a tag is created and the customer tagged in the same transaction
        group = create_group(session, actor, clock, name="siyu会员", sync_to_wecom=True, tags=[TagDraft("金卡")])
        gold = session.scalar(select(Tag.id).where(Tag.group_id == group.id))
        tag_customer(session, actor, clock, customer, gold)
    run_jobs()
    # then WeCom holds the group and tag, siyu knows their ids, and the contact carries the tag
    with database.session() as session:
        tag = session.get(Tag, gold)
        group = session.get(TagGroup, group.id)
        statuses = session.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)).all()
    assert statuses == [OutboxStatus.sent, OutboxStatus.sent]
    wecom_group = wecom_corp.tag_groups[group.wecom_group_id]
    assert (wecom_group.group_name, [wecom_corp.tags[t].name for t in wecom_group.tag_ids]) == ("siyu会员", ["金卡"])
    assert wecom_corp.tags[tag.wecom_tag_id].name == "金卡"
    follow = wecom_corp.customers[external_userid].follows[userid]
    assert tag.wecom_tag_id in follow.tag_ids
    # when the tag is renamed, then deleted
    with database.session() as session:
        update_tag(session, actor, clock, gold, name="黑金卡")
    run_jobs()
    assert wecom_corp.tags[tag.wecom_tag_id].name == "黑金卡"
    with database.session() as session:
        delete_tag(session, actor, clock, gold)
    run_jobs()
    assert wecom_corp.tags[tag.wecom_tag_id].deleted is True
    assert tag.wecom_tag_id not in follow.tag_ids


def test_a_refusal_by_wecom_fails_the_message_and_changes_nothing(database, clock, settings, process_settings,
                                                                 wecom_emulator, run_jobs):
    # given a synced tag in WeCom and a siyu relation whose contact WeCom does not know
    wecom_emulator.seed(departments=0, staff=2, customers=3, groups=0)
    wecom_corp = wecom_emulator.state.corp(wecom_emulator.corp_id)
    with database.session() as session:
        corp_id = wecom_emulator.connect(session, secret_key=settings.secret_key)
        customer, _, _ = _linked_customer(session, corp_id, wecom_emulator)
        relation = session.scalars(select(Relation).where(Relation.customer_id == customer)).one()
        relation.external_userid = "wmUNKNOWNCONTACT"
        actor = _system(corp_id)
        group = create_group(session, actor, clock, name="siyu会员", sync_to_wecom=True, tags=[TagDraft("金卡")])
        gold = session.scalar(select(Tag.id).where(Tag.group_id == group.id))
    run_jobs()
    before = {(c.external_userid, f.userid): list(f.tag_ids)
              for c in wecom_corp.customers.values() for f in c.follows.values()}
    # when the customer is tagged
    with database.session() as session:
        tag_customer(session, actor, clock, customer, gold)
    ran = run_jobs()
    # then WeCom refused once: the message failed without retry and no contact changed
    with database.session() as session:
        message = session.scalars(select(OutboxMessage).where(OutboxMessage.operation == "mark_tag")).one()
    assert ran == ["outbox.deliver"]
    assert message.status == OutboxStatus.failed
    assert message.attempts == 1
    assert "mark_tag" in message.last_error
    assert {(c.external_userid, f.userid): list(f.tag_ids)
            for c in wecom_corp.customers.values() for f in c.follows.values()} == before
