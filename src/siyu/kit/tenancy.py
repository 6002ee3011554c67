"""Who is asking, and the one place where tenant and data scopes are applied to queries.

Every repository builds its statements through ``scoped``: it always filters by ``corp_id`` and then
applies the data-scope rule registered for the model (a store manager sees their department
subtree; a staff user sees their own customers). A model without a registered rule is visible to
the whole corp only for roles with corp-wide scope, and to nobody else.

Scope rules decide by ``department_path`` (set only for store managers) and ``staff_id``; the
principal is built so that a role never carries a wider scope than it is entitled to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, false, or_

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
    #: Materialised path (``/1/4/``) of the subtree a store manager manages; ``None`` for every other
    #: role, so a department set on, say, a staff user never widens their scope to the whole store.
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


def scoped(statement: Select[Any], model: type, principal: Principal, *,
           include_system: bool = False) -> Select[Any]:
    """``statement`` limited to ``principal``'s corp and data scope.

    ``include_system`` also admits rows without a corp (``corp_id`` NULL: system-wide work such as
    maintenance jobs, which carry no tenant data); they are still subject to the data-scope rule.
    """
    if include_system:
        statement = statement.where(or_(model.corp_id == principal.corp_id, model.corp_id.is_(None)))
    else:
        statement = statement.where(model.corp_id == principal.corp_id)
    if principal.corp_wide:
        return statement
    rule = _rules.get(model)
    if rule is None:
        return statement.where(false())
    return rule(statement, principal)
