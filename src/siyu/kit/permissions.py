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


# Journeys (issue 7) are corp-wide automation: HQ roles change them, auditors read them.
for _role, _extra in ((Role.admin, {"journeys.read", "journeys.write"}),
                      (Role.hq_operator, {"journeys.read", "journeys.write"}), (Role.auditor, {"journeys.read"})):
    ROLE_PERMISSIONS[_role] |= _extra


# Loyalty and staff tasks: HQ roles set the programme up (levels, earn rules, coupon templates) and
# assign tasks; store managers assign tasks in their store; everyone but auditors works their tasks.
for _role, _extra in ((Role.admin, {"loyalty.write", "staff_tasks.write", "staff_tasks.work"}),
                      (Role.hq_operator, {"loyalty.write", "staff_tasks.write", "staff_tasks.work"}),
                      (Role.store_manager, {"staff_tasks.write", "staff_tasks.work"}),
                      (Role.staff, {"staff_tasks.work"})):
    ROLE_PERMISSIONS[_role] |= _extra


# Segments (issue 5) are corp-wide audience definitions: HQ roles change them; reading is customers.read.
for _role in (Role.admin, Role.hq_operator):
    ROLE_PERMISSIONS[_role] |= {"segments.write"}


# Broadcasts, moments and materials (issue 6): HQ roles send; auditors read. The contact policy is
# a corp setting (``settings.write``); everyone who reads customers may preview the gate.
for _role, _extra in ((Role.admin, {"broadcasts.read", "broadcasts.write"}),
                      (Role.hq_operator, {"broadcasts.read", "broadcasts.write"}), (Role.auditor, {"broadcasts.read"})):
    ROLE_PERMISSIONS[_role] |= _extra


def allowed(role: Role, permission: str) -> bool:
    """Whether ``role`` grants ``permission``."""
    return permission in ROLE_PERMISSIONS.get(role, set())
