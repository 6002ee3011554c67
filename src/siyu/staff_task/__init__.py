"""Staff tasks (导购任务) — the interface other domains call.

Journeys ("create a staff task", "send as a staff task to send by hand") and broadcasts (reminders
to staff who have not sent) create tasks; staff see and complete theirs in the console and API.
All functions take a ``Session`` and only flush; the caller commits.

Table ``staff_task(id, corp_id, staff_id, customer_id NULL, kind send_message|follow_up|call_back|
custom, title, content, due_at, status open|done|expired|cancelled, source_kind, source_ref,
idempotency_key UNIQUE per corp, coins, completed_at)``.

``siyu.staff_task.service``
    TaskDraft(staff_id, kind, title, customer_id=None, content=None, due_at=None,
              idempotency_key=None, coins=0)
    create_tasks(session, corp_id, drafts, *, source_kind, now, source_ref=None,
                 created_by_user_id=None) -> int
        One INSERT for all drafts; a draft whose idempotency key exists is skipped (a retried
        node creates nothing twice). Staff or customers of another corp are refused
        (``InvalidInput`` naming the draft). Returns how many were created.
    create_tasks_from_query(session, corp_id, pairs, *, kind, title, source_kind, key_prefix, now,
                            content=None, due_at=None, source_ref=None, coins=0) -> int
        ``pairs`` is a ``Select`` of ``(staff_id, customer_id)``; INSERT … SELECT with the key
        ``<key_prefix>:<staff_id>:<customer_id>`` — set-based for whole audiences.
    complete_task(session, principal, task_id, *, now) -> StaffTask   (scoped; open tasks only)
    cancel_task(session, principal, task_id, *, now) -> StaffTask
    cancel_tasks_of_source(session, corp_id, *, source_kind, source_ref, now) -> int
        Cancel every open task a journey/broadcast created (e.g. the broadcast was cancelled).
    expire_overdue(session, corp_id | None, *, now) -> int   (job ``staff_tasks.expire``, hourly,
        queued by the first creation)
    completion_rates(session, principal, *, group_by "staff"|"store", since=None, until=None)
        -> list[CompletionRate(key_id, name, total, done, expired, open, coins, rate)]
        ``rate`` = done ÷ (done + expired); ``coins`` = 金币 of the done tasks.
    create_task / create_tasks_for(session, principal, …) — the API's and console's creation: staff
        and customers must be visible to the principal (404 naming ``staff_id`` / ``tasks[i].staff_id``).
    describe_tasks(session, tasks) -> list[schemas.StaffTask]   (with staff and customer names)

Data scope: a staff user sees only their own tasks, a store manager the tasks of staff in their
department subtree, corp-wide roles everything (``siyu.staff_task.repository``).
"""
