"""The material library and message templates in the console, over real HTTP: pages in zh-CN and en,
a material per kind, a refused upload named next to its field with nothing stored, the WeCom media
status, and a template previewed for one customer."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from siyu.models import Customer, Job
from siyu.models.message import Material, MaterialKind, MessageTemplate
from tests.console.conftest import console, csrf_of, field_error, rows, seeded  # noqa: F401

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def test_the_library_renders_in_chinese_and_english(console):
    operator = console("hq_operator")
    page = operator.get("/content")
    assert page.status_code == 200
    assert "素材库" in page.text and "还没有素材" in page.text and "还没有消息模板" in page.text
    assert 'data-not-built="content"' not in page.text
    operator.get("/lang/en?next=/content")
    english = operator.get("/content")
    assert "Material library" in english.text and "No materials yet." in english.text
    assert "Link" in operator.get("/content/new?kind=link").text


def test_an_image_of_the_wrong_type_is_refused_next_to_the_file_field_and_nothing_is_stored(console, database):
    operator = console("hq_operator")
    form = operator.get("/content/new?kind=image")
    token = csrf_of(form.text)
    refused = operator.post("/content/materials", data={"csrf_token": token, "kind": "image", "title": "海报"},
                            files={"file": ("poster.gif", b"GIF89a", "image/gif")})
    assert refused.status_code == 422
    assert field_error(refused.text, "material.file") == "文件类型不支持，只能上传 .jpg .jpeg .png（字段 file）"
    assert 'value="海报"' in refused.text
    missing = operator.post("/content/materials", data={"csrf_token": token, "kind": "image", "title": "海报"})
    assert field_error(missing.text, "material.file") == "请上传文件（字段 file）"
    operator.get("/lang/en?next=/content")
    too_big = operator.post("/content/materials", data={"csrf_token": token, "kind": "video", "title": "clip"},
                            files={"file": ("clip.mp4", b"\0" * (10 * 1024 * 1024 + 1), "video/mp4")})
    assert too_big.status_code == 422
    assert field_error(too_big.text, "material.file") == "The file is larger than 10485760 bytes (field file)"
    with database.session() as session:
        assert session.scalars(select(Material)).all() == []


def test_materials_of_each_kind_are_listed_by_kind_with_their_media_status(console, database, seeded, clock):
    operator = console("hq_operator")
    token = csrf_of(operator.get("/content/new").text)
    bad_link = operator.post("/content/materials", data={"csrf_token": token, "kind": "link", "title": "活动页",
                                                         "url": "ftp://x"})
    assert field_error(bad_link.text, "material.url") == "链接须以 http:// 或 https:// 开头（字段 body.url）"
    posts = [{"kind": "text", "title": "欢迎语", "content": "您好，我是您的专属顾问"},
             {"kind": "link", "title": "活动页", "url": "https://shop.example/sale", "desc": "双十二"}]
    for data in posts:
        saved = operator.post("/content/materials", data={"csrf_token": token, **data}, follow_redirects=False)
        assert saved.status_code == 303
    image = operator.post("/content/materials", data={"csrf_token": token, "kind": "image", "title": "海报"},
                          files={"file": ("poster.PNG", PNG, "image/png")}, follow_redirects=False)
    assert image.status_code == 303
    with database.session() as session:
        stored = {m.title: m for m in session.scalars(select(Material))}
        assert (stored["海报"].kind, stored["海报"].file_name, stored["海报"].content) == (
            MaterialKind.image, "poster.PNG", PNG)
        assert stored["活动页"].body == {"url": "https://shop.example/sale", "desc": "双十二"}
        # the image was uploaded to WeCom 2 days 13 hours ago: it is due for a refresh
        stored["海报"].media_id, stored["海报"].media_uploaded_at = "media-1", clock.now() - timedelta(hours=61)
        ids = {title: m.id for title, m in stored.items()}
    listing = operator.get("/content").text
    assert rows(listing, "material") == [str(ids["海报"]), str(ids["活动页"]), str(ids["欢迎语"])]
    assert 'data-media="due">待刷新' in listing
    only_images = operator.get("/content?kind=image").text
    assert rows(only_images, "material") == [str(ids["海报"])]
    # when the operator asks for a refresh, the refresh job is queued for this corp
    operator.post("/content/refresh-media", data={"csrf_token": token})
    with database.session() as session:
        job = session.scalars(select(Job).where(Job.name == "content.refresh_media")).one()
        assert job.args == {"corp_id": seeded[0].corp_id, "reschedule": False}


def test_editing_a_material_keeps_its_file_and_a_new_file_resets_the_media_id(console, database, seeded, clock):
    with database.session() as session:
        material = Material(corp_id=seeded[0].corp_id, kind=MaterialKind.image, title="海报", body={},
                            file_name="a.png", content=PNG, media_id="media-1", media_uploaded_at=clock.now())
        session.add(material)
        session.flush()
        material_id = material.id
    operator = console("hq_operator")
    edit = operator.get(f"/content/materials/{material_id}")
    assert 'data-media="fresh">有效' in edit.text
    token = csrf_of(edit.text)
    refused = operator.post(f"/content/materials/{material_id}", data={"csrf_token": token, "title": " "})
    assert field_error(refused.text, "material.title") == "标题不能为空且不超过 128 字节（字段 title）"
    operator.post(f"/content/materials/{material_id}", data={"csrf_token": token, "title": "新海报"})
    with database.session() as session:
        kept = session.get(Material, material_id)
        assert (kept.title, kept.file_name, kept.media_id) == ("新海报", "a.png", "media-1")
    operator.post(f"/content/materials/{material_id}", data={"csrf_token": token, "title": "新海报"},
                  files={"file": ("b.jpg", b"\xff\xd8\xff" + b"\0" * 10, "image/jpeg")})
    with database.session() as session:
        replaced = session.get(Material, material_id)
        assert (replaced.file_name, replaced.media_id, replaced.media_uploaded_at) == ("b.jpg", None, None)


def test_a_template_is_refused_for_an_unknown_placeholder_and_previewed_per_customer(console, database, seeded):
    operator = console("hq_operator")
    token = csrf_of(operator.get("/content/templates/new").text)
    refused = operator.post("/content/templates", data={"csrf_token": token, "name": "回访",
                                                        "text": "{nickname} 您好"})
    assert refused.status_code == 422
    assert field_error(refused.text, "template.text") == "未知的占位符 {nickname}（字段 text）"
    with database.session() as session:
        assert session.scalars(select(MessageTemplate)).all() == []
        # a walk-in customer (no staff relation, so no remark): the name is their own
        served = {c for customers in seeded[0].served.values() for c in customers}
        walk_in = next(c for c in seeded[0].customer_ids if c not in served)
        name = session.get(Customer, walk_in).name
    saved = operator.post("/content/templates", data={"csrf_token": token, "name": "回访",
                                                      "text": "{customer_name}，您好"}, follow_redirects=False)
    assert saved.status_code == 303
    preview = operator.get(saved.headers["location"] + f"?customer_id={walk_in}").text
    shown = preview.split(f'data-preview="{walk_in}">')[1].split("<")[0]
    assert (bool(name), shown) == (True, f"{name}，您好")
