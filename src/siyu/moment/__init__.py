"""Moments (客户朋友圈): tasks with a visible range by staff and customer tag, created in WeCom
through the outbox (provider ``wecom_moment``), results and interactions synced.

``siyu.moment.service``: ``create_moment(session, corp_id, *, text, staff_ids, tag_ids, material_ids, now)``,
``preview(session, corp_id, *, staff_ids, tag_ids, now) -> MomentPreview`` (customers in range and how
many the gate would hold back: moments visibility ≤ 3 a day, opt-outs, no relation), and
``apply_results(...)`` used by the sync job ``moment.sync_results`` (``siyu.integrations.wecom.moment_sync``),
which records one touch per customer WeCom reports the moment visible to (channel ``moment``).
"""
