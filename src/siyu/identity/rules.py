"""Identity kinds, their canonical form, and the per-corp rules that govern them.

A rule says, for one kind in one corp, how many values a customer may hold (``max_per_customer``,
0 = unlimited), which customer survives when two collide (``priority``: lower wins), whether a value
shared by two customers merges them (``merge_key``) and which values are junk (``blocked_values``).
A corp without a stored rule for a kind uses the default below; stored rules take effect on the next
resolution (they are read per call, never cached).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from siyu.models.customer import IdentityKind

#: ``max_per_customer`` of 0 means no limit.
UNLIMITED = 0

#: Values no identity kind ever means: placeholders typed into forms and exports.
_JUNK_VALUES = frozenset({"", "0", "null", "none", "nil", "undefined", "unknown", "n/a", "na", "未知", "无",
                          "空", "[object object]"})
_JUNK_PATTERN = re.compile(r"0+|-+|\*+|\.+")
#: Mainland China mobile numbers: 11 digits, 13x–19x.
_MOBILE = re.compile(r"1[3-9]\d{9}")
_PHONE_SEPARATORS = re.compile(r"[\s\-().·]")
MAX_VALUE_LENGTH = 128


@dataclass(frozen=True)
class Rule:
    """The effective rule of one kind (stored or default)."""

    kind: str
    max_per_customer: int
    priority: int
    merge_key: bool = True
    blocked_values: tuple[str, ...] = ()
    customised: bool = False

    def allows_another(self, held: int) -> bool:
        """Whether a customer holding ``held`` values of this kind may take one more."""
        return self.max_per_customer == UNLIMITED or held < self.max_per_customer


#: Defaults, chosen for WeChat retail: a unionid is one WeChat person (the strongest key); one
#: external_userid is one person in this corp, but a person may carry several (other corps' apps,
#: service-provider ids), so they are unlimited; a person may have a second phone; openids are per
#: app (mini-program, official account …); platform buyer ids are per shop account. anonymous_id is
#: a device or browser: a person has any number and a shared one (a family tablet) proves nothing,
#: so it never merges.
DEFAULT_RULES: dict[str, Rule] = {
    rule.kind: rule
    for rule in (
        Rule(IdentityKind.unionid, 1, 10),
        Rule(IdentityKind.user_id, 1, 12),
        Rule(IdentityKind.wecom_external_userid, UNLIMITED, 15),
        Rule(IdentityKind.phone, 2, 20, blocked_values=("13800000000", "12345678901")),
        Rule(IdentityKind.member_no, 1, 25),
        Rule(IdentityKind.openid, 5, 30),
        Rule(IdentityKind.taobao_buyer, 3, 40),
        Rule(IdentityKind.jd_pin, 3, 40),
        Rule(IdentityKind.youzan_buyer, 3, 40),
        Rule(IdentityKind.douyin_buyer, 3, 40),
        Rule(IdentityKind.anonymous_id, UNLIMITED, 90, merge_key=False),
    )
}
KINDS: tuple[str, ...] = tuple(kind.value for kind in IdentityKind)


def normalise_identity(kind: str, value: object) -> str | None:
    """The canonical form of ``value`` as an identity of ``kind``, or ``None`` when it is junk.

    Values are trimmed; phones become 11 digits (full-width digits, spaces, dashes, brackets and a
    +86 / 0086 / 86 prefix are dropped) and anything that is not a mainland mobile number is junk.
    Unknown kinds and values longer than the column are junk too. Corp-specific blocked values are
    applied on top of this by ``RuleBook.usable``.
    """
    if value is None or isinstance(value, bool) or kind not in DEFAULT_RULES:
        return None
    if isinstance(value, float) and value.is_integer():
        # spreadsheets hand over phone numbers and member numbers as floats
        value = int(value)
    text = str(value)
    if not text.isascii():
        # full-width digits and letters typed on Chinese keyboards become their ASCII forms
        text = unicodedata.normalize("NFKC", text)
    text = text.strip()
    if text.lower() in _JUNK_VALUES or _JUNK_PATTERN.fullmatch(text) or len(text) > MAX_VALUE_LENGTH:
        return None
    if kind == IdentityKind.phone:
        if len(text) == 11 and text.isdigit() and text[1] in "3456789" and text[0] == "1":
            return text  # already canonical: the common case, decided without regular expressions
        digits = _PHONE_SEPARATORS.sub("", text)
        if digits.startswith("+86"):
            digits = digits[3:]
        elif digits.startswith("0086"):
            digits = digits[4:]
        elif len(digits) == 13 and digits.startswith("86"):
            digits = digits[2:]
        return digits if _MOBILE.fullmatch(digits) else None
    return text


@dataclass
class RuleBook:
    """The effective rules of one corp: stored rules over the defaults."""

    rules: dict[str, Rule] = field(default_factory=lambda: dict(DEFAULT_RULES))

    @classmethod
    def from_stored(cls, stored: Iterable[object]) -> RuleBook:
        """Build from ``IdentityRule`` rows (anything with the same attributes)."""
        rules = dict(DEFAULT_RULES)
        for row in stored:
            kind = row.kind
            if kind not in rules:
                continue
            blocked = tuple(v for v in (normalise_identity(kind, b) for b in row.blocked_values or ()) if v)
            rules[kind] = Rule(kind, row.max_per_customer, row.priority, row.merge_key, blocked, True)
        return cls(rules)

    def __getitem__(self, kind: str) -> Rule:
        return self.rules[kind]

    def usable(self, kind: str, value: object) -> str | None:
        """The normalised value, or ``None`` if it is junk or blocked for this corp."""
        normal = normalise_identity(kind, value)
        if normal is None or normal in self.rules[kind].blocked_values:
            return None
        return normal

    def order(self, pair: tuple[str, str]) -> tuple[int, str, str]:
        """Sort key: the strongest identities first."""
        return self.rules[pair[0]].priority, pair[0], pair[1]

    def rank(self, holdings: dict[str, set[str]]) -> int:
        """The best (lowest) priority among the kinds a customer holds."""
        held = [self.rules[kind].priority for kind, values in holdings.items() if values and kind in self.rules]
        return min(held, default=1_000_000)

    def over_cap(self, first: dict[str, set[str]], second: dict[str, set[str]]) -> str | None:
        """The first kind (by priority) whose cap one customer holding both sets would exceed."""
        for kind in sorted(set(first) | set(second), key=lambda k: (self.rules[k].priority, k)):
            rule = self.rules.get(kind)
            if rule is None or rule.max_per_customer == UNLIMITED:
                continue
            if len(first.get(kind, set()) | second.get(kind, set())) > rule.max_per_customer:
                return kind
        return None
