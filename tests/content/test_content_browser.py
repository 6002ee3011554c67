"""The material library and moments pages in Debian's chromium; screenshots go to
test-output/screenshots/ for a person to look at."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.console.conftest import chromium, live_server, page, seeded  # noqa: F401
from tests.console.test_console_browser import _log_in, screenshots  # noqa: F401

pytestmark = pytest.mark.browser


def test_operator_adds_materials_a_template_and_opens_the_moment_form(page, seeded, screenshots):
    # given an operator in the material library
    page.goto("/login")
    _log_in(page, seeded[0].login("hq_operator"))
    page.goto("/content/new?kind=image")
    # when they upload a GIF as an image, the refusal stands next to the file field
    page.fill("input[name=title]", "双十二海报")
    page.set_input_files("input[name=file]", files=[{"name": "poster.gif", "mimeType": "image/gif",
                                                     "buffer": b"GIF89a"}])
    page.click("[data-action=save-material]")
    expect(page.locator("[data-field='material.file'] .field-error")).to_have_text(
        "文件类型不支持，只能上传 .jpg .jpeg .png（字段 file）")
    screenshots(page, "content-upload-refused")
    # then a PNG is stored, and a text and a link material beside it
    page.set_input_files("input[name=file]", files=[{"name": "poster.png", "mimeType": "image/png",
                                                     "buffer": b"\x89PNG\r\n\x1a\n" + b"\0" * 32}])
    page.click("[data-action=save-material]")
    expect(page.locator("[data-notice=saved]")).to_be_visible()
    for kind, fields in (("text", {"textarea[name=content]": "您好，我是您的专属顾问 {staff_name}"}),
                         ("link", {"input[name=url]": "https://shop.example/sale", "input[name=desc]": "鲜果 8 折"})):
        page.goto(f"/content/new?kind={kind}")
        page.fill("input[name=title]", {"text": "欢迎语", "link": "双十二活动页"}[kind])
        for selector, value in fields.items():
            page.fill(selector, value)
        page.click("[data-action=save-material]")
        expect(page.locator("[data-notice=saved]")).to_be_visible()
    page.goto("/content/templates/new")
    page.fill("input[name=name]", "回访")
    page.fill("textarea[name=text]", "{customer_name}，您好！{staff_name} 为您留了双十二鲜果。")
    page.click("[data-action=save-template]")
    expect(page.locator("[data-preview]")).to_contain_text("您好！")
    screenshots(page, "content-template-preview")
    page.goto("/content")
    expect(page.locator("tr[data-material]")).to_have_count(3)
    expect(page.locator("[data-media=missing]")).to_have_text("待上传")
    screenshots(page, "content-library")
    page.goto("/moments/new")
    page.fill("textarea[name=text]", "新品上架：阳光玫瑰")
    screenshots(page, "moment-new")
    page.click(".topbar [data-language=en]")
    expect(page.locator("[data-action=create-moment]")).to_have_text("Create and hand to staff")
    page.goto("/content")
    screenshots(page, "content-library-en")
