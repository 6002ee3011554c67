"""Corp A cannot reach corp B's channel codes, group codes or groups through any acquisition route with
a path parameter (the samples are the ones ``tenancy_objects`` offers ``tests/test_tenancy.py``)."""

from __future__ import annotations

from tests.acquisition.tenancy_objects import acquisition_objects
from tests.factories import api_token

ROUTES = [("GET", "/api/v1/channel-codes/{code_id}"), ("GET", "/api/v1/channel-codes/{code_id}/statistics"),
          ("GET", "/api/v1/channel-codes/{code_id}/qr.png"), ("GET", "/api/v1/channel-codes/{code_id}/qr.svg"),
          ("GET", "/api/v1/channel-codes/{code_id}/poster.svg"), ("DELETE", "/api/v1/channel-codes/{code_id}"),
          ("POST", "/api/v1/group-codes/{group_code_id}/refresh"), ("GET", "/api/v1/groups/{group_chat_id}/timeline"),
          ("GET", "/api/v1/groups/{group_chat_id}/sales-concentration")]


def test_corp_b_objects_are_not_found_through_any_acquisition_route(client, database, brand):
    with database.session() as session:
        a_objects, b_objects = acquisition_objects(session, brand[0]), acquisition_objects(session, brand[1])
    headers = api_token(client, brand[0], "admin")
    for method, path in ROUTES:
        own = client.request(method, path.format(**a_objects), headers=headers)
        other = client.request(method, path.format(**b_objects), headers=headers)
        assert 200 <= own.status_code < 300, f"{method} {path}: {own.status_code} {own.text[:200]}"
        assert other.status_code == 404, f"{method} {path} with corp B's object: {other.status_code}"
