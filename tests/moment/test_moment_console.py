"""Moments in the console over real HTTP, against the WeCom emulator: the list and form in zh-CN and
en, a refused visible range with nothing queued, and a moment created from the console that reaches
WeCom through the worker, is published by staff, and shows its visible customers as touches."""

from __future__ import annotations

from sqlalchemy import select

from siyu.models.job import OutboxMessage
from siyu.models.message import Material, MaterialKind
from siyu.models.moment import MomentTask
from siyu.models import Tag, TagGroup
from tests.broadcast.conftest import drain, wired, worker  # noqa: F401
from tests.console.conftest import console, csrf_of, field_error, kpis, rows, seeded  # noqa: F401
from tests.integrations.wecom.conftest import wecom_emulator, wecom_emulator_factory  # noqa: F401
from tests.integrations.wecom.handling import process_secret_key  # noqa: F401
from tests.moment.test_moments import vip  # noqa: F401


def test_the_moments_pages_render_in_chinese_and_english(console):
    operator = console("hq_operator")
    listing = operator.get("/moments")
    assert listing.status_code == 200
    assert "还没有朋友圈任务" in listing.text and 'data-not-built="moments"' not in listing.text
    assert "可见客户标签" in operator.get("/moments/new").text
    operator.get("/lang/en?next=/moments")
    assert "No moment tasks yet." in operator.get("/moments").text
    assert "Visible to customer tags" in operator.get("/moments/new").text


def test_a_tag_not_in_wecom_is_refused_next_to_its_field_and_nothing_is_queued(console, database, seeded):
    with database.session() as session:
        group = TagGroup(corp_id=seeded[0].corp_id, name="本地")
        session.add(group)
        session.flush()
        tag = Tag(corp_id=seeded[0].corp_id, group_id=group.id, name="仅本地")
        session.add(tag)
        session.flush()
        tag_id = tag.id
    operator = console("hq_operator")
    form = operator.get("/moments/new")
    # a local tag is not offered, and posted anyway it is refused
    assert "仅本地" not in form.text
    refused = operator.post("/moments", data={"csrf_token": csrf_of(form.text), "text": "新品",
                                              "tag_ids": str(tag_id)})
    assert refused.status_code == 422
    assert field_error(refused.text, "moment.tag_ids") == "朋友圈可见范围只能用已同步到企业微信的标签（字段 tag_ids）"
    empty = operator.post("/moments", data={"csrf_token": csrf_of(form.text), "text": " "})
    assert field_error(empty.text, "moment.text") == "文字和附件不能都为空（字段 text）"
    with database.session() as session:
        assert (session.scalars(select(MomentTask)).all(), session.scalars(select(OutboxMessage)).all()) == ([], [])


def test_a_moment_created_in_the_console_reaches_wecom_and_shows_its_touches(console, database, clock, wired,
                                                                             worker, vip):
    tag_id, tagged = vip
    staff = wired.brand.staff_ids[:2]
    with database.session() as session:
        image = Material(corp_id=wired.corp_id, kind=MaterialKind.image, title="阳光玫瑰海报", body={},
                        file_name="poster.png", content=b"\x89PNG\r\n\x1a\n" + b"\0" * 32)
        session.add(image)
        session.flush()
        image_id = image.id
    operator = console("hq_operator")
    form = operator.get("/moments/new")
    assert "阳光玫瑰海报" in form.text and "VIP" in form.text
    created = operator.post("/moments", data={"csrf_token": csrf_of(form.text), "text": "新品上架：阳光玫瑰",
                                              "staff_ids": [str(s) for s in staff], "tag_ids": str(tag_id),
                                              "material_ids": str(image_id)}, follow_redirects=False)
    assert created.status_code == 303
    task_id = int(created.headers["location"].rsplit("/", 1)[1])
    detail = operator.get(created.headers["location"]).text
    assert 'data-status="creating"' in detail and "范围内 2 位客户，2 位未被规则拦截" in detail
    # when the worker runs, the image is uploaded and the task reaches WeCom with its range and attachment
    drain(worker, clock)
    moments = list(wired.wecom_corp.moments.values())
    assert [(sorted(m.senders), m.tag_list) for m in moments] == [(sorted(wired.userid[s] for s in staff),
                                                                    ["etvip0001"])]
    with database.session() as session:
        media_id = session.get(Material, image_id).media_id
    assert [(a["msgtype"], a["image"]["media_id"]) for a in moments[0].attachments] == [("image", media_id)]
    assert media_id
    # staff 1 publishes, a customer likes it; the console's sync button pulls the results
    simulator, corp_id = wired.emulator.simulator, wired.emulator.corp_id
    simulator.staff_publish_moment(corp_id, moments[0].moment_id, wired.userid[staff[0]])
    simulator.customer_comment_moment(corp_id, moments[0].moment_id, wired.userid[staff[0]],
                                      wired.external[tagged[0]], like=True)
    page = operator.get(f"/moments/{task_id}").text
    assert 'data-status="publishing"' in page
    synced = operator.post(f"/moments/{task_id}/sync", data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert synced.headers["location"] == f"/moments/{task_id}?syncing=1"
    drain(worker, clock)
    page = operator.get(f"/moments/{task_id}").text
    assert kpis(page) == {"published": "1 / 2", "visible": "1", "likes": "1", "comments": "0"}
    assert rows(page, "touch") == [str(tagged[0])]
    assert rows(page, "sender") == [str(s) for s in staff]
    assert rows(operator.get("/moments").text, "moment") == [str(task_id)]
    operator.get(f"/lang/en?next=/moments/{task_id}")
    english = operator.get(f"/moments/{task_id}").text
    assert "Visible customers" in english and "Published" in english
