"""Corp A can read or change nothing of corp B through any route under /api/v1.

The routes are enumerated from the application, not listed here: every route with a path parameter
is called with the id of a corp B object, every collection is read and searched for corp B ids, and
every write is tried with references to corp B's objects (in nested objects of the body too). A new
endpoint is therefore covered the day it is added — or this module fails until its path parameters and
id fields are declared below. A domain's declarations and its sample objects live in
``tests/<domain>/tenancy_objects.py``, merged here.
"""

from __future__ import annotations

import copy
import re
import types
import typing
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from sqlalchemy import inspect, select

from siyu.jobs import repository as jobs_repository
from siyu.kit.db import Base
from siyu.kit.security import new_api_token
from siyu.kit.tenancy import Principal
from siyu.models import ApiToken, Corp, Customer, Department, Job, JobStatus, Order, Role, Staff, User
from siyu.models.customer import Identity
from siyu.models.event import Event, IngestBatch, IngestSource
from siyu.models.identity import CustomerMerge
from siyu.models.order import OrderImport
from siyu.models.tag import Tag, TagGroup, TagHistory
from siyu.models.wecom import CallbackStatus, SyncStatus, WeComCallback, WeComConnection, WeComSyncRun
from tests.acquisition import tenancy_objects as acquisition
from tests.auth.bearer import bearer
from tests.broadcast import tenancy_objects as broadcast
from tests.content import tenancy_objects as content
from tests.factories import BrandFixture, api_token
from tests.journey import tenancy_objects as journey
from tests.loyalty import tenancy_objects as loyalty

API_PREFIX = "/api/v1"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
#: The domains whose declarations and sample objects live in tests/<domain>/tenancy_objects.py.
DOMAINS = (journey, acquisition, loyalty, broadcast, content)

