"""The WeCom deliverer of the outbox: corp-tag changes and customer tagging reach WeCom.

Messages of provider ``wecom`` are written by the tag domain (``siyu.tag.wecom_sync``) with siyu's
ids; here they are resolved to WeCom's ids and sent with the corp's client:

==============  =========================================  ==========================================
operation       payload                                    WeCom call
==============  =========================================  ==========================================
add_corp_tag    group_id, group_name?, group_order, tags   externalcontact/add_corp_tag, ids stored
edit_corp_tag   target (tag/group), id, name, order        externalcontact/edit_corp_tag
del_corp_tag    tag_ids, group_ids                         externalcontact/del_corp_tag
mark_tag        userid, external_userid, add_tag, remove   externalcontact/mark_tag
==============  =========================================  ==========================================

Outcomes: WeCom's -1 (busy) and 45009 (rate limit), no answer at all, and a tag whose own creation
has not reached WeCom yet are retried by the outbox job with backoff; any other WeCom error refuses
the message at once. The client itself does not retry (``attempts=1``): waiting belongs to the job
queue, not to a sleeping worker. Token and connection reads go through the job's own session, so on
SQLite they do not wait for the write lock the job holds.
"""

from __future__ import annotations

import threading
from contextlib import nullcontext
from typing import Any

import httpx

from siyu.integrations.wecom import schemas as s
from siyu.integrations.wecom.client import WeComClient, WeComClientFactory
from siyu.integrations.wecom.errors import WeComApiError, WeComNotConnected
from siyu.integrations.wecom.ratelimit import RetryPolicy
from siyu.kit.jobs import JobContext
from siyu.kit.outbox import (
    Deliverer,
    ProviderOutcomeUnknown,
    ProviderRefused,
    ProviderRetryable,
    register_deliverer,
)
from siyu.models.job import OutboxMessage
from siyu.tag import wecom_sync

PROVIDER = wecom_sync.PROVIDER
_http: httpx.Client | None = None
_http_lock = threading.Lock()


def _shared_http() -> httpx.Client:
    global _http
    with _http_lock:
        if _http is None:
            _http = httpx.Client(timeout=httpx.Timeout(10.0, connect=5.0))
        return _http


def client_for(ctx: JobContext, corp_id: int) -> WeComClient:
    """A WeCom client for a deliverer running in ``ctx``: the job's session and clock, one attempt per
    call (the outbox owns retries and backoff). Every WeCom deliverer uses this one."""
    factory = WeComClientFactory(lambda: nullcontext(ctx.session), ctx.clock, http=_shared_http(),
                                 retry=RetryPolicy(attempts=1))
    return factory.for_corp(corp_id)


def _add_corp_tag(ctx: JobContext, client: WeComClient, corp_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    wecom_group_id = wecom_sync.resolve_group(ctx.session, corp_id, payload["group_id"])
    if wecom_group_id is None and not payload.get("group_name"):
        raise wecom_sync.NotYetInWeCom(f"tag group {payload['group_id']} has not reached WeCom yet")
    request = s.AddCorpTagRequest(
        group_id=wecom_group_id,
        group_name=None if wecom_group_id else payload["group_name"],
        order=None if wecom_group_id else payload.get("group_order"),
        tag=[s.NewCorpTag(name=tag["name"], order=tag["order"]) for tag in payload["tags"]],
    )
    answer = client.add_corp_tag(request)
    created = {tag.name: tag.id for tag in answer.tag_group.tag}
    stored = wecom_sync.record_created(ctx.session, corp_id, payload["group_id"], answer.tag_group.group_id,
                                       created, ctx.clock)
    return {"group_id": answer.tag_group.group_id, "tag_ids": {str(k): v for k, v in stored.items()}}


def _edit_corp_tag(ctx: JobContext, client: WeComClient, corp_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    wecom_id = wecom_sync.resolve_edit_target(ctx.session, corp_id, payload["target"], payload["id"])
    client.edit_corp_tag(s.EditCorpTagRequest(id=wecom_id, name=payload["name"], order=payload["order"]))
    return {"id": wecom_id}


def _del_corp_tag(ctx: JobContext, client: WeComClient, corp_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    tag_ids = wecom_sync.resolve_tags(ctx.session, corp_id, payload.get("tag_ids") or [])
    group_ids = []
    for group_id in payload.get("group_ids") or []:
        wecom_group_id = wecom_sync.resolve_group(ctx.session, corp_id, group_id)
        if wecom_group_id is not None:
            group_ids.append(wecom_group_id)
    if not tag_ids and not group_ids:
        return {"skipped": "nothing in WeCom"}
    client.del_corp_tag(s.DelCorpTagRequest(tag_id=tag_ids or None, group_id=group_ids or None))
    return {"tag_id": tag_ids, "group_id": group_ids}


def _mark_tag(ctx: JobContext, client: WeComClient, corp_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    add = wecom_sync.resolve_tags(ctx.session, corp_id, payload.get("add_tag") or [])
    remove = wecom_sync.resolve_tags(ctx.session, corp_id, payload.get("remove_tag") or [])
    if not add and not remove:
        return {"skipped": "nothing in WeCom"}
    client.mark_tag(s.MarkTagRequest(userid=payload["userid"], external_userid=payload["external_userid"],
                                     add_tag=add or None, remove_tag=remove or None))
    return {"add_tag": add, "remove_tag": remove}


OPERATIONS = {"add_corp_tag": _add_corp_tag, "edit_corp_tag": _edit_corp_tag, "del_corp_tag": _del_corp_tag,
              "mark_tag": _mark_tag}


def transient_or_unknown(error: WeComApiError) -> Exception | None:
    """The outbox's view of a WeCom error: unknown outcome, retryable, or ``None`` for a refusal."""
    if error.outcome_unknown:
        return ProviderOutcomeUnknown(str(error))
    if error.retryable:
        return ProviderRetryable(str(error))
    return None


def deliver(ctx: JobContext, message: OutboxMessage) -> dict[str, Any]:
    """Send one ``wecom`` outbox message (see the module docstring for the outcomes)."""
    operation = OPERATIONS.get(message.operation)
    if operation is None:
        raise ProviderRefused(f"unknown WeCom operation {message.operation!r}")
    if message.corp_id is None:
        raise ProviderRefused("a WeCom message needs a corp")
    try:
        return operation(ctx, client_for(ctx, message.corp_id), message.corp_id, message.payload)
    except wecom_sync.NotYetInWeCom as waiting:
        raise ProviderRetryable(str(waiting)) from waiting
    except (WeComNotConnected, LookupError) as refusal:
        raise ProviderRefused(str(refusal)) from refusal
    except WeComApiError as error:
        # An unknown outcome is safe to resend here (WeCom collapses a tag added twice by name).
        raise (transient_or_unknown(error) or ProviderRefused(str(error))) from error


register_deliverer(PROVIDER, Deliverer(deliver=deliver))
