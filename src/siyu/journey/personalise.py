"""Message texts per customer: the message domain's placeholders ({customer_name}, {points} …),
filled set-wise for a batch; the text as written when the message domain is not installed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from siyu.journey.nodes import Env


def texts_for(env: Env, text: str, customer_ids: Sequence[int]) -> dict[int, str]:
    if "{" not in text or not customer_ids:
        return {customer_id: text for customer_id in customer_ids}
    try:
        from siyu.message.personalisation import render, values_for
    except ImportError:
        return {customer_id: text for customer_id in customer_ids}
    values = values_for(env.session, env.corp_id, customer_ids, now=env.now)
    return {customer_id: render(text, values.get(customer_id, {})) for customer_id in customer_ids}
