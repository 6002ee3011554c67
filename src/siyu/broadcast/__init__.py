"""Broadcasts (群发) to customers: audience (segment, tags, stores, staff), A/B variants with a
holdout, preview, scheduling, the gate for every recipient, one WeCom task per sender and variant
through the outbox, reminders, result sync, cancel, and results by variant. Broadcasts to group
chats (``kind`` groups: chosen groups, groups of owners, groups of stores) take the same path with
WeCom's ``chat_type: "group"``, one task per group owner — see ``siyu.broadcast.group_audience`` for
the audience and why a group message is one touch per group.

``siyu.broadcast.service``: ``create_broadcast``, ``schedule``, ``preview -> Plan``, ``dispatch``
(job ``broadcast.dispatch``), ``send_wave`` (job ``broadcast.wave``), ``request_reminders``,
``cancel``; ``siyu.broadcast.results.report`` for the dashboard and the A/B results.
"""
