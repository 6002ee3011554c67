"""Loyalty: membership levels, members, points and coupons — the interface other domains call.

All functions take a SQLAlchemy ``Session`` and only flush: the caller (request, job) commits.
``now`` is always an aware UTC datetime from the injected clock. Refusals that a journey node or a
broadcast must handle are returned as values (``refusal`` codes below), not raised.

Tables to read directly (segments, analytics) — see ``siyu.models.loyalty``:

* ``member(customer_id PK, corp_id, member_no, level_id → member_level.id, level_changed_at,
  joined_at, birthday DATE, points_balance, points_earned_total)``
* ``member_level(id, corp_id, name, rank, min_spend, min_points)`` — higher ``rank`` is better;
  "level at least 金卡" is ``member_level.rank >= :rank`` joined on ``member.level_id``.
* ``points_entry(customer_id, kind earn|spend|expire|adjust, points signed, expires_at, remaining)``
* ``coupon(customer_id, template_id, code, status issued|redeemed|expired|void, valid_until)``

Members — ``siyu.loyalty.members``
    enrol(session, corp_id, customer_ids, *, now, birthday=None) -> int
        Set-based; customers already enrolled are left alone; also writes the ``member_no``
        identity. Returns how many were newly enrolled.
    get_member(session, corp_id, customer_id) -> Member | None
    recompute_levels(session, corp_id, *, now, customer_ids=None) -> int
        One UPDATE from ``customer_trait.total_spend`` and ``member.points_earned_total``; returns
        how many members changed level. Also the job ``loyalty.recompute_levels {"corp_id"}``
        (daily, and on demand from ``POST /api/v1/loyalty/levels/recompute``).
    member_facts(session, corp_id, customer_ids, *, now) -> dict[int, MemberFacts]
        For message personalisation: member_no, level_name, points_balance,
        points_expiring_30d, birthday.

Points — ``siyu.loyalty.points``
    earn(session, corp_id, customer_id, points, *, source_kind, idempotency_key, now,
         source_ref=None, order_id=None, note=None) -> PointsOutcome
    spend(session, corp_id, customer_id, points, *, source_kind, idempotency_key, now,
          source_ref=None, note=None) -> PointsOutcome          # refusal "insufficient_points"
    adjust(session, corp_id, customer_id, points, *, idempotency_key, now, note=None,
           user_id=None) -> PointsOutcome                        # signed; negative spends FIFO
        ``PointsOutcome(entry, applied, refusal, balance)``: ``applied`` is False when the
        idempotency key was already used (``entry`` is then the first entry) or on a refusal.
        Earning enrols the customer if needed; balances change in one conditional UPDATE.
    earn_for_orders(session, corp_id, order_ids=None, *, now) -> int
        Points for purchase orders (paid/shipped/completed) with a customer, ``floor(amount *
        points_per_yuan)``, once per order (key ``order:<id>``); ``None``: every order not yet
        earned. Job ``loyalty.earn_for_orders {"corp_id", "order_ids"}`` for the order flow.
    expire_due(session, corp_id, *, now) -> int
        Expire every lot whose ``expires_at <= now`` (job ``loyalty.expire``, daily).
    expiring_points_query(corp_id, *, now, within_days) -> Select
        Columns ``customer_id, points, first_expires_at``: points expiring in (now, now + N days]
        per customer — for the journey trigger "points expiring in N days" (use as a subquery).
    expiring_points(session, corp_id, *, now, within_days, customer_ids=None) -> list[ExpiringPoints]

Coupons — ``siyu.loyalty.coupons``
    issue_coupon(session, corp_id, customer_id, template_id, *, source, idempotency_key, now,
                 source_ref=None) -> IssueOutcome
        ``source`` is the kind ("journey", "broadcast", "manual", "fission" …), ``source_ref``
        the causing object. ``IssueOutcome(coupon, created, refusal)``: the same idempotency key
        returns the first coupon with ``created=False``. Refusals (nothing written):
        ``template_not_found``, ``template_inactive``, ``template_ended``, ``out_of_stock``,
        ``limit_reached``, ``customer_not_found``.
    redeem_coupon(session, corp_id, coupon_id, order_id, *, now) -> Coupon   (raises Conflict)
    void_coupon(session, corp_id, coupon_id, *, now) -> Coupon
    expire_coupons(session, corp_id, *, now) -> int        (job ``loyalty.expire``, daily)
    coupon_codes(session, corp_id, customer_ids, template_id, *, now) -> dict[int, str]
        The newest issued (unredeemed, still valid) code per customer, for personalisation.

For a principal (API, console) — ``siyu.loyalty.service``: the same operations after checking that
the customer, template, coupon or order is visible to the caller (404 naming the field), with
refusals raised as 409 ``loyalty.refusal.<code>`` (``params.refusal`` carries the code).

Jobs — ``siyu.loyalty.tasks``: ``loyalty.schedule`` (daily, 17:00 UTC) queues per corp
``loyalty.earn_for_orders``, ``loyalty.expire`` and ``loyalty.recompute_levels``.

Demo — ``siyu.loyalty.demo.derive_demo_loyalty(session, corp_id, *, now) -> DemoLoyalty``: settings,
four levels at the brand's spend quantiles, every buyer enrolled with points from their orders
(older than a year expired), coupon templates, coupons issued and partly redeemed against real later
orders; idempotent. ``siyu.staff_task.demo.derive_demo_tasks`` adds staff tasks after it.
"""
