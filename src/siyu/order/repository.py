"""Queries of orders and order imports.

Reads on behalf of a person go through ``scoped`` (orders follow the rule registered in
``siyu.customer.repository``: a store manager sees their stores' orders, a staff user the orders they
sold or their customers'). Order imports have no narrower rule on purpose: an import reaches the
whole corp, so only corp-wide roles see them. The import job itself, which acts for the corp and not
for a person, reads by ``corp_id`` (functions taking ``corp_id``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ARRAY, Select, String, any_, bindparam, func, literal_column, or_, select, text
from sqlalchemy.orm import Session

from siyu.identity.repository import custom_plans
from siyu.kit.db import dialect_insert
from siyu.kit.tenancy import Principal, scoped
from siyu.models.corp import Corp
from siyu.models.order import Order, OrderImport
from siyu.models.org import Department, DepartmentKind, Staff

#: order numbers per ``IN`` list: far below SQLite's bound-parameter limit
LOOKUP_BATCH = 5000


@dataclass(frozen=True)
class StoredOrder:
    """The fields of an existing order an upsert compares against."""

    id: int
    customer_id: int | None
    status: str
    amount: Decimal
    refund_amount: Decimal


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _among(session: Session, column, values: list):
    """``column IN values``: one array parameter on PostgreSQL rather than thousands of them."""
    if _is_postgresql(session):
        return column == any_(bindparam(None, values, type_=ARRAY(String())))
    return column.in_(values)


def existing_orders(session: Session, corp_id: int, platform: str, shop: str,
                    order_nos: Iterable[str]) -> dict[str, StoredOrder]:
    """The stored orders of ``platform``/``shop`` among ``order_nos``, by order number."""
    numbers = list(order_nos)
    found: dict[str, StoredOrder] = {}
    with custom_plans(session):  # a generic plan would test every order of the shop against the array
        for start in range(0, len(numbers), LOOKUP_BATCH):
            statement = select(Order.order_no, Order.id, Order.customer_id, Order.status, Order.amount,
                               Order.refund_amount).where(
                Order.corp_id == corp_id, Order.platform == platform, Order.shop == shop,
                _among(session, Order.order_no, numbers[start:start + LOOKUP_BATCH]))
            for order_no, *fields in session.execute(statement):
                found[order_no] = StoredOrder(*fields)
    return found


#: the columns an order is written with, in the order of the rows ``write_orders`` takes
ORDER_COLUMNS = ("corp_id", "customer_id", "platform", "shop", "order_no", "store_id", "staff_id", "status",
                 "category", "amount", "item_count", "paid_at", "refund_amount", "buyer_kind", "buyer_value",
                 "phone", "items", "shipped_at", "source", "created_at", "updated_at")
#: a stored order is updated only when one of these differs
COMPARED_COLUMNS = ("status", "amount", "refund_amount")
_STAGE = "order_stage"


def _upsert(statement):
    """``INSERT … ON CONFLICT (corp, platform, shop, order number) DO UPDATE`` of status, amount,
    refund (and a shipping time newly known), only where one of them differs."""
    table = Order.__table__
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["corp_id", "platform", "shop", "order_no"],
        set_={"status": excluded.status, "amount": excluded.amount, "refund_amount": excluded.refund_amount,
              "shipped_at": func.coalesce(excluded.shipped_at, table.c.shipped_at),
              "updated_at": excluded.updated_at},
        where=or_(*(table.c[name] != excluded[name] for name in COMPARED_COLUMNS)),
    )


def write_orders(session: Session, rows: list[tuple]) -> None:
    """Upsert ``rows`` (tuples in ``ORDER_COLUMNS`` order). PostgreSQL: ``COPY`` into a temporary
    staging table, then one ``INSERT … SELECT … ON CONFLICT`` — the bulk path, several times faster
    than parameter sets; SQLite: the same upsert with ``executemany``."""
    if not rows:
        return
    if not _is_postgresql(session):
        statement = _upsert(dialect_insert(session, Order.__table__))
        session.execute(statement, [dict(zip(ORDER_COLUMNS, row, strict=True)) for row in rows])
        return
    from psycopg.types.json import Json
    from sqlalchemy.dialects import postgresql

    table = Order.__table__
    dialect = postgresql.dialect()
    columns = ", ".join(f'"{name}" {table.c[name].type.compile(dialect=dialect)}' for name in ORDER_COLUMNS)
    # lives as long as the pooled connection; its rows go with each commit
    session.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGE} ({columns}) ON COMMIT DELETE ROWS"))
    items = ORDER_COLUMNS.index("items")
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(f"COPY {_STAGE} ({', '.join(ORDER_COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            if row[items] is not None:
                row = (*row[:items], Json(row[items]), *row[items + 1:])
            copy.write_row(row)
    stage = select(*(literal_column(f'{_STAGE}."{name}"') for name in ORDER_COLUMNS)).select_from(text(_STAGE))
    session.execute(_upsert(postgresql.insert(table).from_select(list(ORDER_COLUMNS), stage)))
    session.execute(text(f"TRUNCATE {_STAGE}"))


def order_ids(session: Session, corp_id: int, platform: str, shop: str,
              order_nos: list[str]) -> dict[str, tuple[int, int | None]]:
    """Order number → (order id, customer id) of stored orders."""
    statement = select(Order.order_no, Order.id, Order.customer_id).where(
        Order.corp_id == corp_id, Order.platform == platform, Order.shop == shop, Order.order_no.in_(order_nos))
    return {order_no: (order_id, customer_id) for order_no, order_id, customer_id in session.execute(statement)}


def orders_query(principal: Principal, *, platform: str | None = None, shop: str | None = None,
                 order_no: str | None = None, customer_id: int | None = None,
                 store_id: int | None = None) -> Select[Any]:
    """The principal's orders, optionally filtered."""
    statement = scoped(select(Order), Order, principal)
    for column, value in ((Order.platform, platform), (Order.shop, shop), (Order.order_no, order_no),
                          (Order.customer_id, customer_id), (Order.store_id, store_id)):
        if value is not None:
            statement = statement.where(column == value)
    return statement


