"""Job handlers of tags.

* ``tags.evaluate_rules`` ``{"corp_id", "customer_ids", "tag_ids"}`` — bring rule tags in line with
  their conditions for these customers (all with ``null``), for these rule tags (all the corp's with
  ``null`` or absent). The trait maintenance enqueues it whenever customers' traits changed; creating
  or changing a rule enqueues it for that tag and every customer.
"""

from __future__ import annotations

from typing import Any

from siyu.kit.jobs import JobContext, job_handler
from siyu.tag import manage_repository as repository
from siyu.tag.rules import apply_rule

EVALUATE_RULES = "tags.evaluate_rules"


@job_handler(EVALUATE_RULES)
def evaluate_rules(ctx: JobContext, corp_id: int, customer_ids: list[int] | None = None,
                   tag_ids: list[int] | None = None) -> dict[str, Any]:
    now = ctx.clock.now()
    changes: dict[str, Any] = {}
    for tag, rule in repository.live_rules(ctx.session, corp_id, tag_ids):
        result = apply_rule(ctx.session, corp_id, tag.id, rule.condition, customer_ids, now)
        if customer_ids is None:
            rule.evaluated_at = now
        changes[str(tag.id)] = {"added": len(result.added), "removed": len(result.removed)}
    ctx.session.flush()
    return changes
