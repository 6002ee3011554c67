"""The REST API of materials, message templates and moments: the same services as the console."""

from __future__ import annotations

import base64

from sqlalchemy import select

from siyu.models import Order
from siyu.models.job import OutboxMessage
from siyu.models.message import Material
from siyu.models.moment import MomentTask
from tests.factories import api_token

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16


def test_materials_are_created_refused_by_field_and_listed_with_their_media_state(client, brand, database):
    operator = api_token(client, brand[0], "hq_operator")
    refused = client.post("/api/v1/materials", headers={**operator, "Accept-Language": "en"},
                          json={"kind": "video", "title": "clip", "file_name": "clip.avi",
                                "file_base64": base64.b64encode(b"RIFF").decode()})
    assert (refused.status_code, refused.json()["error"]["field"], refused.json()["error"]["message"]) == (
        422, "file", "This file type is not supported; upload .mp4 (field file)")
    not_base64 = client.post("/api/v1/materials", headers=operator,
                             json={"kind": "image", "title": "海报", "file_name": "a.png", "file_base64": "@@"})
    assert (not_base64.status_code, not_base64.json()["error"]["field"]) == (422, "file_base64")
    with database.session() as session:
        assert session.scalars(select(Material)).all() == []
    image = client.post("/api/v1/materials", headers=operator,
                        json={"kind": "image", "title": "海报", "file_name": "a.png",
                              "file_base64": base64.b64encode(PNG).decode()})
    link = client.post("/api/v1/materials", headers=operator,
                       json={"kind": "link", "title": "活动页", "url": "https://shop.example/sale", "content": "x"})
    assert (image.status_code, link.status_code) == (201, 201)
    assert (image.json()["media_state"], link.json()["media_state"], link.json()["body"]) == (
        "missing", None, {"url": "https://shop.example/sale"})
    listed = client.get("/api/v1/materials?kind=image", headers=operator).json()
    assert [m["title"] for m in listed] == ["海报"]
    with database.session() as session:
        assert session.get(Material, image.json()["id"]).content == PNG


def test_a_template_is_previewed_for_a_customer_of_the_corp_only(client, brand, database):
    operator = api_token(client, brand[0], "hq_operator")
    refused = client.post("/api/v1/message-templates", headers=operator, json={"name": "回访", "text": "{nick}"})
    assert (refused.status_code, refused.json()["error"]["field"]) == (422, "text")
    created = client.post("/api/v1/message-templates", headers=operator,
                          json={"name": "回访", "text": "共 {order_count} 单"})
    assert created.status_code == 201
    template_id = created.json()["id"]
    served = {c for customers in brand[0].served.values() for c in customers}
    walk_in = next(c for c in brand[0].customer_ids if c not in served)
    preview = client.get(f"/api/v1/message-templates/{template_id}/preview/{walk_in}", headers=operator)
    with database.session() as session:
        orders = len(session.scalars(select(Order.id).where(Order.customer_id == walk_in)).all())
    assert preview.json() == {"customer_id": walk_in, "text": f"共 {orders or ''} 单"}
    other_corp = client.get(f"/api/v1/message-templates/{template_id}/preview/{brand[1].customer_ids[0]}",
                            headers=operator)
    assert (other_corp.status_code, other_corp.json()["error"]["field"]) == (404, "customer_id")


def test_a_moment_is_created_into_the_outbox_and_an_unknown_staff_member_is_refused(client, brand, database):
    operator = api_token(client, brand[0], "hq_operator")
    refused = client.post("/api/v1/moments", headers=operator,
                          json={"text": "新品", "staff_ids": [brand[1].staff_ids[0]]})
    assert (refused.status_code, refused.json()["error"]["field"]) == (422, "staff_ids")
    with database.session() as session:
        assert (session.scalars(select(MomentTask)).all(), session.scalars(select(OutboxMessage)).all()) == ([], [])
    created = client.post("/api/v1/moments", headers=operator,
                          json={"text": "新品上架", "staff_ids": [brand[0].staff_ids[0]]})
    assert (created.status_code, created.json()["status"], created.json()["staff_ids"]) == (
        201, "creating", [brand[0].staff_ids[0]])
    moment_id = created.json()["id"]
    assert client.get(f"/api/v1/moments/{moment_id}", headers=operator).json()["text"] == "新品上架"
    assert [m["id"] for m in client.get("/api/v1/moments", headers=operator).json()] == [moment_id]
    with database.session() as session:
        outbox = session.scalars(select(OutboxMessage)).one()
    assert (outbox.provider, outbox.idempotency_key) == ("wecom_moment", f"moment-task:{moment_id}")
