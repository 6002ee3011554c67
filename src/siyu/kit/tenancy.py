"""Who is asking, and the one place where tenant and data scopes are applied to queries.

Every repository builds its statements through ``scoped``: it always filters by ``corp_id`` and then
applies the data-scope rule registered for the model (a store manager sees their department
subtree; a staff user sees their own customers). A model without a registered rule is visible to
the whole corp only for roles with corp-wide scope, and to nobody else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, false

from siyu.models.user import Role

CORP_WIDE_ROLES = frozenset({Role.admin, Role.hq_operator, Role.auditor})


@dataclass(frozen=True)
class Principal:
    """The authenticated user behind a request or job."""

    user_id: int
    corp_id: int
    role: Role
    username: str = ""
    display_name: str = ""
    department_id: int | None = None
    #: Materialised path of ``department_id`` (``/1/4/``) for subtree checks.
    department_path: str | None = None
    staff_id: int | None = None
    language: str = "zh-CN"

    @property
    def corp_wide(self) -> bool:
        return self.role in CORP_WIDE_ROLES

    def can(self, permission: str) -> bool:
        from siyu.kit.permissions import allowed

        return allowed(self.role, permission)


ScopeRule = Callable[[Select, Principal], Select]
_rules: dict[type, ScopeRule] = {}
T = TypeVar("T")


def data_scope(model: type) -> Callable[[ScopeRule], ScopeRule]:
    """Register how ``model`` rows are narrowed for store managers and staff."""

    def register(rule: ScopeRule) -> ScopeRule:
        _rules[model] = rule
        return rule

    return register


def scoped(statement: Select[Any], model: type, principal: Principal) -> Select[Any]:
    """``statement`` limited to ``principal``'s corp and data scope."""
    statement = statement.where(model.corp_id == principal.corp_id)
    if principal.corp_wide:
        return statement
    rule = _rules.get(model)
    if rule is None:
        return statement.where(false())
    return rule(statement, principal)