#: Which table an id field names, wherever it appears: path parameter, query parameter, request body
#: or response. A new ``*_id`` field must be declared here, which puts it under these tests.
REFERENCES: dict[str, type] = {
    "corp_id": Corp,
    "department_id": Department,
    "parent_id": Department,
    "store_id": Department,
    "home_store_id": Department,
    "staff_id": Staff,
    "user_id": User,
    "customer_id": Customer,
    "order_id": Order,
    "job_id": Job,
    "token_id": ApiToken,
    "callback_id": WeComCallback,
    "identity_id": Identity,
    "merge_id": CustomerMerge,
    "survivor_id": Customer,
    "merged_id": Customer,
    "undone_by_user_id": User,
    "import_id": OrderImport,
    "tag_id": Tag,
    "group_id": TagGroup,
    "source_id": IngestSource,
    **journey.REFERENCES,
    **acquisition.REFERENCES_ISSUE_8,
    **loyalty.REFERENCES,
    **broadcast.REFERENCES,
    **content.REFERENCES,
}
#: ``*_id`` fields that are not ids of our rows.
NOT_REFERENCES = {
    "wecom_id",  # WeCom's own department number
    "wecom_corp_id",  # WeCom's corp id (ww…)
    "agent_id",  # WeCom's application id
    *acquisition.NOT_REFERENCES_ISSUE_8,
}
#: Path parameters that name a file format, not an object, with the value they are called with: a route
#: with only these is a collection (a download, see DOWNLOADS).
FORMAT_PARAMETERS = {"kind": "csv"}
#: The table behind the items (or the object) a route returns, by schema name, for the ``id`` key.
ITEM_TABLES: dict[str, type | None] = {
    "Me": None,
    "ApiTokenOut": ApiToken,
    "ApiTokenCreated": ApiToken,
    "Department": Department,
    "Staff": Staff,
    "User": User,
    "Customer": Customer,
    "Order": Order,
    "Job": Job,
    "Connection": None,
    "Callback": WeComCallback,
    "SyncRun": WeComSyncRun,
    "Identity": Identity,
    "CustomerMerge": CustomerMerge,
    "IdentityRule": None,
    "OrderRecord": Order,
    "OrderImportReport": OrderImport,
    "Tag": Tag,
    "TagGroup": TagGroup,
    "CustomerTag": None,
    "TagHistoryEntry": TagHistory,
    "CustomerTraits": None,
    "TraitSettings": None,
    "RefreshQueued": None,
    "Source": IngestSource,
    "SourceWithKey": IngestSource,
    "SourceEvent": Event,
    "SourceBatch": IngestBatch,
    **journey.ITEM_TABLES,
    **acquisition.ITEM_TABLES_ISSUE_8,
    **loyalty.ITEM_TABLES,
    **broadcast.ITEM_TABLES,
    **content.ITEM_TABLES,
}
#: Values for body fields that a made-up value would not fit: an enum choice that would be refused
#: for a reason unrelated to tenancy (an hq must be a root, so a department with a parent is a store),
#: or a string with a fixed format.
PREFERRED_VALUES: dict[str, Any] = {
    "kind": "store",
    "role": Role.hq_operator.value,
    "encoding_aes_key": "a" * 43,
    # nothing listens there: a connection test fails at once, without leaving the machine
    "api_base": "http://127.0.0.1:9/",
    # lifecycle thresholds must grow (new ≤ active < lost)
    "lost_days": 365,
    # uploads (multipart; see UPLOADS): the corp B sweep sends no file, the segment is looked up first
    "file": None,
    # POST /orders takes {"orders": [...]}: one order of corp A's own (no store: the admin's is corp-wide)
    "orders": [{"platform": "pos", "order_no": "tenancy-probe", "amount": "1.00",
                "paid_at": "2026-01-02T10:00:00+08:00"}],
    **acquisition.PREFERRED_VALUES,
    **loyalty.PREFERRED_VALUES,
    **broadcast.PREFERRED_VALUES,
}
#: Routes that find one object by a natural key (404 when nothing matches), not collections; their
#: tenancy is tested with their domain (tests/identity).
LOOKUPS = {"GET /api/v1/identities/lookup"}
#: Collections served as a file download (CSV/XLSX), not JSON; their scope is tested with their domain
#: (tests/customer/test_customer_360_export.py).
DOWNLOADS = {"GET /api/v1/customers/export", *acquisition.DOWNLOADS_ISSUE_8}
#: Write routes whose body is a multipart upload, not JSON; their tenancy is tested with their domain
#: (tests/order/test_import_api.py).
UPLOADS = {"POST /api/v1/segments/{segment_id}/upload", "POST /api/v1/order-imports"}
#: References to another corp's object refused as invalid input (422) rather than not found (404): a
#: code's members must be active staff of the corp, one error for "no such staff" and "has left"
#: (tests/acquisition/test_channel_codes.py). Still refused naming the field, with nothing changed.
INVALID_REFERENCES = {"POST /api/v1/channel-codes members.0.staff_id"}
#: Columns that change on a read (the token in use is stamped), excluded from "nothing changed".
VOLATILE_COLUMNS = {("api_token", "last_used_at"), ("api_token", "updated_at")}


@dataclass
class Corps:
    a: BrandFixture
    b: BrandFixture
    #: the object each reference names, per corp: the sample a route is called with
    a_objects: dict[str, int]
    b_objects: dict[str, int]
    headers: dict[str, str]


