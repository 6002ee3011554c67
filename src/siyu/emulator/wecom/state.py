"""The emulated WeCom's state: any number of corps, their secrets, tokens and records.

One ``EmulatorState`` is shared by the HTTP API, the simulation API, the population simulator and the
callback dispatcher; every read and write happens under its re-entrant lock. Time comes from the
injected clock so token expiry, welcome-code validity, quotas and transfers follow a ``TestClock``.
"""

from __future__ import annotations

import heapq
import random
import secrets
import string
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta, timezone

from siyu.emulator.wecom import errors
from siyu.emulator.wecom.entities import (
    AccessToken,
    App,
    ContactWay,
    DayStats,
    Department,
    ExternalContact,
    GroupChat,
    JoinWay,
    MassMessage,
    Media,
    Member,
    Moment,
    Tag,
    TagGroup,
    Transfer,
    WelcomeCode,
)
from siyu.emulator.wecom.errors import WeComError
from siyu.kit.clock import Clock

TOKEN_TTL_SECONDS = 7200
WELCOME_CODE_TTL_SECONDS = 20
MEDIA_TTL_SECONDS = 3 * 86400
TRANSFER_DELAY_SECONDS = 86400
CONTACT_WAY_MAX_USERS = 100
CUSTOMER_GROUP_MAX_MEMBERS = 500
QUOTA_RULES = ("daily", "weekly7", "days_in_month")
# WeCom counts natural days, weeks and months in China time.
CHINA = timezone(timedelta(hours=8))
_ID_ALPHABET = string.ascii_letters + string.digits


def day_start(timestamp: int) -> int:
    """Unix time of 00:00 China time of the day containing ``timestamp``."""
    return timestamp - ((timestamp + 8 * 3600) % 86400)


@dataclass
class RateLimits:
    """Per corp per API call limits (reference §1.3). ``None`` disables a limit (the default)."""

    per_minute: int | None = None
    per_hour: int | None = None
    moment_tasks_per_minute: int | None = None


@dataclass
class CallbackConfig:
    url: str = ""
    token: str = ""
    encoding_aes_key: str = ""
    agent_id: str = ""


@dataclass
class Corp:
    """One enterprise and everything WeCom stores for it."""

    corp_id: str
    name: str
    callback: CallbackConfig
    apps: dict[str, App] = field(default_factory=dict)
    quota_rule: str = "daily"
    transfer_delay_seconds: int = TRANSFER_DELAY_SECONDS
    takeover_customer_limit: int = 50000
    rate_limits: RateLimits = field(default_factory=RateLimits)
    departments: dict[int, Department] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)
    customers: dict[str, ExternalContact] = field(default_factory=dict)
    customers_by_user: dict[str, dict[str, None]] = field(default_factory=dict)
    tag_groups: dict[str, TagGroup] = field(default_factory=dict)
    tags: dict[str, Tag] = field(default_factory=dict)
    contact_ways: dict[str, ContactWay] = field(default_factory=dict)
    welcome_codes: dict[str, WelcomeCode] = field(default_factory=dict)
    mass_messages: dict[str, MassMessage] = field(default_factory=dict)
    receipts: dict[str, list[int]] = field(default_factory=dict)
    moments: dict[str, Moment] = field(default_factory=dict)
    moment_jobs: dict[str, str] = field(default_factory=dict)
    moment_task_times: list[float] = field(default_factory=list)
    groups: dict[str, GroupChat] = field(default_factory=dict)
    join_ways: dict[str, JoinWay] = field(default_factory=dict)
    transfers: list[Transfer] = field(default_factory=list)
    transfer_due: list[tuple[int, int]] = field(default_factory=list)  # heap of (takeover_time, index)
    media: dict[str, Media] = field(default_factory=dict)
    stats: dict[tuple[str, int], DayStats] = field(default_factory=dict)
    awaiting_reply: dict[tuple[str, str], int] = field(default_factory=dict)
    messages: deque = field(default_factory=lambda: deque(maxlen=20000))
    rate_counters: dict[str, list[float]] = field(default_factory=dict)
    next_department_id: int = 2

    # -- lookups that fail the way the API does ------------------------------------------------
    def member(self, userid: str | None) -> Member:
        member = self.members.get(userid or "")
        if member is None:
            raise WeComError(errors.USERID_NOT_FOUND, f"userid {userid!r} not found")
        return member

    def customer(self, external_userid: str | None) -> ExternalContact:
        customer = self.customers.get(external_userid or "")
        if customer is None:
            raise WeComError(errors.INVALID_EXTERNAL_USERID, f"invalid external_userid {external_userid!r}")
        return customer

    def group(self, chat_id: str | None) -> GroupChat:
        group = self.groups.get(chat_id or "")
        if group is None or group.dismissed:
            raise WeComError(errors.INVALID_PARAMETER, f"invalid chat_id {chat_id!r}")
        return group

    def stats_for(self, userid: str, timestamp: int) -> DayStats:
        key = (userid, day_start(timestamp))
        stats = self.stats.get(key)
        if stats is None:
            stats = self.stats[key] = DayStats()
        return stats

    def department_tree(self, root: int) -> list[int]:
        """``root`` and all its descendants, parents first."""
        children: dict[int, list[int]] = {}
        for department in self.departments.values():
            children.setdefault(department.parentid, []).append(department.id)
        result, queue = [], [root]
        while queue:
            current = queue.pop(0)
            if current in self.departments and current not in result:
                result.append(current)
                queue.extend(sorted(children.get(current, [])))
        return result

    def link(self, external_userid: str, userid: str) -> None:
        self.customers_by_user.setdefault(userid, {})[external_userid] = None

    def unlink(self, external_userid: str, userid: str) -> None:
        self.customers_by_user.get(userid, {}).pop(external_userid, None)

    def log_message(self, **entry: object) -> None:
        """Record a message delivered to a customer/group (visible via /simulate/{corp}/messages)."""
        self.messages.append(entry)


