"""Segments (分群): a declarative audience language, its compiler to SQL, and maintained membership.

The language (``docs/segments.md``)::

    {"version": 1, "condition": {"all": [
        {"rfm": {"classes": ["important_value", "important_keep"]}},
        {"tag": {"any": [12]}},
        {"order": {"metric": "count", "op": ">=", "value": 2, "category": "水果", "within": "90d"}},
        {"not": {"touch": {"channel": "broadcast", "within": "7d"}}},
        {"relation": {"department": 4}}]}}

Interfaces for other domains (journeys, broadcasts, coupons, dashboards) — all synchronous, all
scoped to one corp, none commits (the caller's edge owns the transaction):

``compile_condition(session, corp_id, definition, *, now, candidates=None) -> Select``
    ``SELECT customer.id`` of the corp's customers matching ``definition`` (a dict in the language
    or a parsed ``Definition``) at ``now``. Works on SQLite and PostgreSQL; merged-away customers are
    never included. ``candidates`` (a list of customer ids) limits the evaluation to them.

``validate_definition(definition) -> Definition``
    The parsed definition, or raises ``DefinitionInvalid`` — an ``InvalidInput`` (422) whose
    ``problems`` name each bad node by path (``condition.all[2].trait.op``) with a catalogue key;
    ``messages(language)`` gives them in zh-CN or en, and the API renders them under ``problems``.

``members_select(session, corp_id, segment_id) -> Select``
    ``SELECT customer_id`` of a saved segment's current members (the maintained membership, kept
    within seconds of the data by ``segment.refresh``). ``NotFound`` for another corp's segment.

``explain(session, corp_id, definition, customer_id, *, now) -> Explanation``
    The condition tree with ``matched`` true/false per node for one customer
    (``Explanation.to_dict()`` → ``{"path", "kind", "matched", "children"}``).

``condition_counts(session, corp_id, definition, *, now) -> dict[path, int]``
    How many customers each node matches on its own (what narrows the audience).

Membership changes for consumers: every entry and exit of a dynamic or static segment is a row of
``segment_change`` (``siyu.models.segment.SegmentChange``: ``id`` monotonically increasing,
``segment_id``, ``customer_id``, ``change`` 'entered'/'exited', ``at``). Read
``changes_after(session, corp_id, after_id, *, segment_ids=None, limit=1000)`` and keep the last id
you handled.
"""

from siyu.segment.evaluation import (
    Explanation,
    compile_condition,
    condition_counts,
    explain,
    members_select,
    validate_definition,
)
from siyu.segment.language import Definition, DefinitionInvalid
from siyu.segment.membership import changes_after

__all__ = ["Definition", "DefinitionInvalid", "Explanation", "changes_after", "compile_condition",
           "condition_counts", "explain", "members_select", "validate_definition"]
