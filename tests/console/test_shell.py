"""The console shell: login, the navigation of every area, languages, CSRF and logout."""

from __future__ import annotations

import re

from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from markupsafe import escape

from siyu.console import views as console_views
from siyu.console.areas import AREAS
from siyu.kit.i18n import translate
from tests.console.conftest import csrf_of
from tests.factories import PASSWORD, csrf_token, login


def test_console_pages_send_visitors_without_a_session_to_the_login(app, seeded):
    with TestClient(app) as anonymous:
        for path in ("/", "/org", "/jobs", "/customers", "/settings/wecom"):
            response = anonymous.get(path, follow_redirects=False)
            assert (response.status_code, response.headers["location"]) == (303, f"/login?next={path}")


def test_login_page_is_chinese_by_default_and_english_after_the_switch(app, seeded):
    with TestClient(app) as visitor:
        page = visitor.get("/login").text
        assert '<html lang="zh-CN">' in page
        assert "填写用户名，或“用户名@企业标识”" in page

        switched = visitor.get("/lang/en?next=/login", follow_redirects=False)

        assert (switched.status_code, switched.headers["location"]) == (303, "/login")
        page = visitor.get("/login").text
        assert '<html lang="en">' in page
        assert "Your username, or username@corp" in page


def test_wrong_password_is_refused_with_the_reason(app, seeded):
    with TestClient(app) as visitor:
        response = login(visitor, seeded[0], "admin", password="not-the-password")

        assert response.status_code == 401
        assert 'data-error="error.login_failed">用户名或密码错误<' in response.text
        assert visitor.get("/", follow_redirects=False).status_code == 303


def test_repeated_failures_throttle_the_login_and_say_for_how_long(app, seeded):
    with TestClient(app) as visitor:
        for _ in range(5):
            assert login(visitor, seeded[0], "admin", password="guess").status_code == 401

        response = login(visitor, seeded[0], "admin", password=PASSWORD)

        assert response.status_code == 429
        assert "登录失败次数过多，请 15 分钟后再试" in response.text
        assert visitor.get("/", follow_redirects=False).status_code == 303


def test_language_switch_goes_back_to_the_page_it_was_clicked_on(console):
    admin = console("admin")

    by_next = admin.get("/lang/en", params={"next": "/org?department_id=3"}, follow_redirects=False)
    by_referer = admin.get("/lang/zh-CN", headers={"referer": "http://testserver/jobs?status=dead"},
                           follow_redirects=False)
    foreign_referer = admin.get("/lang/en", headers={"referer": "https://evil.example/phish"},
                                follow_redirects=False)
    foreign_next = admin.get("/lang/en", params={"next": "//evil.example/phish"}, follow_redirects=False)

    assert by_next.headers["location"] == "/org?department_id=3"
    assert by_referer.headers["location"] == "/jobs?status=dead"
    assert foreign_referer.headers["location"] == "/"
    assert foreign_next.headers["location"] == "/"


def test_pages_follow_the_chosen_language(console):
    admin = console("admin")
    assert "<h1>组织架构</h1>" in admin.get("/org").text

    admin.get("/lang/en?next=/org")

    page = admin.get("/org").text
    assert "<h1>Organisation</h1>" in page
    assert 'data-language="en" class="current"' in page


def test_admin_navigation_lists_every_area_in_order(console):
    page = console("admin").get("/").text

    assert re.findall(r'data-area="(\w+)"', page) == [area.key for area in AREAS]
    assert re.findall(r'class="nav-heading">([^<]+)<', page) == ["获客", "客户", "触达", "营销", "合规", "数据", "管理"]


def test_navigation_leaves_out_areas_the_role_cannot_open(console):
    page = console("staff").get("/").text

    shown = re.findall(r'data-area="(\w+)"', page)
    assert "org" not in shown and "jobs" not in shown and "wecom" not in shown and "settings" not in shown
    assert shown[:2] == ["home", "channel_codes"]


def test_every_area_opens_and_unbuilt_ones_say_so_with_their_issue(console):
    admin = console("admin")

    for area in AREAS:
        # when the admin opens the area
        response = admin.get(area.path)

        # then it opens, highlighted in the navigation: a built area on its real page, an unbuilt
        # one on the "not built yet" page naming the issue that will build it
        assert response.status_code == 200, area.path
        assert f'data-area="{area.key}" aria-current="page"' in response.text, area.path
        marker = f'data-not-built="{area.key}"'
        if area.built:
            assert marker not in response.text, area.path
            assert "此功能尚未上线" not in response.text, area.path
        else:
            issue = escape(translate(f"{area.label_key}.issue", "zh-CN"))
            assert marker in response.text, area.path
            assert "此功能尚未上线" in response.text, area.path
            assert f"将由以下议题实现：<strong>{issue}</strong>" in response.text, area.path


def test_an_area_is_marked_built_exactly_when_a_real_page_serves_it(app):
    # given the console's pages, the "not built yet" placeholders left out
    real_pages = {context.path for context in iter_route_contexts(app.routes)
                  if isinstance(context.original_route, APIRoute) and "GET" in context.methods
                  and context.original_route.endpoint.__module__ != console_views.__name__}

    # then every built area has its page, and no area with a page is still marked unbuilt
    assert [area.key for area in AREAS if area.built and area.path not in real_pages] == []
    assert [area.key for area in AREAS if not area.built and area.path in real_pages] == []


def test_placeholders_exist_exactly_for_the_areas_not_built():
    placeholder_paths = [route.path for route in console_views.router.routes if isinstance(route, APIRoute)]

    assert placeholder_paths == [area.path for area in AREAS if not area.built]


def test_an_area_the_role_lacks_is_refused_in_its_language(console):
    staff = console("staff")

    response = staff.get("/jobs")

    assert response.status_code == 403
    assert "当前角色没有此权限（jobs.read）" in response.text


def test_layout_gives_htmx_the_csrf_token_and_serves_local_assets(console):
    admin = console("admin")
    page = admin.get("/").text
    token = csrf_of(page)

    assert f'hx-headers=\'{{"X-CSRF-Token": "{token}"}}\'' in page
    assert '<script src="/static/vendor/htmx.min.js" defer></script>' in page
    assert '<script src="/static/vendor/echarts.min.js"></script>' in page
    assert "//cdn" not in page and "https://" not in page
    assert admin.get("/static/css/console.css").status_code == 200


def test_logout_needs_the_token_and_then_closes_the_session(console):
    admin = console("admin")

    refused = admin.post("/logout", data={}, follow_redirects=False)
    still_in = admin.get("/", follow_redirects=False).status_code
    logged_out = admin.post("/logout", data={"csrf_token": csrf_token(admin)}, follow_redirects=False)

    assert refused.status_code == 303 and still_in == 200
    assert (logged_out.status_code, logged_out.headers["location"]) == (303, "/login")
    assert admin.get("/", follow_redirects=False).headers["location"] == "/login?next=/"
