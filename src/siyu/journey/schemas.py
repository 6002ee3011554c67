"""Input and output of the journey API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


TemplateKey = Literal["welcome", "post_purchase", "win_back", "points_expiry", "birthday", "weather"]


class JourneyTemplate(BaseModel):
    key: TemplateKey
    definition: dict[str, Any]


class JourneyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    #: the draft definition (see docs/journeys.md); omit it with ``template``
    definition: dict[str, Any] | None = None
    #: build the draft from a template instead of ``definition``
    template: TemplateKey | None = None
    #: the template's references: channel_code_id / state, coupon_template_id, segment_id, bound_tag_id …
    params: dict[str, Any] = Field(default_factory=dict)


class JourneyUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    definition: dict[str, Any] | None = None


class JourneyProblem(BaseModel):
    node: str | None
    field: str
    code: str
    message: str


class Journey(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    status: str
    live_version: int | None
    template: str | None
    draft: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    #: what stands between the draft and publishing (empty: it can be published)
    problems: list[JourneyProblem] = Field(default_factory=list)


class JourneyVersion(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    definition: dict[str, Any]
    published_at: datetime
    published_by: int | None


class PublishRequest(BaseModel):
    #: move running enrolments of earlier versions onto the new one (those at a node it keeps)
    migrate: bool = False


class MigrateRequest(BaseModel):
    from_version: int


class EnrolRequest(BaseModel):
    customer_ids: list[int] = Field(default_factory=list, max_length=10000)
    #: one customer (added to ``customer_ids``)
    customer_id: int | None = None
    context: dict[str, Any] = Field(default_factory=dict)


class JourneyEnrolResult(BaseModel):
    enrolled: list[int]
    skipped: list[int]


class SimulateRequest(BaseModel):
    days: int = Field(default=30, ge=1, le=366)
    limit: int = Field(default=5000, ge=1, le=20000)
    #: simulate the draft (default) or the live version
    source: Literal["draft", "live"] = "draft"


class JourneyNodeCount(BaseModel):
    node: str
    type: str
    entered: int
    waiting: int
    passed: int
    converted: int
    outcomes: dict[str, int]


class JourneyStats(BaseModel):
    totals: dict[str, int]
    nodes: list[JourneyNodeCount]


class JourneyEnrolment(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    status: str
    node: str
    due_at: datetime | None
    source: str
    context: dict[str, Any]
    entered_at: datetime
    node_entered_at: datetime
    converted_at: datetime | None
    ended_at: datetime | None
    exit_reason: str | None


class JourneyStep(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    node: str
    outcome: str
    branch: str | None
    detail: dict[str, Any]
    executed_at: datetime


class JourneyEnrolmentTrail(BaseModel):
    enrolment: JourneyEnrolment
    version: int
    steps: list[JourneyStep]


class ValidateRequest(BaseModel):
    definition: dict[str, Any]
