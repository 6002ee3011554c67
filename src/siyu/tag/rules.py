"""Rule tags: tags that follow a condition on customers' traits.

A rule is JSON kept in ``tag_rule.condition``::

    {"all": [{"trait": "lifecycle_stage", "op": "in", "value": ["new", "active"]},
             {"any": [{"trait": "order_count", "op": ">=", "value": 3},
                      {"trait": "total_spend", "op": ">", "value": "500.00"}]}]}

A condition names a trait of ``customer_trait`` (``TRAITS``), an operator (``OPERATORS``) and a value.
Evaluation is set-based: the evaluator compiles a rule to a SELECT of matching customer ids, and
``apply_rule`` brings a tag's ``customer_tag`` rows in line with it for a set of customers (or all),
recording each change in the tag history.

The segment engine will own rule compilation: it replaces the built-in evaluator by calling
``register_rule_evaluator`` with a function of the same signature, and every rule tag then follows
its richer conditions with no change here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, false, insert, literal, not_, or_, select, true
from sqlalchemy.orm import Session

from siyu.customer.trait_scores import LIFECYCLE_STAGES, RFM_CLASS_CODES
from siyu.kit.db import dialect_insert
from siyu.kit.errors import InvalidInput
from siyu.models.customer import Customer
from siyu.models.tag import CustomerTag, TagHistory
from siyu.models.trait import CustomerTrait

RULE_SOURCE = "rule"
MAX_DEPTH = 4


@dataclass(frozen=True)
class TraitSpec:
    column: Any
    kind: str  # "choice", "number" or "text"
    choices: tuple[str, ...] = ()


TRAITS: dict[str, TraitSpec] = {
    "lifecycle_stage": TraitSpec(CustomerTrait.lifecycle_stage, "choice", LIFECYCLE_STAGES),
    "rfm_class": TraitSpec(CustomerTrait.rfm_class, "choice", RFM_CLASS_CODES),
    "order_count": TraitSpec(CustomerTrait.order_count, "number"),
    "total_spend": TraitSpec(CustomerTrait.total_spend, "number"),
    "average_spend": TraitSpec(CustomerTrait.average_spend, "number"),
    "refund_total": TraitSpec(CustomerTrait.refund_total, "number"),
    "recency_score": TraitSpec(CustomerTrait.recency_score, "number"),
    "frequency_score": TraitSpec(CustomerTrait.frequency_score, "number"),
    "monetary_score": TraitSpec(CustomerTrait.monetary_score, "number"),
    "probability_alive": TraitSpec(CustomerTrait.probability_alive, "number"),
    "predicted_value_90d": TraitSpec(CustomerTrait.predicted_value_90d, "number"),
    "favourite_category": TraitSpec(CustomerTrait.favourite_category, "text"),
}
COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
OPERATORS = (*COMPARISONS, "in", "not_in")


def _invalid(reason: str) -> InvalidInput:
    return InvalidInput("error.tag_rule_invalid", field="rule", reason=reason)


def _scalar(spec: TraitSpec, name: str, value: Any) -> Any:
    if spec.kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise _invalid(f"{name} needs a number")
        try:
            return Decimal(str(value))
        except InvalidOperation as exc:
            raise _invalid(f"{name} needs a number") from exc
    if not isinstance(value, str):
        raise _invalid(f"{name} needs text")
    if spec.kind == "choice" and value not in spec.choices:
        raise _invalid(f"{name} is one of {', '.join(spec.choices)}")
    return value


def validate_rule(rule: Any, depth: int = 0) -> dict[str, Any]:
    """``rule`` checked and normalised (numbers as strings, so JSON keeps them exact); raises
    ``InvalidInput`` naming what is wrong."""
    if depth > MAX_DEPTH:
        raise _invalid("too deeply nested")
    if not isinstance(rule, dict):
        raise _invalid("a rule is an object")
    for group in ("all", "any"):
        if group in rule:
            parts = rule[group]
            if set(rule) != {group} or not isinstance(parts, list) or not parts:
                raise _invalid(f"'{group}' takes a non-empty list and nothing else")
            return {group: [validate_rule(part, depth + 1) for part in parts]}
    if set(rule) != {"trait", "op", "value"}:
        raise _invalid("a condition has exactly trait, op and value")
    name, op, value = rule["trait"], rule["op"], rule["value"]
    spec = TRAITS.get(name)
    if spec is None:
        raise _invalid(f"unknown trait {name!r}")
    if op not in OPERATORS:
        raise _invalid(f"unknown operator {op!r}")
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise _invalid(f"{op} takes a non-empty list")
        values = [_scalar(spec, name, item) for item in value]
        return {"trait": name, "op": op, "value": [str(v) if isinstance(v, Decimal) else v for v in values]}
    if spec.kind != "number" and op not in ("=", "!="):
        raise _invalid(f"{name} compares with = or != only")
    checked = _scalar(spec, name, value)
    return {"trait": name, "op": op, "value": str(checked) if isinstance(checked, Decimal) else checked}


def _compile(rule: dict[str, Any]) -> ColumnElement:
    if "all" in rule:
        return and_(true(), *(_compile(part) for part in rule["all"]))
    if "any" in rule:
        return or_(false(), *(_compile(part) for part in rule["any"]))
    spec = TRAITS[rule["trait"]]
    column, op, value = spec.column, rule["op"], rule["value"]
    if spec.kind == "number":
        value = [Decimal(v) for v in value] if isinstance(value, list) else Decimal(value)
    if op == "in":
        return column.in_(value)
    if op == "not_in":
        # A customer without the trait (NULL) is "not in" any list.
        return or_(column.is_(None), column.not_in(value))
    if op == "!=":
        return or_(column.is_(None), column != value)
    return {"=": column.__eq__, "<": column.__lt__, "<=": column.__le__, ">": column.__gt__,
            ">=": column.__ge__}[op](value)


def trait_rule_evaluator(session: Session, corp_id: int, rule: dict[str, Any]) -> Select:
    """The built-in evaluator: the ids of the corp's live customers whose traits satisfy ``rule``."""
    return (
        select(CustomerTrait.customer_id)
        .join(Customer, Customer.id == CustomerTrait.customer_id)
        .where(CustomerTrait.corp_id == corp_id, Customer.merged_into_id.is_(None), _compile(rule))
    )