def _corp_objects(session, brand: BrandFixture) -> dict[str, int]:
    """One object of ``brand`` per reference, in a state where every write on it would succeed."""
    job = Job(corp_id=brand.corp_id, name="test.tenancy", args={}, status=JobStatus.dead,
              due_at=datetime(2026, 1, 1, tzinfo=UTC), attempts=8, last_error="boom")
    _, token_hash, prefix = new_api_token()
    token = ApiToken(corp_id=brand.corp_id, user_id=brand.users["admin"], name="spare", token_hash=token_hash,
                     prefix=prefix)
    moment = datetime(2026, 1, 2, tzinfo=UTC)
    callback = WeComCallback(corp_id=brand.corp_id, event_key=f"test-{brand.slug}",
                             status=CallbackStatus.failed, event="change_external_contact",
                             payload_xml="<xml/>", received_at=moment, reason="boom")
    connection = WeComConnection(corp_id=brand.corp_id, wecom_corp_id=f"ww{brand.slug}",
                                 api_base=PREFERRED_VALUES["api_base"])
    sync_run = WeComSyncRun(corp_id=brand.corp_id, kind="full", status=SyncStatus.done, started_at=moment)
    order_import = OrderImport(corp_id=brand.corp_id, platform="taobao", shop="", filename="orders.csv",
                               mapping={}, status="done", rejects_sample=[])
    session.add_all([job, token, callback, connection, sync_run, order_import])
    session.flush()
    # a customer merged into the first one, and that merge, which can be undone
    merged_away = Customer(corp_id=brand.corp_id, name="merged", merged_into_id=brand.customer_ids[0])
    session.add(merged_away)
    session.flush()
    merge = CustomerMerge(corp_id=brand.corp_id, survivor_id=brand.customer_ids[0], merged_id=merged_away.id,
                          reason="manual", moved={}, merged_at=moment)
    session.add(merge)
    session.flush()
    identity_id = session.scalar(select(Identity.id).where(Identity.customer_id == brand.customer_ids[0]))
    tag_group = TagGroup(corp_id=brand.corp_id, name=f"{brand.slug} 兴趣")
    session.add(tag_group)
    session.flush()
    tag = Tag(corp_id=brand.corp_id, group_id=tag_group.id, name="烘焙", kind="manual")
    session.add(tag)
    ingest_source = IngestSource(corp_id=brand.corp_id, name=f"{brand.slug} app", write_key_hash=f"hash-{brand.slug}",
                                 write_key_prefix="sk_probe")
    session.add(ingest_source)
    session.flush()
    return {
        "corp_id": brand.corp_id,
        "department_id": brand.store_ids[0],
        "parent_id": brand.branch_id,
        "store_id": brand.store_ids[0],
        "home_store_id": brand.store_ids[0],
        "staff_id": brand.staff_ids[0],
        "user_id": brand.users["hq_operator"],
        "customer_id": brand.customer_ids[0],
        "order_id": brand.order_ids[0],
        "job_id": job.id,
        "token_id": token.id,
        "callback_id": callback.id,
        "identity_id": identity_id,
        "merge_id": merge.id,
        "survivor_id": brand.customer_ids[1],
        "merged_id": brand.customer_ids[2],
        "undone_by_user_id": brand.users["hq_operator"],
        "import_id": order_import.id,
        "tag_id": tag.id,
        "blacklist_tag_id": tag.id,
        "group_id": tag_group.id,
        "source_id": ingest_source.id,
        **journey.journey_objects(session, brand),
        **acquisition.acquisition_objects(session, brand),
        **loyalty.loyalty_objects(session, brand),
        **broadcast.broadcast_objects(session, brand),
        **content.content_objects(session, brand),
    }


@pytest.fixture
def corps(database, client, brand) -> Corps:
    corp_a, corp_b = brand
    with database.session() as session:
        a_objects, b_objects = _corp_objects(session, corp_a), _corp_objects(session, corp_b)
    assert set(a_objects) == set(REFERENCES), "every declared reference needs a sample object"
    headers = api_token(client, corp_a, "admin")
    # The first call stamps the token's last_used_at; later calls leave every row as it is.
    assert client.get(f"{API_PREFIX}/me", headers=headers).status_code == 200
    return Corps(corp_a, corp_b, a_objects, b_objects, headers)


@dataclass
class ApiRoute:
    method: str
    path: str
    path_parameters: list[str]
    query_parameters: list[str]
    body_model: type[BaseModel] | None
    response_model: Any

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def id_parameters(self) -> list[str]:
        """The path parameters that name an object."""
        return [name for name in self.path_parameters if name not in FORMAT_PARAMETERS]

    def url(self, objects: dict[str, int]) -> str:
        values = {**objects, **FORMAT_PARAMETERS}
        return re.sub(r"\{(\w+)(:\w+)?\}", lambda match: str(values[match.group(1)]), self.path)


def api_routes(app) -> list[ApiRoute]:
    """Every route of the app under /api/v1, one entry per method."""
    routes = []
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute) or not context.path.startswith(API_PREFIX):
            continue
        body = context.body_field.field_info.annotation if context.body_field else None
        for method in sorted(context.methods):
            routes.append(ApiRoute(method, context.path, [p.name for p in context.dependant.path_params],
                                   [p.name for p in context.dependant.query_params], body,
                                   context.response_model))
    assert routes, "no routes found under /api/v1"
    return routes


