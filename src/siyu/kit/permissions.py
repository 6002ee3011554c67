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


#: Permissions of the domains built on the foundation, by role:
#: journeys (issue 7) and segments (issue 5) are corp-wide definitions HQ roles change and auditors
#: read (reading segments is ``customers.read``); broadcasts, moments and materials (issue 6) are sent
#: by HQ roles and read by auditors (the contact policy itself is a corp setting, ``settings.write``);
#: the loyalty programme (levels, earn rules, coupon templates) is set up by HQ roles; staff tasks are
#: assigned by HQ roles and store managers (in their store) and worked by everyone but auditors.
_DOMAIN_PERMISSIONS: dict[Role, set[str]] = {
    Role.admin: {"journeys.read", "journeys.write", "segments.write", "broadcasts.read", "broadcasts.write",
                 "loyalty.write", "staff_tasks.write", "staff_tasks.work"},
    Role.hq_operator: {"journeys.read", "journeys.write", "segments.write", "broadcasts.read",
                       "broadcasts.write", "loyalty.write", "staff_tasks.write", "staff_tasks.work"},
    Role.store_manager: {"staff_tasks.write", "staff_tasks.work"},
    Role.staff: {"staff_tasks.work"},
    Role.auditor: {"journeys.read", "broadcasts.read"},
}
for _role, _extra in _DOMAIN_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] |= _extra


def allowed(role: Role, permission: str) -> bool:
    """Whether ``role`` grants ``permission``."""
    return permission in ROLE_PERMISSIONS.get(role, set())
