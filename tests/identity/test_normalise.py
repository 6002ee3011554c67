"""Identity values in canonical form: phones to 11 digits, junk refused, per-corp rules on top."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from siyu.identity.rules import DEFAULT_RULES, UNLIMITED, RuleBook
from siyu.identity.service import normalise_identity


@pytest.mark.parametrize(("raw", "expected"), [
    ("+86 138-0013-8000", "13800138000"),
    ("0086 13800138000", "13800138000"),
    ("8613800138000", "13800138000"),
    ("(138) 0013 8000", "13800138000"),
    ("１３８００１３８０００", "13800138000"),  # full-width digits typed on a Chinese keyboard
    (13800138000, "13800138000"),
    (13800138000.0, "13800138000"),  # a spreadsheet cell
    (" 13912345678 ", "13912345678"),
])
def test_phones_become_eleven_digits(raw, expected):
    assert normalise_identity("phone", raw) == expected


@pytest.mark.parametrize("raw", [
    "", "   ", None, "00000000000", "11111111111", "12800138000", "1380013800", "138001380001",
    "021-62345678", "+1 415 555 0100", "unknown", "NULL", "abc", True,
])
def test_junk_phones_are_refused(raw):
    assert normalise_identity("phone", raw) is None


@pytest.mark.parametrize("raw", ["", " ", "0", "000", "-", "null", "None", "undefined", "Unknown", "未知", "n/a",
                                 "x" * 129])
def test_placeholders_are_junk_for_every_kind(raw):
    assert normalise_identity("openid", raw) is None
    assert normalise_identity("member_no", raw) is None


def test_other_kinds_are_trimmed_and_keep_their_case():
    assert normalise_identity("openid", "  oAbC-12_x ") == "oAbC-12_x"
    assert normalise_identity("member_no", 10086) == "10086"
    assert normalise_identity("taobao_buyer", "tb小王") == "tb小王"


def test_an_unknown_kind_is_refused():
    assert normalise_identity("email", "a@example.com") is None


def test_default_rules_cover_every_kind_with_the_documented_caps():
    assert {kind: (rule.max_per_customer, rule.priority, rule.merge_key) for kind, rule in DEFAULT_RULES.items()} == {
        "unionid": (1, 10, True),
        "user_id": (1, 12, True),
        "wecom_external_userid": (UNLIMITED, 15, True),
        "phone": (2, 20, True),
        "member_no": (1, 25, True),
        "openid": (5, 30, True),
        "taobao_buyer": (3, 40, True),
        "jd_pin": (3, 40, True),
        "youzan_buyer": (3, 40, True),
        "douyin_buyer": (3, 40, True),
        "anonymous_id": (UNLIMITED, 90, False),
    }


def test_blocked_values_are_compared_in_canonical_form():
    # given a corp that blocks its shop's own hotline, typed with a prefix and dashes
    stored = [SimpleNamespace(kind="phone", max_per_customer=2, priority=20, merge_key=True,
                              blocked_values=["+86 139-0000-0001"])]
    book = RuleBook.from_stored(stored)

    # then the hotline is refused however it is written, and the default blocked values no longer apply
    assert book.usable("phone", "13900000001") is None
    assert book.usable("phone", "0086 139 0000 0001") is None
    assert book.usable("phone", "13800000000") == "13800000000"
    assert RuleBook().usable("phone", "13800000000") is None
    assert book["phone"].customised and not RuleBook()["phone"].customised


def test_caps_are_checked_across_two_customers():
    book = RuleBook()
    assert book.over_cap({"unionid": {"u1"}}, {"unionid": {"u1"}, "phone": {"13900000001"}}) is None
    assert book.over_cap({"unionid": {"u1"}}, {"unionid": {"u2"}}) == "unionid"
    assert book.over_cap({"phone": {"13900000001", "13900000002"}}, {"phone": {"13900000003"}}) == "phone"
    assert book.over_cap({"anonymous_id": {str(n) for n in range(50)}}, {"anonymous_id": {"x"}}) is None
