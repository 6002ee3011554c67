"""Input and output of the identity API: identities, merges and identity rules."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from siyu.identity.rules import UNLIMITED
from siyu.models.customer import IdentityKind


class Identity(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    kind: str
    value: str
    created_at: datetime


class IdentityAttach(BaseModel):
    """An identity to attach by hand; the value is normalised (phones to 11 digits)."""

    identity_kind: IdentityKind
    value: str = Field(min_length=1, max_length=128)


class CustomerMerge(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    survivor_id: int
    merged_id: int
    reason: str
    identity_kind: str | None
    identity_value: str | None
    #: row ids moved per table; ``<table>:kept`` rows stayed on the merged customer (the survivor
    #: had their twin); ``customer:filled`` lists profile fields copied to the survivor
    moved: dict[str, list[int | str]]
    merged_at: datetime
    undone_at: datetime | None
    undone_by_user_id: int | None
    note: str | None


class MergeRequest(BaseModel):
    survivor_id: int
    merged_id: int
    note: str | None = Field(default=None, max_length=500)


class IdentityRule(BaseModel):
    """The effective rule of a kind; ``max_per_customer`` null means no limit."""

    kind: str
    max_per_customer: int | None
    priority: int
    merge_key: bool
    blocked_values: list[str]
    customised: bool

    @classmethod
    def of(cls, rule) -> IdentityRule:
        return cls(kind=rule.kind, priority=rule.priority, merge_key=rule.merge_key,
                   max_per_customer=None if rule.max_per_customer == UNLIMITED else rule.max_per_customer,
                   blocked_values=list(rule.blocked_values), customised=rule.customised)


class IdentityRuleChange(BaseModel):
    kind: IdentityKind
    max_per_customer: int | None = Field(default=None, ge=1, le=10_000)
    priority: int = Field(ge=0, le=10_000)
    merge_key: bool = True
    blocked_values: list[Annotated[str, Field(max_length=128)]] = Field(default_factory=list, max_length=1000)


class IdentityRulesUpdate(BaseModel):
    """Rules to store, one per kind; kinds not listed keep their rule."""

    rules: list[IdentityRuleChange] = Field(max_length=len(IdentityKind))
