"""The contact policy of one corp as the gate applies it (defaults where the corp set nothing)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from siyu.kit.errors import InvalidInput, NotFound
from siyu.models.policy import CapPeriod, ContactPolicy, QuotaRule
from siyu.policy import repository
from siyu.policy.periods import QuietHours, zone

DEFAULT_OPT_OUT_KEYWORDS = ("退订", "TD", "T", "unsubscribe")


@dataclass(frozen=True)
class PolicySettings:
    corp_id: int
    timezone: str = "Asia/Shanghai"
    #: the current WeCom default: as many corp mass messages a month as the month has days
    wecom_quota_rule: QuotaRule = QuotaRule.days_in_month
    marketing_cap: int = 2
    marketing_period: CapPeriod = CapPeriod.week
    moments_per_day: int = 3
    quiet_hours: QuietHours = QuietHours(22 * 60, 8 * 60)
    opt_out_keywords: tuple[str, ...] = DEFAULT_OPT_OUT_KEYWORDS
    blacklist_tag_id: int | None = None
    deferral_days: int = 7


def load(session: Session, corp_id: int) -> PolicySettings:
    """The corp's policy; the defaults above if it never saved one."""
    timezone = repository.corp_timezone(session, corp_id)
    row = repository.policy_row(session, corp_id)
    if row is None:
        return PolicySettings(corp_id=corp_id, timezone=timezone)
    return PolicySettings(
        corp_id=corp_id, timezone=timezone, wecom_quota_rule=QuotaRule(row.wecom_quota_rule),
        marketing_cap=row.marketing_cap, marketing_period=CapPeriod(row.marketing_period),
        moments_per_day=row.moments_per_day, quiet_hours=QuietHours(row.quiet_start_minute, row.quiet_end_minute),
        opt_out_keywords=tuple(row.opt_out_keywords or ()), blacklist_tag_id=row.blacklist_tag_id,
        deferral_days=row.deferral_days,
    )


def save(session: Session, corp_id: int, *, wecom_quota_rule: str, marketing_cap: int, marketing_period: str,
         moments_per_day: int, quiet_start: str, quiet_end: str, opt_out_keywords: list[str],
         blacklist_tag_id: int | None, deferral_days: int) -> PolicySettings:
    """Validate and store the corp's policy; each refusal names its field."""
    try:
        rule = QuotaRule(wecom_quota_rule)
    except ValueError:
        raise InvalidInput("error.policy_quota_rule_invalid", field="wecom_quota_rule") from None
    try:
        period = CapPeriod(marketing_period)
    except ValueError:
        raise InvalidInput("error.policy_period_invalid", field="marketing_period") from None
    for name, value, upper in (("marketing_cap", marketing_cap, 100), ("moments_per_day", moments_per_day, 3),
                               ("deferral_days", deferral_days, 31)):
        if not 0 <= value <= upper:
            raise InvalidInput("error.policy_number_out_of_range", field=name, low=0, high=upper)
    start = _minutes(quiet_start, "quiet_start")
    end = _minutes(quiet_end, "quiet_end")
    keywords = [word.strip() for word in opt_out_keywords if word.strip()]
    if any(len(word) > 20 for word in keywords):
        raise InvalidInput("error.policy_keyword_too_long", field="opt_out_keywords")
    if blacklist_tag_id is not None and not repository.tag_exists(session, corp_id, blacklist_tag_id):
        raise NotFound("error.policy_tag_not_found", field="blacklist_tag_id")
    row = repository.policy_row(session, corp_id)
    if row is None:
        row = ContactPolicy(corp_id=corp_id)
        session.add(row)
    row.wecom_quota_rule, row.marketing_cap, row.marketing_period = rule, marketing_cap, period
    row.moments_per_day, row.quiet_start_minute, row.quiet_end_minute = moments_per_day, start, end
    row.opt_out_keywords, row.blacklist_tag_id, row.deferral_days = keywords, blacklist_tag_id, deferral_days
    session.flush()
    return load(session, corp_id)


def _minutes(value: str, name: str) -> int:
    try:
        hours, minutes = value.strip().split(":")
        total = int(hours) * 60 + int(minutes)
    except ValueError:
        raise InvalidInput("error.policy_time_invalid", field=name) from None
    if not (0 <= int(hours) <= 23 and 0 <= int(minutes) <= 59):
        raise InvalidInput("error.policy_time_invalid", field=name)
    return total


def valid_timezone(name: str) -> bool:
    try:
        zone(name)
    except (KeyError, ValueError):
        return False
    return True


def format_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
