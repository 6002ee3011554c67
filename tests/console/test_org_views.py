"""The organisation page: tree, staff and users in scope; the admin's forms and their refusals."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from siyu.models import Department, Staff, User
from tests.console.conftest import csrf_of, field_error, rows


def _count(database, model, **where) -> int:
    with database.session() as session:
        statement = select(func.count()).select_from(model)
        for name, value in where.items():
            statement = statement.where(getattr(model, name) == value)
        return int(session.scalar(statement))


def _tree(html: str) -> dict[int, str]:
    """Department id → the staff count shown for it."""
    return {int(dept): count for dept, count in re.findall(
        r'data-department="(\d+)">.*?class="tree-count"[^>]*>([^<]+)<', html, flags=re.S)}


def test_admin_sees_the_tree_with_staff_counts_including_sub_departments(console, seeded):
    brand = seeded[0]

    page = console("admin").get("/org").text

    assert _tree(page) == {brand.hq_id: "3 人", brand.branch_id: "3 人", brand.store_ids[0]: "2 人",
                           brand.store_ids[1]: "1 人"}
    assert rows(page, "staff") == ["alpha-s3", "alpha-s2", "alpha-s1"]
    assert rows(page, "user") == ["staff", "store_manager", "auditor", "hq_operator", "admin"]
    assert 'data-form="department"' in page and 'data-form="staff"' in page and 'data-form="user"' in page


def test_store_manager_sees_their_subtree_and_no_forms(console, seeded):
    brand = seeded[0]

    page = console("store_manager").get("/org").text

    assert _tree(page) == {brand.store_ids[0]: "2 人"}
    assert rows(page, "staff") == ["alpha-s2", "alpha-s1"]
    assert rows(page, "user") == ["store_manager"]
    assert "data-form=" not in page


def test_users_show_their_role_and_data_scope(console):
    page = console("admin").get("/org").text

    store_manager = re.search(r'data-user="store_manager">(.*?)</tr>', page, flags=re.S).group(1)
    staff = re.search(r'data-user="staff">(.*?)</tr>', page, flags=re.S).group(1)
    assert "店长" in store_manager and "甲品牌门店1 及下级" in store_manager
    assert "导购" in staff and "导购3 的客户" in staff


def test_staff_search_and_department_filter_update_the_list(console, seeded):
    alpha, beta = seeded
    admin = console("admin")

    by_name = admin.get("/org/staff/rows", params={"q": "导购3"}).text
    by_branch = admin.get("/org/staff/rows", params={"department_id": alpha.branch_id}).text
    by_store = admin.get("/org/staff/rows", params={"department_id": alpha.store_ids[1]}).text
    other_corp = admin.get("/org/staff/rows", params={"department_id": beta.store_ids[0]}).text

    assert by_name.startswith('<div id="staff-list"')
    assert rows(by_name, "staff") == ["alpha-s3"]
    assert rows(by_branch, "staff") == ["alpha-s3", "alpha-s2", "alpha-s1"]
    assert rows(by_store, "staff") == ["alpha-s3"]
    assert rows(other_corp, "staff") == [] and "没有符合条件的员工" in other_corp


def test_staff_list_pages_with_a_cursor(console, database, seeded):
    brand = seeded[0]
    with database.session() as session:
        for number in range(22):
            session.add(Staff(corp_id=brand.corp_id, userid=f"extra-{number:02d}", name=f"新导购{number:02d}",
                              department_id=brand.store_ids[0]))
    admin = console("admin")

    first = admin.get("/org").text
    cursor = re.search(r'hx-get="/org/staff/rows\?cursor=([^"]+)"', first).group(1)
    second = admin.get("/org/staff/rows", params={"cursor": cursor}).text

    assert len(rows(first, "staff")) == 20
    assert rows(second, "staff") == ["extra-01", "extra-00", "alpha-s3", "alpha-s2", "alpha-s1"]
    assert 'id="staff-more"' not in second and "<table" not in second


def test_admin_creates_a_department_a_staff_member_and_a_user(console, database, seeded):
    brand = seeded[0]
    admin = console("admin")
    token = csrf_of(admin.get("/org").text)

    department = admin.post("/org/departments", data={"csrf_token": token, "name": "甲品牌门店3", "kind": "store",
                                                      "parent_id": str(brand.branch_id), "city": "杭州"},
                            follow_redirects=False)
    staff = admin.post("/org/staff", data={"csrf_token": token, "userid": "alpha-s4", "name": "导购4",
                                           "mobile": "", "department_id": str(brand.store_ids[1])},
                       follow_redirects=False)
    user = admin.post("/org/users", data={"csrf_token": token, "username": "guide4", "display_name": "导购四",
                                          "password": "a-long-password", "role": "staff", "department_id": "",
                                          "staff_userid": "alpha-s4", "language": "en"},
                      follow_redirects=False)

    assert (department.status_code, department.headers["location"]) == (
        303, "/org?notice=department#departments")
    assert (staff.status_code, user.status_code) == (303, 303)
    with database.session() as session:
        created = session.scalars(select(Department).where(Department.name == "甲品牌门店3")).one()
        assert (created.corp_id, created.kind.value, created.parent_id, created.city) == (
            brand.corp_id, "store", brand.branch_id, "杭州")
        member = session.scalars(select(Staff).where(Staff.userid == "alpha-s4")).one()
        assert (member.department_id, member.mobile) == (brand.store_ids[1], None)
        account = session.scalars(select(User).where(User.username == "guide4")).one()
        assert (account.role.value, account.staff_id, account.language) == ("staff", member.id, "en")
    assert "部门已创建" in admin.get("/org?notice=department").text


def test_a_missing_field_is_shown_next_to_it_and_nothing_is_created(console, database, seeded):
    admin = console("admin")
    token = csrf_of(admin.get("/org").text)

    response = admin.post("/org/departments", data={"csrf_token": token, "name": " ", "kind": "hq",
                                                    "parent_id": "", "city": ""})

    assert response.status_code == 422
    assert field_error(response.text, "department.name") == "必填"
    assert field_error(response.text, "department.kind") is None
    assert '<details class="form-panel" open>' in response.text
    # the language switch of a page drawn for a post leads back to the page, not to the post
    assert 'href="/lang/en?next=/org"' in response.text
    assert _count(database, Department) == 8


def test_a_refused_rule_is_shown_next_to_its_field_in_the_operators_language(console, database, seeded):
    brand = seeded[0]
    admin = console("admin")
    admin.get("/lang/en")
    token = csrf_of(admin.get("/org").text)

    response = admin.post("/org/departments", data={"csrf_token": token, "name": "Kiosk", "kind": "store",
                                                    "parent_id": str(brand.store_ids[0]), "city": ""})

    assert response.status_code == 422
    assert field_error(response.text, "department.parent_id") == (
        "A store cannot have sub-departments (field parent_id)")
    assert 'value="Kiosk"' in response.text
    assert _count(database, Department, name="Kiosk") == 0


def test_a_taken_staff_userid_is_refused_next_to_the_field(console, database):
    admin = console("admin")
    token = csrf_of(admin.get("/org").text)

    response = admin.post("/org/staff", data={"csrf_token": token, "userid": "alpha-s1", "name": "重名",
                                              "mobile": "", "department_id": ""})

    assert response.status_code == 409
    assert field_error(response.text, "staff.userid") == "员工账号 alpha-s1 已存在（字段 userid）"
    assert _count(database, Staff, name="重名") == 0


def test_user_form_refusals_keep_the_password_out_of_the_page(console, database, seeded):
    admin = console("admin")
    token = csrf_of(admin.get("/org").text)

    unknown_staff = admin.post("/org/users", data={
        "csrf_token": token, "username": "guide9", "display_name": "导购九", "password": "secret-password-9",
        "role": "staff", "department_id": "", "staff_userid": "nobody", "language": "zh-CN"})
    manager_without_store = admin.post("/org/users", data={
        "csrf_token": token, "username": "manager9", "display_name": "店长九", "password": "secret-password-9",
        "role": "store_manager", "department_id": "", "staff_userid": "", "language": "zh-CN"})
    short_password = admin.post("/org/users", data={
        "csrf_token": token, "username": "auditor9", "display_name": "审计九", "password": "short",
        "role": "auditor", "department_id": "", "staff_userid": "", "language": "zh-CN"})

    assert unknown_staff.status_code == 422
    assert field_error(unknown_staff.text, "user.staff_userid") == "员工不存在或不在您的管理范围内"
    assert manager_without_store.status_code == 422
    assert field_error(manager_without_store.text, "user.department_id") == (
        "店长必须指定所管理的部门（字段 department_id）")
    assert field_error(short_password.text, "user.password") == "至少 8 个字符"
    for response in (unknown_staff, manager_without_store, short_password):
        assert "secret-password-9" not in response.text and 'value="short"' not in response.text
    assert _count(database, User, corp_id=seeded[0].corp_id) == 5


def test_a_form_post_without_the_csrf_token_is_refused_and_creates_nothing(console, database):
    admin = console("admin")

    missing = admin.post("/org/departments", data={"name": "无令牌部门", "kind": "hq"})
    wrong = admin.post("/org/departments", data={"csrf_token": "forged", "name": "无令牌部门", "kind": "hq"})

    assert (missing.status_code, wrong.status_code) == (403, 403)
    assert "页面已过期或请求来源不可信，请刷新后重试" in missing.text
    assert _count(database, Department, name="无令牌部门") == 0


def test_a_store_manager_cannot_post_the_admin_forms(console, database, seeded):
    manager = console("store_manager")
    token = csrf_of(manager.get("/org").text)

    department = manager.post("/org/departments", data={"csrf_token": token, "name": "越权门店", "kind": "store",
                                                        "parent_id": str(seeded[0].store_ids[0])})
    user = manager.post("/org/users", data={"csrf_token": token, "username": "sneaky", "display_name": "越权",
                                            "password": "a-long-password", "role": "admin"})

    assert (department.status_code, user.status_code) == (403, 403)
    assert "当前角色没有此权限（org.write）" in department.text
    assert _count(database, Department, name="越权门店") == 0
    assert _count(database, User, username="sneaky") == 0