def _store_code_match(codes: list[str]):
    numbers = [int(code) for code in codes if code.isdigit() and len(code) < 18]
    match = Department.name.in_(codes)
    return or_(match, Department.wecom_id.in_(numbers)) if numbers else match


def stores_by_code(session: Session, corp_id: int, codes: Iterable[str]) -> dict[str, int]:
    """Store code → store (department) id. A POS store code is the store's name or its WeCom
    department number (siyu keeps no separate code)."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    rows = session.execute(select(Department.id, Department.name, Department.wecom_id).where(
        Department.corp_id == corp_id, Department.kind == DepartmentKind.store, _store_code_match(wanted)))
    return _by_code(rows, wanted)


def _by_code(rows, wanted: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for department_id, name, wecom_id in rows:
        if wecom_id is not None and str(wecom_id) in wanted:
            found[str(wecom_id)] = department_id
        if name in wanted:
            found.setdefault(name, department_id)
    return found


def staff_by_userid(session: Session, corp_id: int, userids: Iterable[str]) -> dict[str, int]:
    """WeCom userid → staff id."""
    wanted = sorted(set(userids))
    if not wanted:
        return {}
    rows = session.execute(select(Staff.userid, Staff.id).where(Staff.corp_id == corp_id,
                                                                 Staff.userid.in_(wanted)))
    return {userid: staff_id for userid, staff_id in rows}


def stores_in_scope(session: Session, principal: Principal, store_ids: Iterable[int]) -> set[int]:
    """Those of ``store_ids`` that are departments the principal manages (any, for corp-wide roles)."""
    ids = sorted(set(store_ids))
    if not ids:
        return set()
    return set(session.scalars(scoped(select(Department.id).where(Department.id.in_(ids)), Department, principal)))


def stores_in_scope_by_code(session: Session, principal: Principal, codes: Iterable[str]) -> dict[str, int]:
    """Store code → id, among the stores the principal manages."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    statement = scoped(select(Department.id, Department.name, Department.wecom_id).where(
        Department.kind == DepartmentKind.store, _store_code_match(wanted)), Department, principal)
    return _by_code(session.execute(statement), wanted)


def staff_in_scope(session: Session, principal: Principal, staff_ids: Iterable[int]) -> set[int]:
    ids = sorted(set(staff_ids))
    if not ids:
        return set()
    return set(session.scalars(scoped(select(Staff.id).where(Staff.id.in_(ids)), Staff, principal)))


def staff_in_scope_by_userid(session: Session, principal: Principal, userids: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(userids))
    if not wanted:
        return {}
    statement = scoped(select(Staff.userid, Staff.id).where(Staff.userid.in_(wanted)), Staff, principal)
    return {userid: staff_id for userid, staff_id in session.execute(statement)}


def corp_timezone(session: Session, corp_id: int) -> str:
    return session.scalar(select(Corp.timezone).where(Corp.id == corp_id)) or "Asia/Shanghai"


def corp_by_slug(session: Session, slug: str) -> Corp | None:
    return session.scalars(select(Corp).where(Corp.slug == slug)).one_or_none()


def imports_query(principal: Principal) -> Select[Any]:
    return scoped(select(OrderImport), OrderImport, principal)


def get_import(session: Session, principal: Principal, import_id: int) -> OrderImport | None:
    return session.scalars(scoped(select(OrderImport).where(OrderImport.id == import_id), OrderImport,
                                  principal)).one_or_none()


def import_for_job(session: Session, import_id: int) -> OrderImport | None:
    """The import a job names (jobs carry ids they were given by a scoped request)."""
    return session.get(OrderImport, import_id)


#: tables an order import grows (orders, the customers and identities of new buyers, their traits)
_GROWN_TABLES = ("customer_order", "customer", "identity", "customer_trait")


def refresh_statistics(session: Session) -> None:
    """Let PostgreSQL's planner see what a bulk load just added. Autovacuum analyses a table only
    some time after it grew; until then the planner believes a fresh table is nearly empty and
    joins the per-customer aggregates of the traits by nested loops, quadratic in the chunk. No-op
    on SQLite (its planner keeps no such estimates)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in _GROWN_TABLES:
        session.execute(text(f"ANALYZE {table}"))


def customers_with_orders_written_since(session: Session, corp_id: int, moment) -> set[int]:
    """Customers with an order inserted or changed at or after ``moment`` (what a resumed import
    owes the traits; any other writer's customers in the window are recomputed too — harmless)."""
    statement = select(Order.customer_id).where(Order.corp_id == corp_id, Order.updated_at >= moment,
                                                Order.customer_id.is_not(None)).distinct()
    return set(session.scalars(statement))
