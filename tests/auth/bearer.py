"""API tokens written straight to the database, for tests that need many principals: logging in
verifies an argon2 hash (~0.1 s), which the tests of login itself pay for once."""

from __future__ import annotations

from siyu.kit.db import Database
from siyu.kit.security import new_api_token
from siyu.models import ApiToken, User


def bearer(database: Database, user_id: int) -> dict[str, str]:
    """Authorization headers carrying a fresh API token of ``user_id``."""
    secret, token_hash, prefix = new_api_token()
    with database.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        session.add(ApiToken(corp_id=user.corp_id, user_id=user.id, name="test", token_hash=token_hash,
                             prefix=prefix))
    return {"Authorization": f"Bearer {secret}"}
