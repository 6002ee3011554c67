"""Tag groups and tags through the API, manual tagging with history, channel tags."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from siyu.models import CustomerTag, OutboxMessage, Tag, TagGroup, TagHistory, WeComConnection
from siyu.tag.manage import TagDraft, apply_channel_tags, create_group
from tests.auth.bearer import bearer
from tests.tag.conftest import principal

API = "/api/v1"


def _counts(database) -> tuple[int, int, int, int, int]:
    with database.session() as session:
        return tuple(session.scalar(select(func.count()).select_from(model))
                     for model in (TagGroup, Tag, CustomerTag, TagHistory, OutboxMessage))


def test_groups_kept_in_siyu_only_may_repeat_names(client, database, brand, admin_headers):
    first = client.post(f"{API}/tag-groups", headers=admin_headers, json={"name": "兴趣", "tags": [{"name": "烘焙"}]})
    second = client.post(f"{API}/tag-groups", headers=admin_headers, json={"name": "兴趣"})
    same_tag = client.post(f"{API}/tags", headers=admin_headers, json={"group_id": first.json()["id"], "name": "烘焙"})
    assert (first.status_code, second.status_code, same_tag.status_code) == (201, 201, 201)


def test_tag_groups_and_tags_crud(client, database, brand, admin_headers):
    # given an admin of the brand
    # when a group is created with two tags
    created = client.post(f"{API}/tag-groups", headers=admin_headers, json={
        "name": "会员等级", "order": 5, "tags": [{"name": "金卡", "order": 2}, {"name": "银卡", "order": 1}]})
    # then
    assert created.status_code == 201, created.text
    group = created.json()
    gold, silver = group["tags"]
    assert group == {"id": group["id"], "name": "会员等级", "order": 5, "wecom_synced": False, "wecom_group_id": None,
                     "tags": [{"id": gold["id"], "group_id": group["id"], "name": "金卡", "order": 2, "kind": "manual",
                               "wecom_tag_id": None, "rule": None},
                              {"id": silver["id"], "group_id": group["id"], "name": "银卡", "order": 1,
                               "kind": "manual", "wecom_tag_id": None, "rule": None}]}
    # when a tag is added, the group renamed, a tag renamed and another deleted
    added = client.post(f"{API}/tags", headers=admin_headers,
                        json={"group_id": group["id"], "name": "铜卡", "kind": "channel"})
    assert added.status_code == 201
    assert client.patch(f"{API}/tag-groups/{group['id']}", headers=admin_headers,
                        json={"name": "会员卡"}).status_code == 200
    assert client.patch(f"{API}/tags/{gold['id']}", headers=admin_headers,
                        json={"name": "黑金卡", "order": 9}).json()["name"] == "黑金卡"
    assert client.delete(f"{API}/tags/{silver['id']}", headers=admin_headers).status_code == 204
    # then the catalogue reads
    listed = client.get(f"{API}/tag-groups", headers=admin_headers).json()
    assert [(g["name"], [(t["name"], t["order"], t["kind"]) for t in g["tags"]]) for g in listed] == [
        ("会员卡", [("黑金卡", 9, "manual"), ("铜卡", 0, "channel")])]
    assert [t["name"] for t in client.get(f"{API}/tags", params={"kind": "channel"},
                                          headers=admin_headers).json()] == ["铜卡"]
    assert client.get(f"{API}/tags/{silver['id']}", headers=admin_headers).status_code == 404
    # and nothing went to WeCom: the group is not synced
    assert _counts(database)[4] == 0
    # when the group is deleted
    assert client.delete(f"{API}/tag-groups/{group['id']}", headers=admin_headers).status_code == 204
    assert client.get(f"{API}/tag-groups", headers=admin_headers).json() == []
    assert client.get(f"{API}/tags/{gold['id']}", headers=admin_headers).status_code == 404


def test_refused_tag_writes_change_nothing(client, database, brand, admin_headers):
    # given a WeCom-synced group with a tag (WeCom's naming rules apply to it)
    corp, other = brand
    with database.session() as session:
        session.add(WeComConnection(corp_id=corp.corp_id, wecom_corp_id="ww-stub", api_base="http://127.0.0.1:9/"))
    group = client.post(f"{API}/tag-groups", headers=admin_headers,
                        json={"name": "兴趣", "sync_to_wecom": True, "tags": [{"name": "烘焙"}]}).json()
    before = _counts(database)
    staff_headers = bearer(database, corp.users["staff"])
    other_headers = bearer(database, other.users["admin"])
    # when: a duplicate group, a duplicate tag, staff creating a group, another corp renaming the tag,
    # a rule tag without a rule and a manual tag with one
    refusals = [
        client.post(f"{API}/tag-groups", headers=admin_headers, json={"name": "兴趣", "sync_to_wecom": True}),
        client.post(f"{API}/tags", headers=admin_headers, json={"group_id": group["id"], "name": "烘焙"}),
        client.post(f"{API}/tag-groups", headers=staff_headers, json={"name": "新组"}),
        client.patch(f"{API}/tags/{group['tags'][0]['id']}", headers=other_headers, json={"name": "x"}),
        client.post(f"{API}/tags", headers=admin_headers,
                    json={"group_id": group["id"], "name": "规则", "kind": "rule"}),
        client.post(f"{API}/tags", headers=admin_headers,
                    json={"group_id": group["id"], "name": "手动", "rule": {"trait": "order_count", "op": ">",
                                                                             "value": 1}}),
    ]
    # then
    assert [r.status_code for r in refusals] == [409, 409, 403, 404, 409, 409]
    assert refusals[0].json()["error"] == {"code": "conflict", "message": "已有同名标签组（字段 name）",
                                           "field": "name"}
    assert _counts(database) == before
    assert client.get(f"{API}/tags/{group['tags'][0]['id']}", headers=admin_headers).json()["name"] == "烘焙"


def test_manual_tagging_with_history(client, database, clock, brand, admin_headers):
    # given a tag and a customer
    corp, _ = brand
    customer = corp.customer_ids[0]
    tag = client.post(f"{API}/tag-groups", headers=admin_headers,
                      json={"name": "兴趣", "tags": [{"name": "烘焙"}]}).json()["tags"][0]
    # when it is put on twice, then taken off
    first = client.post(f"{API}/customers/{customer}/tags/{tag['id']}", headers=admin_headers)
    again = client.post(f"{API}/customers/{customer}/tags/{tag['id']}", headers=admin_headers)
    listed = client.get(f"{API}/customers/{customer}/tags", headers=admin_headers).json()
    clock.advance(timedelta(minutes=5))
    removed = client.delete(f"{API}/customers/{customer}/tags/{tag['id']}", headers=admin_headers)
    missing = client.delete(f"{API}/customers/{customer}/tags/{tag['id']}", headers=admin_headers)
    # then
    at = clock.now() - timedelta(minutes=5)
    assert (first.status_code, again.status_code, removed.status_code, missing.status_code) == (201, 200, 204, 404)
    assert first.json() == {"tag_id": tag["id"], "source": "manual", "tagged_at": at.isoformat().replace("+00:00", "Z")}
    assert listed == [first.json()]
    assert client.get(f"{API}/customers/{customer}/tags", headers=admin_headers).json() == []
    history = client.get(f"{API}/customers/{customer}/tag-history", headers=admin_headers).json()
    assert [(h["tag_id"], h["action"], h["source"], h["user_id"], h["at"]) for h in history["items"]] == [
        (tag["id"], "remove", "manual", corp.users["admin"], clock.now().isoformat().replace("+00:00", "Z")),
        (tag["id"], "add", "manual", corp.users["admin"], at.isoformat().replace("+00:00", "Z")),
    ]
    assert history["next_cursor"] is None


def test_tagging_outside_ones_scope_or_with_a_rule_tag_is_refused(client, database, brand, admin_headers):
    # given a manual tag, a rule tag, a store manager and a customer of another store
    corp, other = brand
    group = client.post(f"{API}/tag-groups", headers=admin_headers, json={"name": "兴趣", "tags": [
        {"name": "烘焙"}, {"name": "常客", "kind": "rule", "rule": {"trait": "order_count", "op": ">=", "value": 2}}]})
    manual, rule = group.json()["tags"]
    manager_headers = bearer(database, corp.users["store_manager"])
    stranger = corp.served[corp.staff_ids[2]][0]
    before = _counts(database)
    # when
    refusals = [
        client.post(f"{API}/customers/{stranger}/tags/{manual['id']}", headers=manager_headers),
        client.post(f"{API}/customers/{other.customer_ids[0]}/tags/{manual['id']}", headers=admin_headers),
        client.post(f"{API}/customers/{corp.customer_ids[0]}/tags/{rule['id']}", headers=admin_headers),
        client.get(f"{API}/customers/{stranger}/tag-history", headers=manager_headers),
        client.post(f"{API}/customers/{corp.customer_ids[0]}/tags/{manual['id']}",
                    headers=bearer(database, corp.users["staff"])),
    ]
    # then (staff read customers but do not change them)
    assert [r.status_code for r in refusals] == [404, 404, 409, 404, 403]
    assert _counts(database) == before
    # and the store manager may tag a customer of their store
    mine = corp.served[corp.staff_ids[0]][0]
    assert client.post(f"{API}/customers/{mine}/tags/{manual['id']}", headers=manager_headers).status_code == 201


def test_channel_tags_are_put_on_once_with_their_source(database, clock, brand):
    # given a group with a channel tag, a rule tag, a deleted tag and another corp's tag
    corp, other = brand
    with database.session() as session:
        group = create_group(session, principal(corp), clock, name="渠道", tags=[
            TagDraft("门店海报", kind="channel"), TagDraft("直播间", kind="channel"),
            TagDraft("高价值", kind="rule", rule={"trait": "rfm_class", "op": "=", "value": "important_value"}),
            TagDraft("旧活动", kind="channel")])
        poster, live, rule, old = session.scalars(select(Tag.id).where(Tag.group_id == group.id).order_by(Tag.id))
        session.get(Tag, old).deleted_at = clock.now()
        foreign = create_group(session, principal(other), clock, name="渠道", tags=[TagDraft("别家")])
        foreign_tag = session.scalar(select(Tag.id).where(Tag.group_id == foreign.id))
    customer = corp.customer_ids[1]
    staff = corp.staff_ids[0]
    # when the acquisition feature applies them, twice
    with database.session() as session:
        first = apply_channel_tags(session, corp.corp_id, customer, [poster, live, rule, old, foreign_tag, 999999],
                                   staff_id=staff, clock=clock)
        second = apply_channel_tags(session, corp.corp_id, customer, [poster, live], staff_id=staff, clock=clock)
        elsewhere = apply_channel_tags(session, corp.corp_id, other.customer_ids[0], [poster], clock=clock)
    # then
    assert (first, second, elsewhere) == ([poster, live], [], [])
    with database.session() as session:
        rows = session.execute(select(CustomerTag.customer_id, CustomerTag.tag_id, CustomerTag.source)
                               .order_by(CustomerTag.tag_id)).all()
        history = session.execute(select(TagHistory.tag_id, TagHistory.action, TagHistory.source,
                                         TagHistory.staff_id).order_by(TagHistory.id)).all()
    assert rows == [(customer, poster, "channel"), (customer, live, "channel")]
    assert history == [(poster, "add", "channel", staff), (live, "add", "channel", staff)]


def test_deleting_a_tag_takes_it_off_its_customers_with_history(client, database, brand, admin_headers):
    # given a tag on two customers
    corp, _ = brand
    tag = client.post(f"{API}/tag-groups", headers=admin_headers,
                      json={"name": "兴趣", "tags": [{"name": "烘焙"}]}).json()["tags"][0]
    for customer in corp.customer_ids[:2]:
        client.post(f"{API}/customers/{customer}/tags/{tag['id']}", headers=admin_headers)
    # when the tag is deleted
    assert client.delete(f"{API}/tags/{tag['id']}", headers=admin_headers).status_code == 204
    # then
    with database.session() as session:
        assert session.scalars(select(CustomerTag)).all() == []
        removals = session.execute(select(TagHistory.customer_id, TagHistory.source)
                                   .where(TagHistory.action == "remove").order_by(TagHistory.customer_id)).all()
    assert removals == [(corp.customer_ids[0], "manual"), (corp.customer_ids[1], "manual")]