RuleEvaluator = Callable[[Session, int, dict[str, Any]], Select]
_evaluator: RuleEvaluator = trait_rule_evaluator


def register_rule_evaluator(evaluator: RuleEvaluator | None) -> None:
    """Replace how rules become SQL: ``evaluator(session, corp_id, rule)`` returns a SELECT of one
    column, the ids of the corp's customers that satisfy ``rule``. ``None`` restores the built-in."""
    global _evaluator
    _evaluator = evaluator or trait_rule_evaluator


def matching_customers(session: Session, corp_id: int, rule: dict[str, Any]) -> Select:
    """The SELECT of customer ids satisfying ``rule``, by the registered evaluator."""
    return _evaluator(session, corp_id, rule)


@dataclass
class RuleChanges:
    added: list[int]
    removed: list[int]


def apply_rule(session: Session, corp_id: int, tag_id: int, rule: dict[str, Any],
               customer_ids: Sequence[int] | None, now: datetime) -> RuleChanges:
    """Bring the rule tag's customers among ``customer_ids`` (all with ``None``) in line with ``rule``:
    add it where the rule holds and it is missing, take it off where the rule put it and no longer
    holds. A customer who also carries the tag for another reason (manual) keeps it."""
    matching = matching_customers(session, corp_id, rule).subquery("matching")
    match_id = matching.c[0]
    candidates = [] if customer_ids is None else [match_id.in_(list(customer_ids))]
    already = select(CustomerTag.customer_id).where(CustomerTag.tag_id == tag_id)
    source = select(literal(corp_id), match_id, literal(tag_id), literal(RULE_SOURCE), literal(now, CustomerTag.tagged_at.type)) \
        .where(*candidates, match_id.not_in(already))
    added_rows = session.execute(
        dialect_insert(session, CustomerTag.__table__)
        .from_select(["corp_id", "customer_id", "tag_id", "source", "tagged_at"], source)
        .on_conflict_do_nothing(index_elements=["customer_id", "tag_id"])
        .returning(CustomerTag.__table__.c.customer_id)
    ).scalars().all()
    leaving = [CustomerTag.corp_id == corp_id, CustomerTag.tag_id == tag_id, CustomerTag.source == RULE_SOURCE,
               not_(CustomerTag.customer_id.in_(select(match_id)))]
    if customer_ids is not None:
        leaving.append(CustomerTag.customer_id.in_(list(customer_ids)))
    removed_rows = session.execute(
        delete(CustomerTag).where(*leaving).returning(CustomerTag.customer_id)
        .execution_options(synchronize_session=False)
    ).scalars().all()
    history = [{"corp_id": corp_id, "customer_id": customer_id, "tag_id": tag_id, "action": action,
                "source": RULE_SOURCE, "at": now}
               for action, ids in (("add", sorted(added_rows)), ("remove", sorted(removed_rows)))
               for customer_id in ids]
    if history:
        session.execute(insert(TagHistory), history)
    return RuleChanges(sorted(added_rows), sorted(removed_rows))
