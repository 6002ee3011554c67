"""All ORM models. Importing this package registers every table on ``Base.metadata``."""

from siyu.models.corp import Corp
from siyu.models.customer import Customer, Identity, IdentityKind, Relation, RelationStatus
from siyu.models.job import Job, JobStatus, OutboxMessage, OutboxStatus
from siyu.models.order import Order
from siyu.models.org import Department, DepartmentKind, Staff, StaffStatus
from siyu.models.user import ApiToken, LoginAttempt, Role, User

__all__ = [
    "ApiToken", "Corp", "Customer", "Department", "DepartmentKind", "Identity", "IdentityKind", "Job",
    "JobStatus", "LoginAttempt", "Order", "OutboxMessage", "OutboxStatus", "Relation", "RelationStatus",
    "Role", "Staff", "StaffStatus", "User",
]
