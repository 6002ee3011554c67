"""Customer transfers (在职继承 / 离职继承, reference §3.8).

A transfer started through the API only *starts* (per-customer errcode 0, status 2 "waiting"); WeCom
hands the customer over on its own ``transfer_delay_seconds`` later (24 h by default). It can fail:
the customer refuses during the waiting period (status 3, ``customer_refused``) or the takeover member
is at their customer limit when it is due (status 4, ``customer_limit_exceed``); both raise a
``transfer_fail`` callback because they are WeCom-side outcomes, not the API call itself.
"""

from __future__ import annotations

from siyu.emulator.wecom import errors, events
from siyu.emulator.wecom.entities import Follow, Transfer
from siyu.emulator.wecom.errors import SimulationError, WeComError
from siyu.emulator.wecom.state import Corp, EmulatorState

MAX_TRANSFERS_PER_90_DAYS = 2
NINETY_DAYS = 90 * 86400


def start_transfers(state: EmulatorState, corp: Corp, kind: str, handover_userid: str,
                    takeover_userid: str, external_userids: list[str]) -> list[dict]:
    """Validate and schedule; returns the ``customer`` list of per-customer errcodes."""
    if not isinstance(external_userids, list) or not 1 <= len(external_userids) <= 100:
        raise WeComError(errors.INVALID_PARAMETER, "external_userid must list 1..100 ids")
    handover = corp.member(handover_userid)
    takeover = corp.member(takeover_userid)
    if takeover.status != 1 or not takeover.customer_contact or takeover.userid == handover.userid:
        raise WeComError(errors.INVALID_USERID, f"takeover_userid {takeover_userid!r} cannot take over")
    if kind == "resigned" and handover.status != 5:
        raise WeComError(errors.INVALID_USERID, f"handover_userid {handover_userid!r} has not resigned")
    if kind == "onjob" and handover.status == 5:
        raise WeComError(errors.INVALID_USERID, f"handover_userid {handover_userid!r} has resigned")
    now = state.now_int()
    results = []
    for external_userid in external_userids:
        customer = corp.customers.get(external_userid)
        if customer is None:
            results.append({"external_userid": external_userid, "errcode": errors.INVALID_EXTERNAL_USERID})
            continue
        follow = customer.follows.get(handover.userid)
        if follow is None or follow.half:
            results.append({"external_userid": external_userid, "errcode": errors.NOT_EXTERNAL_CONTACT})
            continue
        recent = [t for t in corp.transfers
                  if t.external_userid == external_userid and t.started_at > now - NINETY_DAYS]
        if any(t.status == 2 for t in recent) or len(recent) >= MAX_TRANSFERS_PER_90_DAYS:
            results.append({"external_userid": external_userid, "errcode": errors.INVALID_PARAMETER})
            continue
        state.schedule_transfer(corp, Transfer(kind=kind, handover_userid=handover.userid,
                                               takeover_userid=takeover.userid,
                                               external_userid=external_userid, started_at=now,
                                               takeover_time=now + corp.transfer_delay_seconds))
        results.append({"external_userid": external_userid, "errcode": 0})
    return results


def complete_transfer(state: EmulatorState, corp: Corp, transfer: Transfer) -> None:
    """The due hand-over: move the relation, or fail on the takeover member's customer limit."""
    customer = corp.customers.get(transfer.external_userid)
    old = customer.follows.get(transfer.handover_userid) if customer else None
    if customer is None or old is None:
        transfer.status = 5
        return
    if len(corp.customers_by_user.get(transfer.takeover_userid, {})) >= corp.takeover_customer_limit:
        fail(state, corp, transfer, 4, "customer_limit_exceed")
        return
    now = transfer.takeover_time
    transfer.status = 1
    del customer.follows[transfer.handover_userid]
    corp.unlink(customer.external_userid, transfer.handover_userid)
    if transfer.takeover_userid not in customer.follows:
        customer.follows[transfer.takeover_userid] = Follow(
            userid=transfer.takeover_userid, createtime=now, add_way=202, state=old.state,
            remark=old.remark, description=old.description, remark_corp_name=old.remark_corp_name,
            remark_mobiles=list(old.remark_mobiles), oper_userid=transfer.takeover_userid,
            tag_ids=list(old.tag_ids))
        corp.link(customer.external_userid, transfer.takeover_userid)
    if transfer.kind == "onjob":
        state.emit(corp, events.external_contact(corp.corp_id, now, "del_external_contact",
                                                 transfer.handover_userid, customer.external_userid,
                                                 source="DELETE_BY_TRANSFER"))
    state.emit(corp, events.external_contact(corp.corp_id, now, "add_external_contact",
                                             transfer.takeover_userid, customer.external_userid))


def fail(state: EmulatorState, corp: Corp, transfer: Transfer, status: int, reason: str) -> None:
    transfer.status = status
    state.emit(corp, events.external_contact(corp.corp_id, state.now_int(), "transfer_fail",
                                             transfer.takeover_userid, transfer.external_userid,
                                             fail_reason=reason))


def refuse(state: EmulatorState, corp: Corp, external_userid: str) -> Transfer:
    """The customer refuses a pending transfer (simulated customer action)."""
    for transfer in reversed(corp.transfers):
        if transfer.external_userid == external_userid and transfer.status == 2:
            fail(state, corp, transfer, 3, "customer_refused")
            return transfer
    raise SimulationError(404, f"no pending transfer for {external_userid!r}")


def transfer_rows(corp: Corp, kind: str, handover_userid: str, takeover_userid: str) -> list[dict]:
    """Rows of transfer_result / resigned/transfer_result, latest state per customer."""
    latest: dict[str, Transfer] = {}
    for transfer in corp.transfers:
        if (transfer.kind == kind and transfer.handover_userid == handover_userid
                and transfer.takeover_userid == takeover_userid):
            latest[transfer.external_userid] = transfer
    return [{"external_userid": t.external_userid, "status": t.status, "takeover_time": t.takeover_time}
            for t in latest.values()]
