"""The segment API through HTTP: validation errors by path in both languages, preview, CRUD, members,
check one customer, cycles, references to another corp, presets, export, uploads and permissions."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from siyu.models.segment import Segment, SegmentMembership
from tests.auth.bearer import bearer
from tests.segment.conftest import NOW

API = "/api/v1"


@pytest.fixture
def admin(database, population):
    return bearer(database, population.brand.users["admin"])


def _definition(condition):
    return {"version": 1, "condition": condition}


def _segment_rows(database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(Segment))


@pytest.mark.parametrize(("language", "messages"), [
    ("zh-CN", ["这里应是非空列表",
               "属性“total_spend”不能用运算符“like”（可用：=, !=, <, <=, >, >=, between, in, not_in, is_set, is_not_set）",
               "这里应是时长，如 30d（天）或 4w（周）"]),
    ("en", ["A non-empty list is expected here",
            "Trait \"total_spend\" does not take operator \"like\" (allowed: =, !=, <, <=, >, >=, between, in, "
            "not_in, is_set, is_not_set)",
            "A duration is expected here, such as 30d (days) or 4w (weeks)"]),
])
def test_a_bad_definition_is_refused_with_every_problem_by_path(client, database, admin, language, messages):
    # given a definition with three bad nodes
    definition = _definition({"all": [
        {"trait": {"name": "order_count", "op": ">=", "value": 2}},
        {"tag": {"any": []}},
        {"trait": {"name": "total_spend", "op": "like", "value": 1}},
        {"not": {"event": {"name": "view", "within": "30 days"}}},
    ]})

    # when it is saved
    response = client.post(f"{API}/segments", json={"name": "坏的", "definition": definition},
                           headers={**admin, "Accept-Language": language})

    # then it is a 422 naming each path with its reason, and no segment exists
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "segment_definition_invalid"
    assert error["problems"] == [
        {"path": "condition.all[1].tag.any", "message": messages[0]},
        {"path": "condition.all[2].trait.op", "message": messages[1]},
        {"path": "condition.all[3].not.event.within", "message": messages[2]},
    ]
    assert _segment_rows(database) == 0


def test_preview_counts_samples_and_counts_each_condition(client, admin, population):
    # given T1 AND city 上海 (c0, c2), unsaved
    definition = _definition({"all": [{"tag": {"any": [population.tags["T1"]]}},
                                      {"city": {"in": ["上海"]}}]})

    # when it is previewed
    response = client.post(f"{API}/segments/preview", json={"definition": definition, "sample_size": 1},
                           headers=admin)

    # then the count, the newest matching customer and each node's own count come back
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [row["customer_id"] for row in body["sample"]] == [population.ids["c2"]]
    assert body["conditions"] == {"condition": 2, "condition.all[0].tag": 2, "condition.all[1].city": 2}


def test_a_tag_of_another_corp_is_not_found_and_nothing_is_saved(client, database, admin, population):
    # given a tag of corp B
    with database.session() as session:
        from siyu.models import Tag, TagGroup

        group = TagGroup(corp_id=population.other.corp_id, name="B")
        session.add(group)
        session.flush()
        tag = Tag(corp_id=population.other.corp_id, group_id=group.id, name="B1")
        session.add(tag)
        session.flush()
        foreign = tag.id

    # when corp A saves a segment on it
    response = client.post(f"{API}/segments", json={"name": "x", "definition": _definition({"tag": {"any": [foreign]}})},
                           headers={**admin, "Accept-Language": "en"})

    # then the tag is not found at its path, and nothing was saved
    assert response.status_code == 422
    assert response.json()["error"]["problems"] == [
        {"path": "condition.tag.any", "message": f"tag {foreign} does not exist"}]
    assert _segment_rows(database) == 0


def test_crud_members_and_check_one_customer(client, database, admin, population):
    # given a saved segment "T1 and not 杭州"
    definition = _definition({"all": [{"tag": {"any": [population.tags["T1"]]}},
                                      {"not": {"city": {"in": ["上海"]}}}]})
    created = client.post(f"{API}/segments", json={"name": "T1 非上海", "definition": definition}, headers=admin)
    assert created.status_code == 201, created.text
    segment_id = created.json()["id"]
    assert created.json()["member_count"] == 0

    # when it is changed to T1 only, and its members and one customer are read
    changed = client.patch(f"{API}/segments/{segment_id}",
                           json={"definition": _definition({"tag": {"any": [population.tags["T1"]]}})}, headers=admin)
    page = client.get(f"{API}/segments/{segment_id}/members", params={"limit": 1}, headers=admin).json()
    rest = client.get(f"{API}/segments/{segment_id}/members", params={"limit": 1, "cursor": page["next_cursor"]},
                      headers=admin).json()
    check = client.get(f"{API}/segments/{segment_id}/customers/{population.ids['c1']}", headers=admin).json()

    # then both members come page by page, newest first, and c1's explanation says why not
    assert changed.json()["member_count"] == 2
    assert [row["customer_id"] for row in page["items"] + rest["items"]] == [population.ids["c2"], population.ids["c0"]]
    assert rest["next_cursor"] is None
    assert check == {"customer_id": population.ids["c1"], "member": False, "matches": False,
                     "explanation": {"path": "condition.tag", "kind": "tag", "matched": False, "children": []}}
    assert client.get(f"{API}/segments/{segment_id}/count", params={"live": True}, headers=admin).json() == \
        {"count": 2}

    # and when it is deleted, it and its memberships are gone
    assert client.delete(f"{API}/segments/{segment_id}", headers=admin).status_code == 204
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(SegmentMembership)) == 0
    assert client.get(f"{API}/segments/{segment_id}", headers=admin).status_code == 404


def test_explain_shows_each_condition_for_a_customer(client, admin, population):
    # given "T1 and (杭州 or has unionid)"
    definition = _definition({"all": [{"tag": {"any": [population.tags["T1"]]}},
                                      {"any": [{"city": {"in": ["杭州"]}}, {"identity": {"kind": "unionid"}}]}]})
    segment_id = client.post(f"{API}/segments", json={"name": "e", "definition": definition},
                             headers=admin).json()["id"]

    # when c2 (T1, 上海, no unionid) is checked
    check = client.get(f"{API}/segments/{segment_id}/customers/{population.ids['c2']}", headers=admin).json()

    # then the tree shows the failing branch
    assert check["matches"] is False
    tree = check["explanation"]
    assert [(tree["kind"], tree["matched"])] == [("all", False)]
    assert [(c["kind"], c["matched"]) for c in tree["children"]] == [("tag", True), ("any", False)]
    assert [(c["kind"], c["matched"]) for c in tree["children"][1]["children"]] == [("city", False),
                                                                                    ("identity", False)]


def test_a_cycle_through_other_segments_is_refused(client, database, admin, population):
    # given A = T1, and B = in A
    a = client.post(f"{API}/segments", json={"name": "A", "definition": _definition({"tag": {"any": [
        population.tags["T1"]]}})}, headers=admin).json()["id"]
    b = client.post(f"{API}/segments", json={"name": "B", "definition": _definition({"segment": {"id": a}})},
                    headers=admin).json()["id"]
    assert client.get(f"{API}/segments/{b}", headers=admin).json()["member_count"] == 2

    # when A is changed to "in B"
    response = client.patch(f"{API}/segments/{a}", json={"definition": _definition({"segment": {"id": b}})},
                            headers={**admin, "Accept-Language": "en"})

    # then it is refused with the chain, and A is unchanged; A cannot be deleted while B uses it
    assert response.status_code == 422
    assert response.json()["error"]["problems"] == [
        {"path": "condition.segment.id", "message": f"A segment cannot refer to itself (chain: {a} → {b} → {a})"}]
    with database.session() as session:
        assert session.get(Segment, a).definition == _definition({"tag": {"any": [population.tags["T1"]]}})
    deleting = client.delete(f"{API}/segments/{a}", headers=admin)
    assert (deleting.status_code, deleting.json()["error"]["code"]) == (409, "conflict")


def test_a_preset_becomes_a_segment_with_its_name(client, admin, population):
    # when the RFM preset 重要价值客户 is created
    response = client.post(f"{API}/segment-presets", json={"preset": "rfm.important_value"}, headers=admin)

    # then it is a dynamic segment named after the class, holding c0
    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["preset"], body["member_count"]) == ("重要价值客户", "rfm.important_value", 1)


def test_export_lists_the_members_as_csv(client, admin, population):
    segment_id = client.post(f"{API}/segments", json={"name": "导出", "definition": _definition(
        {"tag": {"any": [population.tags["T1"]]}})}, headers=admin).json()["id"]

    response = client.get(f"{API}/segments/{segment_id}/export", params={"format": "csv"},
                          headers={**admin, "Accept-Language": "en"})

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Customer ID", "Name", "City", "Entered at"]
    assert [row[0] for row in rows[1:]] == [str(population.ids["c0"]), str(population.ids["c2"])]
    assert rows[1][3] == NOW.isoformat()


def test_an_uploaded_list_fills_a_static_segment_row_by_row(client, database, admin, population):
    # given a static segment and a CSV of phones: c0's, a bad one, an unknown one and c0's again
    segment_id = client.post(f"{API}/segments", json={"name": "名单", "kind": "static"}, headers=admin).json()["id"]
    with database.session() as session:
        from siyu.models import Customer

        phone = session.get(Customer, population.ids["c0"]).phone
    content = f"手机号\n{phone}\n123\n13700000000\n{phone}\n".encode()

    # when it is uploaded
    response = client.post(f"{API}/segments/{segment_id}/upload", files={"file": ("list.csv", content, "text/csv")},
                           headers={**admin, "Accept-Language": "en"})

    # then each row has its outcome and only c0 became a member
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["total_rows"], body["added"], body["already"], body["rejected"]) == (4, 1, 0, 3)
    assert [(row["row"], row["outcome"]) for row in body["rows"]] == [
        (2, "added"), (3, "invalid"), (4, "not_found"), (5, "duplicate")]
    assert client.get(f"{API}/segments/{segment_id}/count", headers=admin).json() == {"count": 1}


def test_store_managers_cannot_see_or_change_segments(client, database, admin, population):
    segment_id = client.post(f"{API}/segments", json={"name": "x", "definition": _definition(
        {"city": {"in": ["上海"]}})}, headers=admin).json()["id"]
    manager = bearer(database, population.brand.users["store_manager"])

    assert client.get(f"{API}/segments", headers=manager).json() == []
    assert client.get(f"{API}/segments/{segment_id}", headers=manager).status_code == 404
    refused = client.post(f"{API}/segments", json={"name": "y", "definition": _definition(
        {"city": {"in": ["上海"]}})}, headers=manager)
    assert refused.status_code == 403
    assert _segment_rows(database) == 1


def test_an_empty_preview_counts_every_live_customer_of_the_corp(client, admin, population):
    # when the builder has no condition yet
    response = client.post(f"{API}/segments/preview", json={"sample_size": 0}, headers=admin)

    # then it counts corp A's eight live customers (not the merged one, not corp B's)
    assert response.status_code == 200
    assert (response.json()["count"], response.json()["sample"]) == (8, [])
