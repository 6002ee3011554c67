"""Contact policy (联系策略, 不打扰): the one gate every outbound touch passes, and the touch ledger.

Every domain that reaches a customer — journeys, welcome messages (acquisition), broadcasts, moments,
coupon notices, 1:1 messages — asks here before it sends, in its own transaction::

    from siyu.policy import TouchRequest, admit, decide
    from siyu.models.policy import TouchChannel, TouchPriority

    decisions = admit(session, corp_id, [
        TouchRequest(customer_id=42, channel=TouchChannel.journey, priority=TouchPriority.marketing,
                     staff_id=7, source_kind="journey_enrolment", source_id="913",
                     dedupe_key="journey:913:step:2"),
    ], now=clock.now())
    for decision in decisions:
        if decision.allowed:            # status allowed: send (through the outbox), then mark_sent
            ...
        elif decision.status == TouchStatus.deferred:
            ...                         # wait until decision.deferred_until, then readmit([touch_id])
        else:                           # blocked / expired: do not send; decision.rule says why

* ``decide(session, corp_id, requests, *, now) -> list[Decision]`` — a preview; writes nothing.
* ``admit(session, corp_id, requests, *, now) -> list[Decision]`` — decides and writes one ``touch``
  row per request (``Decision.touch_id``); allowed capped touches take their counter slots. The same
  ``dedupe_key`` twice is one touch: the first decision is returned again and nothing is counted.
* ``readmit(session, corp_id, touch_ids, *, now)`` — decide again for deferred touches whose window
  came (``due_deferred(session, corp_id, *, now)`` lists them); rows are updated in place.
* ``mark_sent(session, corp_id, touch_ids, *, now)``, ``expire_deferred(session, corp_id, *, now)``.
* Opt-outs: ``record_reply(session, corp_id, customer_id, text, *, now)`` (a keyword reply such as
  退订 opts out), ``opt_out(...)``, ``opt_in(...)``; ``set_timezone(...)`` for quiet hours.
* Settings: ``siyu.policy.settings.load(session, corp_id) -> PolicySettings`` / ``save(...)``.
* Set-based: ``siyu.policy.bulk.classify(session, corp_id, requests_subquery, *, channel, priority, at)
  -> Select`` — the same rules as one SQL expression over a subquery of
  ``customer_id, staff_id`` (other columns carried through), for audiences too large for Python
  (a broadcast's preview). Writes nothing.
* Job ``policy.expire_deferred {"corp_id"}`` expires overdue deferred touches, hourly once started.
* REST: ``GET/PUT /api/v1/policy``, ``POST /api/v1/policy/decisions`` (a preview); console
  ``/settings/policy``.

Rules, in the order they are applied (the first that applies is recorded on the touch as ``rule``):

1. ``contact_deleted`` / ``no_relation`` (blocked) — every channel but ``group`` needs an active
   relation (with ``staff_id`` when given); a customer who deleted the staff contact is
   ``contact_deleted``.
2. ``opted_out`` / ``blacklisted`` (blocked, marketing only) — an opt-out reply or the corp's
   blacklist tag.
3. ``quiet_hours`` (deferred to their end; not service) — in the customer's time zone, else the corp's.
4. Counters (deferred to the next period, moved out of quiet hours): ``wecom_quota`` for the
   ``broadcast`` channel (WeCom's receive quota: days-in-month per month, 7 per week or 1 per day, in
   natural periods of the corp's time zone, as WeCom counts), ``moment_cap`` for ``moment``
   (≤ 3 a day), ``marketing_cap`` for every marketing touch across channels (default 2 a week).
   Service and transactional touches are not subject to the marketing cap.

A deferred touch whose window would open only after its ``expires_at`` (default ``at`` + the corp's
deferral days) is ``expired`` instead — never forced, never silently dropped.

Caps hold under concurrency through the database, not by reading then writing: each counter is one
``touch_counter`` row per customer and period, raised with ``INSERT … ON CONFLICT DO UPDATE SET
count = count + 1 WHERE count < cap`` and held by a ``CHECK (count <= cap)``; a request refused by a
later counter gives back the slots it took, in the same transaction.
"""

from siyu.policy.service import (
    Decision,
    TouchRequest,
    admit,
    decide,
    due_deferred,
    expire_deferred,
    mark_sent,
    opt_in,
    opt_out,
    readmit,
    record_reply,
    set_timezone,
)

__all__ = ["Decision", "TouchRequest", "admit", "decide", "due_deferred", "expire_deferred", "mark_sent",
           "opt_in", "opt_out", "readmit", "record_reply", "set_timezone"]
