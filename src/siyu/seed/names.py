"""Chinese names, unique mobile numbers and WeChat-style identifiers for generated people.

Names come from Faker's zh_CN person data (surnames weighted by frequency, given names by gender)
drawn with our own ``random.Random``: the same data as ``Faker("zh_CN").name()`` at a twentieth of
the cost, which matters for a million customers, and deterministic for a seed.
"""

from __future__ import annotations

import random
from itertools import accumulate

from faker.providers.person.zh_CN import Provider as PersonProvider
from faker.providers.phone_number.zh_CN import Provider as PhoneProvider

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class NameSource:
    """Draws (name, gender) pairs; gender is ``male``, ``female`` or None (not disclosed)."""

    def __init__(self) -> None:
        surnames = PersonProvider.last_names
        self._surnames = list(surnames)
        self._surname_cumulative = list(accumulate(float(w) for w in surnames.values()))
        self._male = list(PersonProvider.first_names_male)
        self._female = list(PersonProvider.first_names_female)

    def person(self, rng: random.Random) -> tuple[str, str | None]:
        surname = rng.choices(self._surnames, cum_weights=self._surname_cumulative)[0]
        draw = rng.random()
        if draw < 0.45:
            return surname + rng.choice(self._male), "male"
        if draw < 0.95:
            return surname + rng.choice(self._female), "female"
        return surname + rng.choice(self._male if draw < 0.97 else self._female), None


class PhoneNumbers:
    """Valid-looking 11-digit mainland mobile numbers, unique by construction.

    The last eight digits of number ``i`` are a three-round Feistel permutation of ``i`` over
    [0, 10⁸) (two four-digit halves, random round tables): scattered like real numbers, yet no two
    indexes below 10⁸ share them, whatever the carrier prefix in front (itself drawn from Faker's
    zh_CN prefixes). Customers use indexes from 0 and staff continue after them.
    """

    def __init__(self, rng: random.Random, customers: int) -> None:
        self._prefixes = sorted({str(p) for p in PhoneProvider.phonenumber_prefixes})
        self._rounds = [[rng.randrange(10_000) for _ in range(10_000)] for _ in range(3)]
        self._customers = customers

    def customer(self, index: int) -> str:
        return self._number(index)

    def staff(self, index: int) -> str:
        return self._number(self._customers + index)

    def _number(self, index: int) -> str:
        left, right = divmod(index, 10_000)
        for table in self._rounds:
            left, right = right, (left + table[right]) % 10_000
        return f"{self._prefixes[(left * 7 + right) % len(self._prefixes)]}{left:04d}{right:04d}"


def random_token(rng: random.Random, length: int) -> str:
    """``length`` characters of WeCom's id alphabet; 30 of them carry 180 random bits, so ids drawn
    this way do not collide in practice."""
    bits = rng.getrandbits(6 * length)
    return "".join(_ALPHABET[(bits >> (6 * k)) & 63] for k in range(length))


def external_userid(rng: random.Random) -> str:
    """A WeCom external contact id (``wm…``, 32 characters)."""
    return "wm" + random_token(rng, 30)


def unionid(rng: random.Random) -> str:
    """A WeChat open-platform unionid (``o…``, 28 characters)."""
    return "o" + random_token(rng, 27)


def member_number(index: int) -> str:
    """The loyalty card number of customer ``index``: a permutation of ten digits, so unique."""
    return f"M{(index * 7_654_321 + 1_234_567) % 10**10:010d}"