def snapshot(database) -> dict[str, list[tuple]]:
    """Every row of every table (but the volatile columns), to prove a refused call changed nothing."""
    existing = set(inspect(database.engine).get_table_names())
    rows = {}
    with database.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name not in existing:
                continue
            columns = [c for c in table.columns if (table.name, c.name) not in VOLATILE_COLUMNS]
            statement = select(*columns).order_by(*table.primary_key.columns)
            rows[table.name] = [tuple(row) for row in connection.execute(statement)]
    return rows


def corp_rows(database, corp_id: int) -> dict[str, list[tuple]]:
    """Every row that carries ``corp_id``, table by table."""
    existing = set(inspect(database.engine).get_table_names())
    rows = {}
    with database.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name in existing and "corp_id" in table.columns:
                statement = (table.select().where(table.c.corp_id == corp_id)
                             .order_by(*table.primary_key.columns))
                rows[table.name] = [tuple(row) for row in connection.execute(statement)]
    return rows


def corp_ids(database, corp_id: int) -> dict[type, set[int]]:
    """The ids of every row of ``corp_id``, per referenced table."""
    ids: dict[type, set[int]] = {}
    with database.engine.connect() as connection:
        for model in set(REFERENCES.values()) | {table for table in ITEM_TABLES.values() if table}:
            if model is Corp:
                ids[model] = {corp_id}
            else:
                ids[model] = set(connection.scalars(select(model.id).where(model.corp_id == corp_id)))
    return ids


def _unwrap_optional(annotation: Any) -> Any:
    """``X`` for ``X | None``."""
    arguments = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(arguments) == 1:
        return arguments[0]
    return annotation


def _string_value(name: str, metadata: list[Any], route: ApiRoute) -> str:
    minimum = max([getattr(m, "min_length", None) or 0 for m in metadata] + [8])
    maximum = min([getattr(m, "max_length", None) or 64 for m in metadata] + [64])
    value = (f"probe{name.replace('_', '')}" * 4)[:max(minimum, min(maximum, 16))]
    for pattern in [getattr(m, "pattern", None) for m in metadata if getattr(m, "pattern", None)]:
        assert re.fullmatch(pattern, value), f"{route}: no value for {name}; add one to PREFERRED_VALUES"
    return value


def _accepts(annotation: Any, value: Any) -> bool:
    """Whether a preferred value fits a field: one of its choices for a Literal or an Enum (a "kind"
    of another model may have other choices), a value of its type for a plain type (a "priority" may be
    a number or a name); any value for other types."""
    if typing.get_origin(annotation) is typing.Literal:
        return value in typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return value in {member.value for member in annotation}
    if annotation in (bool, int, str):
        return type(value) is annotation
    return True


def synthesise_body(route: ApiRoute, objects: dict[str, int]) -> dict[str, Any] | None:
    """A body that passes validation, every field set (so an update really tries to change things)
    and every id field pointing at ``objects``."""
    if route.body_model is None:
        return None
    return _model_value(route.body_model, objects, route)


def _model_value(model: type[BaseModel], objects: dict[str, int], route: ApiRoute) -> dict[str, Any]:
    """Every field of ``model`` set; a nested model is made up the same way (a list of them: one)."""
    body: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        annotation = _unwrap_optional(field.annotation)
        item = typing.get_args(annotation)[0] if typing.get_origin(annotation) is list else None
        if name.endswith("_id") and name not in NOT_REFERENCES:
            assert name in REFERENCES, f"{route}: declare which table body field {name!r} refers to"
            body[name] = objects[name]
        elif name in PREFERRED_VALUES and _accepts(annotation, PREFERRED_VALUES[name]):
            body[name] = copy.deepcopy(PREFERRED_VALUES[name])  # a probe may change it
        elif typing.get_origin(annotation) is typing.Literal:
            body[name] = typing.get_args(annotation)[0]
        elif isinstance(annotation, type) and issubclass(annotation, Enum):
            body[name] = next(iter(annotation)).value
        elif annotation is bool:
            body[name] = False
        elif annotation is str:
            body[name] = _string_value(name, field.metadata, route)
        elif annotation in (int, float, Decimal):
            body[name] = 1
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            body[name] = _model_value(annotation, objects, route)
        elif isinstance(item, type) and issubclass(item, BaseModel):
            body[name] = [_model_value(item, objects, route)]
        elif typing.get_origin(annotation) in (dict, list) or annotation in (dict, list):
            body[name] = (typing.get_origin(annotation) or annotation)()
        else:
            pytest.fail(f"{route}: cannot make up a value for body field {name!r} ({annotation})")
    return body


