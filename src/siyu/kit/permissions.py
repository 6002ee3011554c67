"""What each role may do. Permissions are verbs on areas (``org.write``, ``jobs.retry``)."""

from __future__ import annotations

from siyu.models.user import Role

_READ_ALL = {"org.read", "customers.read", "jobs.read", "dashboard.read", "orders.read"}

ROLE_PERMISSIONS: dict[Role, set[str]] = {
    Role.admin: _READ_ALL | {"org.write", "users.write", "jobs.retry", "customers.write", "tokens.write",
                             "wecom.admin", "settings.write", "tags.write"},
    Role.hq_operator: _READ_ALL | {"customers.write", "tokens.write", "tags.write"},
    # The job queue is corp-wide machinery (its arguments name any customer or staff member): not a
    # store manager's to read.
    Role.store_manager: (_READ_ALL - {"jobs.read"}) | {"customers.write", "tokens.write"},
    Role.staff: {"customers.read", "dashboard.read", "orders.read", "tokens.write"},
    # Auditors read through the API too: a personal token is a credential, not a change of data.
    Role.auditor: _READ_ALL | {"tokens.write"},
}


def allowed(role: Role, permission: str) -> bool:
    """Whether ``role`` grants ``permission``."""
    return permission in ROLE_PERMISSIONS.get(role, set())
