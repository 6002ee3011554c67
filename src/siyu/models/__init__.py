"""All ORM models. Importing this package registers every table on ``Base.metadata``."""

from siyu.models.acquisition import (
    ChannelCode,
    ChannelCodeAdd,
    ChannelCodeDay,
    ChannelCodeMember,
    GroupCode,
    OrderBinding,
)
from siyu.models.broadcast import Broadcast, BroadcastRecipient, BroadcastTask, BroadcastVariant
from siyu.models.corp import Corp
from siyu.models.customer import Customer, Identity, IdentityKind, Relation, RelationStatus
from siyu.models.event import Event, IngestBatch, IngestSource
from siyu.models.group import GroupChat, GroupChatMember
from siyu.models.identity import CustomerMerge, IdentityRule
from siyu.models.job import Job, JobStatus, OutboxMessage, OutboxStatus
from siyu.models.journey import Journey, JourneyEnrolment, JourneyStep, JourneyTriggerCursor, JourneyVersion
from siyu.models.loyalty import (
    Coupon,
    CouponHolding,
    CouponTemplate,
    LoyaltySettings,
    Member,
    MemberLevel,
    PointsEntry,
)
from siyu.models.order import Order, OrderImport
from siyu.models.red_packet import RedPacket, RedPacketBudget, RedPacketCounter
from siyu.models.policy import ContactPolicy, ContactPreference, Touch, TouchCounter
from siyu.models.message import Material, MessageTemplate
from siyu.models.moment import MomentTask
from siyu.models.segment import CustomerEventDay, Segment, SegmentChange, SegmentMembership, SegmentRefreshState
from siyu.models.org import Department, DepartmentKind, Staff, StaffStatus
from siyu.models.staff_task import StaffTask
from siyu.models.tag import CustomerTag, RelationTag, Tag, TagGroup, TagHistory
from siyu.models.tag_rule import TagRule
from siyu.models.trait import CorpTraitSettings, CustomerTrait
from siyu.models.user import ApiToken, LoginAttempt, Role, User
from siyu.models.wecom import (
    CallbackStatus,
    SyncStatus,
    WeComAccessToken,
    WeComCallback,
    WeComConnection,
    WeComSyncRun,
)

__all__ = [
    "ChannelCode", "ChannelCodeAdd", "ChannelCodeDay", "ChannelCodeMember", "GroupCode", "OrderBinding",
    "RedPacket", "RedPacketBudget", "RedPacketCounter",
    "Coupon", "CouponHolding", "CouponTemplate", "LoyaltySettings", "Member", "MemberLevel", "PointsEntry",
    "StaffTask",
    "CorpTraitSettings", "CustomerMerge", "CustomerTag", "CustomerTrait", "Event", "IdentityRule", "IngestBatch",
    "IngestSource", "OrderImport", "TagHistory", "TagRule",
    "ContactPolicy", "ContactPreference", "Touch", "TouchCounter",
    "Broadcast", "BroadcastRecipient", "BroadcastTask", "BroadcastVariant", "Material", "MessageTemplate",
    "MomentTask",
    "Journey", "JourneyEnrolment", "JourneyStep", "JourneyTriggerCursor", "JourneyVersion",
    "ApiToken", "Corp", "Customer", "Department", "DepartmentKind", "Identity", "IdentityKind", "Job",
    "JobStatus", "LoginAttempt", "Order", "OutboxMessage", "OutboxStatus", "Relation", "RelationStatus",
    "Role", "Staff", "StaffStatus", "User", "GroupChat", "GroupChatMember", "RelationTag", "Tag", "TagGroup",
    "CallbackStatus", "SyncStatus", "WeComAccessToken", "WeComCallback", "WeComConnection", "WeComSyncRun",
]