def _item_table(route: ApiRoute) -> type | None:
    model = route.response_model
    if typing.get_origin(model) is list:
        model = typing.get_args(model)[0]
    generic = getattr(model, "__pydantic_generic_metadata__", None) or {}
    if generic.get("args"):
        model = generic["args"][0]
    assert model.__name__ in ITEM_TABLES, f"{route}: declare the table behind {model.__name__} in ITEM_TABLES"
    return ITEM_TABLES[model.__name__]


def references_in(value: Any, item_table: type | None, route: ApiRoute) -> list[tuple[type, int]]:
    """Every (table, id) a response mentions: the items' own ids and every ``*_id`` field."""
    found: list[tuple[type, int]] = []
    if isinstance(value, list):
        for item in value:
            found += references_in(item, item_table, route)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "id" and item_table is not None and isinstance(item, int):
                found.append((item_table, item))
            elif key.endswith("_id") and key not in NOT_REFERENCES and isinstance(item, int):
                assert key in REFERENCES, f"{route}: declare which table response field {key!r} refers to"
                found.append((REFERENCES[key], item))
            elif isinstance(item, dict | list):
                # nested objects are not items of the collection: only their *_id fields are known
                found += references_in(item, None, route)
    return found


def test_no_domain_redeclares_a_name_another_one_declared_otherwise():
    # given the declarations of every domain module (of dicts merged into one, the last silently wins)
    declared: dict[tuple[str, str], list[tuple[str, Any]]] = {}
    for module in DOMAINS:
        for attribute, entries in vars(module).items():
            kind = next((k for k in ("REFERENCES", "ITEM_TABLES", "PREFERRED_VALUES") if attribute.startswith(k)),
                        None)
            if kind is not None and isinstance(entries, dict):
                for name, value in entries.items():
                    declared.setdefault((kind, name), []).append((module.__name__, value))

    # then a name two domains declare means the same to both: neither replaces the other's
    clashes = {key: owners for key, owners in declared.items()
               if len({repr(value) for _, value in owners}) > 1}
    assert clashes == {}


def test_every_path_parameter_of_the_api_is_declared(app):
    # given the application's routes
    routes = api_routes(app)

    # when their path parameters are collected
    undeclared = sorted({f"{route}: {name}" for route in routes for name in route.id_parameters
                         if name not in REFERENCES})

    # then each one names a table these tests know how to fill with a corp B object
    assert undeclared == [], "declare these path parameters in REFERENCES (and _corp_objects)"


def test_corp_b_objects_cannot_be_read_or_changed_through_any_route(app, client, database, corps):
    routes = [route for route in api_routes(app) if route.id_parameters]
    assert {str(r) for r in routes} >= {
        "GET /api/v1/customers/{customer_id}", "PATCH /api/v1/users/{user_id}",
        "DELETE /api/v1/auth/tokens/{token_id}", "POST /api/v1/jobs/{job_id}/retry",
        "POST /api/v1/loyalty/coupons/{coupon_id}/redeem", "POST /api/v1/staff-tasks/{task_id}/complete",
        "DELETE /api/v1/loyalty/levels/{level_id}", "DELETE /api/v1/channel-codes/{code_id}",
        "POST /api/v1/broadcasts/{broadcast_id}/cancel",
    }
    for route in routes:
        # given corp B's objects, each in a state where the call would succeed for corp B
        before = snapshot(database)

        # when corp A's admin calls the route with their ids (and a body naming corp B's objects)
        response = client.request(route.method, route.url(corps.b_objects), headers=corps.headers,
                                  json=synthesise_body(route, corps.b_objects))

        # then it is not found, and nothing changed anywhere
        expected = {404, 403} if route.method in WRITE_METHODS else {404}
        assert response.status_code in expected, f"{route}: {response.status_code} {response.text}"
        assert response.json()["error"]["code"] in {"not_found", "forbidden"}, route
        assert snapshot(database) == before, f"{route} changed data"


