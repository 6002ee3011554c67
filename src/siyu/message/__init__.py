"""Messages: templates with personalisation and their preview per customer.

``siyu.message.personalisation``:

* ``PLACEHOLDERS`` — ``{customer_name}`` (the staff member's remark, else the customer's name),
  ``{staff_name}``, ``{store}``, ``{coupon_code}``, ``{points}``, ``{level}``, ``{order_count}``,
  ``{last_order_at}``, ``{last_order_amount}``.
* ``validate_text(text, *, field, allowed=PLACEHOLDERS) -> None`` — ``InvalidInput`` naming the
  unknown placeholder.
* ``render(text, values) -> str`` — fills placeholders (an unknown value renders empty).
* ``values_for(session, corp_id, customer_ids, *, now, staff_id=None, coupon_template_id=None)
  -> dict[int, dict[str, str]]`` — set-based look-ups: customers, relations, staff, stores, orders,
  and points / level / coupon codes from ``siyu.loyalty`` when it is installed.
* ``preview(session, corp_id, text, customer_id, *, now, staff_id=None) -> str``.

Templates (``siyu.message.service``): ``create_template``, ``update_template``, ``list_templates``.
"""
