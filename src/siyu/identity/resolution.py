"""The resolution plan: which customer each claim belongs to, computed in memory from a snapshot.

The service reads everything a batch of claims needs in a few set-based queries (who holds each
pair; what the customers involved already hold), then this planner walks the claims in order and
decides — without touching the database — which customers to create, which identities to attach,
which customers to merge and what to skip. Customers planned in this batch have negative references
(-1, -2 …) until they are inserted. Because the plan follows the claims in order, a batch gives the
same result as the same claims resolved one by one.

Rules applied to each claim (its identities sorted strongest first):

* The holders of its merge-key identities are the customers it links. The first is the target;
  each further holder is merged with it — the survivor is the one holding the highest-priority
  identity (lowest priority number), ties going to the oldest (lowest id; customers planned in this
  batch are younger than every stored one). A merge that would leave one customer with more values
  of a kind than its ``max_per_customer`` allows (two different unionids, three phones) is not made:
  the linking identity stays with its holder and the skip is recorded (``merge_blocked``).
* Identities nobody holds are attached to the target (a new customer if the claim linked none),
  unless the target already holds ``max_per_customer`` values of that kind: then the identity is not
  attached and the skip is recorded (``cap_exceeded``).
* A non-merge-key identity (``anonymous_id``) held by another customer never merges two known
  customers (a shared tablet proves nothing) and is recorded as ``not_a_merge_key``; a customer known
  *only* by such identities (an anonymous visitor) is absorbed by the customer the claim resolves
  to, which is how browsing before a login joins the person's profile. A claim with no merge-key
  identity resolves to the holder of its first held one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from siyu.identity.rules import RuleBook

Pair = tuple[str, str]


@dataclass(frozen=True)
class Skip:
    """An identity of a claim that was not attached, and why."""

    claim: int
    kind: str
    value: str
    #: cap_exceeded / merge_blocked / not_a_merge_key
    reason: str
    #: the customer holding the identity (merge_blocked, not_a_merge_key) or the target (cap_exceeded)
    customer_ref: int
    #: for merge_blocked: the kind whose cap the merge would have exceeded
    blocking_kind: str | None = None


@dataclass(frozen=True)
class PlannedMerge:
    survivor: int
    merged: int
    kind: str
    value: str


@dataclass
class Plan:
    """What the service must write; references are resolved through ``find``."""

    rules: RuleBook
    owner: dict[Pair, int]
    held: dict[int, dict[str, set[str]]]
    parent: dict[int, int] = field(default_factory=dict)
    fresh: list[int] = field(default_factory=list)
    new_pairs: dict[Pair, int] = field(default_factory=dict)
    merges: list[PlannedMerge] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    profiles: dict[int, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        held: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        for ref, kinds in self.held.items():
            held[ref] = defaultdict(set, kinds)
        self.held = held

    def find(self, ref: int) -> int:
        root = ref
        while root in self.parent:
            root = self.parent[root]
        while ref != root:  # path compression
            self.parent[ref], ref = root, self.parent[ref]
        return root

    def _age(self, ref: int) -> tuple[int, int]:
        return (0, ref) if ref > 0 else (1, -ref)

    def _rank(self, ref: int) -> tuple[int, tuple[int, int]]:
        return self.rules.rank(self.held[ref]), self._age(ref)

    def _create(self) -> int:
        ref = -(len(self.fresh) + 1)
        self.fresh.append(ref)
        self.held[ref] = defaultdict(set)
        return ref

    def _merge(self, first: int, second: int, pair: Pair) -> int:
        survivor, merged = sorted((first, second), key=self._rank)
        self.parent[merged] = survivor
        for kind, values in self.held.pop(merged).items():
            self.held[survivor][kind] |= values
        self.merges.append(PlannedMerge(survivor, merged, pair[0], pair[1]))
        return survivor

    def _anonymous_only(self, ref: int) -> bool:
        return all(not values or not self.rules[kind].merge_key for kind, values in self.held[ref].items())

    def place(self, index: int, pairs: list[Pair], profile: dict[str, Any] | None) -> int:
        """Decide the customer of one claim; ``pairs`` are usable, distinct and strongest first."""
        linked: list[tuple[int, Pair]] = []
        loose: list[tuple[int, Pair]] = []
        unheld: list[Pair] = []
        for pair in pairs:
            ref = self.owner.get(pair)
            if ref is None:
                unheld.append(pair)
            elif self.rules[pair[0]].merge_key:
                linked.append((ref, pair))
            else:
                loose.append((ref, pair))
        target: int | None = None
        for ref, pair in linked:
            ref = self.find(ref)
            if target is None:
                target = ref
                continue
            target = self.find(target)
            if ref == target:
                continue
            blocking = self.rules.over_cap(self.held[target], self.held[ref])
            if blocking:
                self.skips.append(Skip(index, pair[0], pair[1], "merge_blocked", ref, blocking))
                continue
            target = self._merge(target, ref, pair)
        if target is None and loose:
            target = self.find(loose[0][0])
        for pair in unheld:
            if target is None:
                target = self._create()
            target = self.find(target)
            if not self.rules[pair[0]].allows_another(len(self.held[target][pair[0]])):
                self.skips.append(Skip(index, pair[0], pair[1], "cap_exceeded", target))
                continue
            self.owner[pair] = target
            self.new_pairs[pair] = target
            self.held[target][pair[0]].add(pair[1])
        for ref, pair in loose:
            ref, target = self.find(ref), self.find(target)
            if ref == target:
                continue
            if self._anonymous_only(ref) and not self.rules.over_cap(self.held[target], self.held[ref]):
                target = self._merge(target, ref, pair)
            else:
                self.skips.append(Skip(index, pair[0], pair[1], "not_a_merge_key", ref))
        target = self.find(target)
        self.note_profile(target, profile)
        return target

    def note_profile(self, ref: int, profile: dict[str, Any] | None) -> None:
        """Remember profile fields for ``ref``; the first value given for a field wins."""
        if profile:
            known = self.profiles.setdefault(ref, {})
            for name, value in profile.items():
                if value is not None and known.get(name) is None:
                    known[name] = value