def test_collections_never_list_corp_b_rows(app, client, database, corps):
    b_ids = corp_ids(database, corps.b.corp_id)
    a_ids = corp_ids(database, corps.a.corp_id)
    routes = [route for route in api_routes(app) if route.method == "GET" and not route.id_parameters
              and str(route) not in LOOKUPS | DOWNLOADS]
    assert {str(r) for r in routes} >= {
        "GET /api/v1/customers", "GET /api/v1/staff", "GET /api/v1/users", "GET /api/v1/departments",
        "GET /api/v1/jobs", "GET /api/v1/auth/tokens",
    }
    for route in routes:
        item_table = _item_table(route)
        # given the plain collection, and the collection filtered by each corp B id it accepts
        filters = [name for name in route.query_parameters if name in REFERENCES]
        queries = [{}] + [{name: corps.b_objects[name]} for name in filters]
        for query in queries:
            # when corp A's admin reads it
            response = client.get(route.path, params=query, headers=corps.headers)

            # then every row and every reference in it is corp A's
            assert response.status_code == 200, f"{route} {query}: {response.text}"
            payload = response.json()
            if isinstance(payload, dict) and set(payload) == {"items", "next_cursor"}:
                payload = payload["items"]  # a page of a paginated collection
            mentioned = references_in(payload, item_table, route)
            leaked = [(table.__name__, id_) for table, id_ in mentioned if id_ in b_ids[table]]
            assert leaked == [], f"{route} {query} shows corp B rows"
            foreign = [(table.__name__, id_) for table, id_ in mentioned if id_ not in a_ids[table]]
            assert foreign == [], f"{route} {query} shows rows of no corp A table"
            if not query and item_table is not None:
                # the plain collection really lists corp A's rows: the check above is not vacuous
                assert any(table is item_table for table, _ in mentioned), f"{route} listed nothing"


def _reference_paths(model: type[BaseModel] | None) -> list[tuple[str | int, ...]]:
    """Where ``synthesise_body`` puts a reference: ``("staff_id",)`` for a field of the body,
    ``("members", 0, "staff_id")`` for one of a nested model (in a list, its one item)."""
    paths: list[tuple[str | int, ...]] = []
    for name, field in (model.model_fields.items() if model else ()):
        annotation = _unwrap_optional(field.annotation)
        item = typing.get_args(annotation)[0] if typing.get_origin(annotation) is list else None
        if name in REFERENCES:
            paths.append((name,))
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths += [(name, *path) for path in _reference_paths(annotation)]
        elif isinstance(item, type) and issubclass(item, BaseModel):
            paths += [(name, 0, *path) for path in _reference_paths(item)]
    return paths


def _with_reference(body: dict[str, Any], path: tuple[str | int, ...], value: int) -> dict[str, Any]:
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


def _field_names(path: tuple[str | int, ...]) -> set[str]:
    """How an error may name the field at ``path``: by its own name (``staff_id``), or by its place in
    the body (``members[0].staff_id``, ``members.0.staff_id``, ``members.staff_id``)."""
    indexed = "".join(f"[{key}]" if isinstance(key, int) else f".{key}" for key in path).lstrip(".")
    return {str(path[-1]), indexed, ".".join(str(key) for key in path),
            ".".join(str(key) for key in path if not isinstance(key, int))}


def test_writes_cannot_reference_corp_b_objects(app, client, database, corps):
    routes = [route for route in api_routes(app) if route.method in WRITE_METHODS]
    probed = []
    for route in routes:
        for path in _reference_paths(route.body_model):
            name = path[-1]
            # given a valid body on corp A's objects in which one reference names corp B's object
            body = _with_reference(synthesise_body(route, corps.a_objects), path, corps.b_objects[name])
            before = snapshot(database)

            # when corp A's admin sends it
            response = client.request(route.method, route.url(corps.a_objects), headers=corps.headers,
                                      json=body)

            # then the reference is not found (or, see INVALID_REFERENCES, refused), and nothing was
            # created or changed
            where = ".".join(str(key) for key in path)
            expected = 422 if f"{route} {where}" in INVALID_REFERENCES else 404
            assert response.status_code == expected, f"{route} with corp B {where}: {response.text}"
            assert response.json()["error"]["field"] in _field_names(path), f"{route}: {response.json()}"
            assert snapshot(database) == before, f"{route} with corp B {where} changed data"
            probed.append(f"{route} {where}")
    assert set(probed) >= INVALID_REFERENCES | {
        "POST /api/v1/users department_id", "POST /api/v1/users staff_id", "POST /api/v1/staff department_id",
        "POST /api/v1/departments parent_id", "PATCH /api/v1/users/{user_id} department_id",
        "PATCH /api/v1/staff/{staff_id} department_id",
    }