class EmulatorState:
    """All corps of one emulator instance plus the shared clock, lock, id source and event sink."""

    def __init__(self, clock: Clock | None = None, seed: int = 0) -> None:
        self.clock = clock or Clock()
        self.lock = threading.RLock()
        self.corps: dict[str, Corp] = {}
        self.tokens: dict[str, AccessToken] = {}
        self.token_by_secret: dict[tuple[str, str], str] = {}
        self._random = random.Random(seed)
        # Set by the callback dispatcher; receives (corp, event xml). Only simulated actions and
        # WeCom-side asynchronous outcomes call it — API-initiated changes never do.
        self.event_sink: Callable[[Corp, str], None] | None = None

    # -- time and ids ----------------------------------------------------------------------------
    def now(self) -> float:
        return self.clock.now().timestamp()

    def now_int(self) -> int:
        return int(self.now())

    def new_id(self, prefix: str, length: int, suffix: str = "") -> str:
        with self.lock:
            body = "".join(self._random.choices(_ID_ALPHABET, k=length))
        return prefix + body + suffix

    @staticmethod
    def new_secret(length: int) -> str:
        """Secrets and access tokens come from ``secrets`` (not the seeded ids) so they cannot be guessed."""
        return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))

    def new_hex(self, length: int = 32) -> str:
        with self.lock:
            return "".join(self._random.choices("0123456789abcdef", k=length))

    def emit(self, corp: Corp, event_xml: str) -> None:
        """Hand a callback event to the dispatcher (if one is attached)."""
        if self.event_sink is not None:
            self.event_sink(corp, event_xml)

    # -- corps and tokens ------------------------------------------------------------------------
    def corp(self, corp_id: str) -> Corp:
        corp = self.corps.get(corp_id)
        if corp is None:
            raise WeComError(errors.INVALID_CORPID, f"invalid corpid {corp_id!r}")
        return corp

    def create_corp(self, corp_id: str | None = None, name: str = "演示品牌", *,
                    callback: CallbackConfig | None = None, apps: list[App] | None = None) -> Corp:
        """Create a corp with a root department and the three kinds of secret.

        Without ``apps``: a 客户联系 secret, a 通讯录同步 secret and one self-built app (agent 1000002)
        enabled for customer contact.
        """
        from siyu.emulator.wecom.crypto import new_callback_token, new_encoding_aes_key

        with self.lock:
            corp_id = corp_id or self.new_id("ww", 16).lower()
            if corp_id in self.corps:
                raise ValueError(f"corp {corp_id} exists")
            callback = callback or CallbackConfig(token=new_callback_token(),
                                                  encoding_aes_key=new_encoding_aes_key())
            corp = Corp(corp_id=corp_id, name=name, callback=callback)
            for app in apps or [
                App(secret=self.new_secret(43), kind="contact"),
                App(secret=self.new_secret(43), kind="address_book"),
                App(secret=self.new_secret(43), kind="agent", agent_id=1000002, customer_contact=True),
            ]:
                corp.apps[app.secret] = app
            corp.departments[1] = Department(id=1, name=name, parentid=0, order=100000000)
            self.corps[corp_id] = corp
            return corp

    def issue_token(self, corp_id: str | None, secret: str | None) -> AccessToken:
        """gettoken: the same token while it is valid, a new one after it expired."""
        with self.lock:
            if not corp_id or corp_id not in self.corps:
                raise WeComError(errors.INVALID_CORPID)
            corp = self.corps[corp_id]
            if not secret or secret not in corp.apps:
                raise WeComError(errors.INVALID_SECRET)
            now = self.now()
            current = self.tokens.get(self.token_by_secret.get((corp_id, secret), ""))
            if current is not None and current.expires_at > now:
                return current
            token = AccessToken(token=self.new_secret(64), corp_id=corp_id, secret=secret,
                                expires_at=now + TOKEN_TTL_SECONDS)
            self.tokens[token.token] = token
            self.token_by_secret[(corp_id, secret)] = token.token
            return token

    def invalidate_tokens(self, corp_id: str) -> None:
        """WeCom may revoke tokens early (e.g. a secret reset); clients must re-fetch on 40014."""
        with self.lock:
            for key in [key for key, token in self.tokens.items() if token.corp_id == corp_id]:
                del self.tokens[key]

    def authenticate(self, access_token: str | None) -> tuple[Corp, App]:
        """Resolve an access token: 41001 missing, 40014 unknown, 42001 expired."""
        if not access_token:
            raise WeComError(errors.MISSING_ACCESS_TOKEN)
        with self.lock:
            token = self.tokens.get(access_token)
            if token is None:
                raise WeComError(errors.INVALID_ACCESS_TOKEN)
            if token.expires_at <= self.now():
                raise WeComError(errors.EXPIRED_ACCESS_TOKEN)
            corp = self.corps[token.corp_id]
            app = corp.apps.get(token.secret)
            if app is None:  # the secret was removed since
                raise WeComError(errors.INVALID_ACCESS_TOKEN)
            return corp, app

    def check_rate(self, corp: Corp, api: str) -> None:
        """Count one call of ``api``; 45009 past the per-minute/per-hour limit, then blocked 60 s / 60 min."""
        limits = corp.rate_limits
        if limits.per_minute is None and limits.per_hour is None:
            return
        now = self.now()
        with self.lock:
            # [minute bucket, minute count, hour bucket, hour count, blocked until]
            counter = corp.rate_counters.setdefault(api, [0.0, 0.0, 0.0, 0.0, 0.0])
            if now < counter[4]:
                raise WeComError(errors.API_FREQUENCY_LIMIT)
            minute, hour = now // 60, now // 3600
            if counter[0] != minute:
                counter[0], counter[1] = minute, 0
            if counter[2] != hour:
                counter[2], counter[3] = hour, 0
            counter[1] += 1
            counter[3] += 1
            if limits.per_minute is not None and counter[1] > limits.per_minute:
                counter[4] = now + 60
                raise WeComError(errors.API_FREQUENCY_LIMIT)
            if limits.per_hour is not None and counter[3] > limits.per_hour:
                counter[4] = now + 3600
                raise WeComError(errors.API_FREQUENCY_LIMIT)

    # -- asynchronous WeCom-side work ------------------------------------------------------------
    def schedule_transfer(self, corp: Corp, transfer: Transfer) -> None:
        with self.lock:
            corp.transfers.append(transfer)
            heapq.heappush(corp.transfer_due, (transfer.takeover_time, len(corp.transfers) - 1))

    def tick(self) -> None:
        """Do what WeCom does on its own as time passes: finish due transfers."""
        from siyu.emulator.wecom.transfers import complete_transfer

        now = self.now_int()
        with self.lock:
            for corp in self.corps.values():
                while corp.transfer_due and corp.transfer_due[0][0] <= now:
                    _, index = heapq.heappop(corp.transfer_due)
                    transfer = corp.transfers[index]
                    if transfer.status == 2:
                        complete_transfer(self, corp, transfer)

    def welcome_code(self, corp: Corp, userid: str, external_userid: str) -> WelcomeCode:
        code = WelcomeCode(code=self.new_id("", 43), userid=userid, external_userid=external_userid,
                           issued_at=self.now())
        corp.welcome_codes[code.code] = code
        return code

    def media_valid(self, corp: Corp, media_id: str) -> bool:
        media = corp.media.get(media_id)
        return media is not None and media.created_at + MEDIA_TTL_SECONDS > self.now()
