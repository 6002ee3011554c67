"""The console's WeCom settings page: the connection form (secrets never shown back), the connection
test, sync status, and the callback log with filters and the replay button."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from siyu.models import SyncStatus, WeComCallback, WeComConnection, WeComSyncRun
from tests.integrations.wecom.conftest import EMULATOR_CORP

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match
    return match.group(1)


def _rows(html: str) -> list[tuple[str, str]]:
    return re.findall(r'data-callback="(\d+)" data-callback-status="(\w+)"', html)


def _save(console_client, **fields):
    page = console_client.get("/settings/wecom").text
    form = {"csrf_token": _csrf(page), "wecom_corp_id": "wwAlpha0001", "agent_id": "", "contact_secret": "",
            "address_book_secret": "", "callback_token": "", "encoding_aes_key": "", "api_base": "",
            "broadcast_quota_rule": "daily", **fields}
    return console_client.post("/settings/wecom/connection", data=form, follow_redirects=False)


def test_the_page_shows_the_callback_url_and_an_empty_form(console, brand, settings):
    page = console("admin").get("/settings/wecom")
    assert page.status_code == 200
    assert f"<code data-callback-url>{settings.public_base_url}/wecom/callback/{brand[0].corp_id}</code>" in page.text
    assert "data-no-connection" in page.text
    assert 'data-area="wecom" aria-current="page"' in page.text


def test_saving_the_form_stores_secrets_and_never_shows_them(console, database, brand):
    admin = console("admin")
    response = _save(admin, contact_secret="ContactSecretXYZ", callback_token="Tok3nXYZ", encoding_aes_key=AES_KEY)
    assert (response.status_code, response.headers["location"]) == (303, "/settings/wecom?notice=saved")
    page = admin.get("/settings/wecom?notice=saved").text
    assert 'data-notice="saved"' in page
    assert re.findall(r'data-secret="(\w+)" data-set="(\w+)"', page) == [
        ("contact_secret", "yes"), ("address_book_secret", "no"), ("callback_token", "yes"),
        ("encoding_aes_key", "yes")]
    assert not any(secret in page for secret in ("ContactSecretXYZ", "Tok3nXYZ", AES_KEY))
    with database.session() as session:
        stored = session.scalars(select(WeComConnection)).one()
    assert (stored.corp_id, stored.wecom_corp_id) == (brand[0].corp_id, "wwAlpha0001")


def test_a_refused_form_explains_the_field_and_echoes_no_secret(console, database):
    admin = console("admin")
    response = _save(admin, contact_secret="TypedButRefused", encoding_aes_key="too-short")
    assert response.status_code == 422
    field = response.text.split('data-field="connection.encoding_aes_key"', 1)[1].split("</label>", 1)[0]
    assert 'class="field-error"' in field
    assert "TypedButRefused" not in response.text and "too-short" not in response.text
    with database.session() as session:
        assert session.scalars(select(WeComConnection)).all() == []


def test_the_page_is_english_on_request(console):
    admin = console("admin")
    admin.get("/lang/en")
    page = admin.get("/settings/wecom").text
    assert "Callback log" in page and "Not connected to WeCom yet." in page


def test_non_admins_cannot_open_the_page(console):
    for role in ("hq_operator", "store_manager", "staff"):
        assert console(role).get("/settings/wecom").status_code == 403


def test_the_connection_test_button_reports_in_place(console, wecom_emulator):
    wecom_emulator.seed(departments=1, staff=2, customers=0, groups=0)
    admin = console("admin")
    _save(admin, wecom_corp_id=EMULATOR_CORP, contact_secret=wecom_emulator.contact_secret,
          api_base=wecom_emulator.base_url)
    page = admin.get("/settings/wecom").text
    assert 'data-test-result="never"' in page
    result = admin.post("/settings/wecom/test", data={"csrf_token": _csrf(page)}, headers={"HX-Request": "true"})
    assert result.status_code == 200
    assert 'data-test-result="ok"' in result.text and "gettoken ok; follow users: 2" in result.text
    assert 'data-test-result="ok"' in admin.get("/settings/wecom").text


def test_sync_status_and_history(console, database, brand, clock):
    with database.session() as session:
        session.add(WeComSyncRun(corp_id=brand[0].corp_id, kind="full", status=SyncStatus.done, phase="done",
                                 counts={"customers": 120}, started_at=clock.now(),
                                 finished_at=clock.now() + timedelta(minutes=3)))
        session.add(WeComSyncRun(corp_id=brand[0].corp_id, kind="incremental", status=SyncStatus.failed,
                                 phase="groups", error="errcode 45009", started_at=clock.now() + timedelta(hours=1)))
    page = console("admin").get("/settings/wecom").text
    with database.session() as session:
        run_ids = [str(i) for i in session.scalars(select(WeComSyncRun.id).order_by(WeComSyncRun.id.desc()))]
    assert re.findall(r'data-sync-run="(\d+)"', page) == run_ids
    status = page.split("data-sync-status>", 1)[1].split("</div>", 1)[0]
    assert "最近一次：增量同步，失败，开始于 2026-01-05 18:00" in status  # shown in the corp's zone (UTC+8)
    assert "<code class=\"error-text\">errcode 45009</code>" in page


def test_the_callback_log_filters_and_replays(console, callback_log, database):
    admin = console("admin")
    page = admin.get("/settings/wecom").text
    assert _rows(page) == [(str(callback_log["rejected"]), "rejected"), (str(callback_log["duplicate"]), "duplicate"),
                           (str(callback_log["stored"]), "received")]
    # Only stored events carry a replay button
    assert page.count('data-action="replay"') == 1
    rejected = admin.get("/settings/wecom/callbacks/rows", params={"status": "rejected"}).text
    assert _rows(rejected) == [(str(callback_log["rejected"]), "rejected")]
    # Replaying from the log (htmx) answers with the row, queued again
    row = admin.post(f"/settings/wecom/callbacks/{callback_log['stored']}/replay", data={"csrf_token": _csrf(page)},
                     headers={"HX-Request": "true"})
    assert row.status_code == 200
    assert _rows(row.text) == [(str(callback_log["stored"]), "received")]
    assert 'class="flash"' in row.text
    with database.session() as session:
        assert session.get(WeComCallback, callback_log["stored"]).replay_count == 1


def test_replaying_a_rejected_row_is_refused_in_the_row(console, callback_log, database):
    admin = console("admin")
    page = admin.get("/settings/wecom").text
    row = admin.post(f"/settings/wecom/callbacks/{callback_log['rejected']}/replay",
                     data={"csrf_token": _csrf(page)}, headers={"HX-Request": "true"})
    assert row.status_code == 409
    assert "只有已入库的事件可以重放" in row.text
    with database.session() as session:
        assert session.get(WeComCallback, callback_log["rejected"]).replay_count == 0