def test_writes_on_corp_a_objects_succeed_and_leave_corp_b_alone(app, client, database, corps):
    # given every write route, with the body the tests above send, naming corp A's own objects
    routes = [route for route in api_routes(app)
              if route.method in WRITE_METHODS and str(route) not in UPLOADS]
    # (these need PREFERRED_VALUES naming corp A's staff, group chat and order: see tests/acquisition)
    assert {str(route) for route in routes} >= {
        "POST /api/v1/channel-codes", "POST /api/v1/group-codes", "POST /api/v1/order-bindings",
        "POST /api/v1/loyalty/coupons", "POST /api/v1/broadcasts", "PUT /api/v1/policy",
    }
    for route in routes:
        before = corp_rows(database, corps.b.corp_id)

        # when corp A's admin sends it
        response = client.request(route.method, route.url(corps.a_objects), headers=corps.headers,
                                  json=synthesise_body(route, corps.a_objects))

        # then it succeeds — the refusals above were about the other corp, not about a bad body —
        # and not one row of corp B changed
        assert 200 <= response.status_code < 300, f"{route}: {response.status_code} {response.text}"
        assert corp_rows(database, corps.b.corp_id) == before, f"{route} changed corp B's rows"


def test_corp_a_cannot_create_a_user_in_corp_b_department(client, database, corps):
    # given corp B's store
    body = {"username": "intruder", "display_name": "闯入者", "password": "long-enough-1",
            "role": "store_manager", "department_id": corps.b.store_ids[0]}

    # when corp A's admin creates a store manager for it
    response = client.post(f"{API_PREFIX}/users", json=body, headers=corps.headers)

    # then the department is not found and no user exists under that name in any corp
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert response.json()["error"]["field"] == "department_id"
    with database.session() as session:
        assert session.scalars(select(User).where(User.username == "intruder")).all() == []


def test_jobs_are_read_by_corp_wide_roles_only(client, database, corps):
    # given corp A's job, corp B's job and a system-wide job without a corp
    with database.session() as session:
        system = Job(corp_id=None, name="test.maintenance", args={}, due_at=datetime(2026, 1, 1, tzinfo=UTC))
        session.add(system)
        session.flush()
        system_id = system.id

    # when corp A's admin, store manager and staff user list jobs
    as_admin = client.get(f"{API_PREFIX}/jobs", headers=corps.headers)
    as_manager = client.get(f"{API_PREFIX}/jobs", headers=bearer(database, corps.a.users["store_manager"]))
    as_staff = client.get(f"{API_PREFIX}/jobs", headers=bearer(database, corps.a.users["staff"]))

    # then the admin sees their corp's job and the system one; the job queue is not for the scoped
    # roles (job arguments name customers and staff of the whole corp)
    assert [job["id"] for job in as_admin.json()["items"]] == [system_id, corps.a_objects["job_id"]]
    assert (as_manager.status_code, as_staff.status_code) == (403, 403)


def test_the_job_scope_holds_even_where_a_permission_would_let_a_scoped_role_in(database, corps):
    # given a store manager's principal (as a console page or a future permission would pass it on)
    manager = Principal(user_id=corps.a.users["store_manager"], corp_id=corps.a.corp_id,
                        role=Role.store_manager, department_path=f"/{corps.a.hq_id}/")

    # when jobs are queried for them, then the repository's scope returns none
    with database.session() as session:
        assert list(session.scalars(jobs_repository.jobs_query(manager))) == []
        assert jobs_repository.job_counts(session, manager) == {status.value: 0 for status in JobStatus}
