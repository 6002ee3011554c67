"""Simulated WeChat-user, staff and admin actions — the things that make WeCom raise callbacks.

"通过API进行的操作不会产生回调" (reference §5): only what people do in their WeChat/WeCom clients or in
the admin console produces events. Every method here changes the state like that person would and emits
the matching callback; the /cgi-bin/ API never does.

Design choice worth knowing: a contact way with ``skip_verify`` adds the customer at once
(``add_external_contact`` with State and WelcomeCode). Without ``skip_verify`` the relation is
half-added first (``add_half_external_contact`` with State and WelcomeCode) and becomes complete when the
member accepts (``add_external_contact`` with State, no second WelcomeCode).
"""

from __future__ import annotations

import random
from typing import Any

import httpx

from siyu.emulator.wecom import broadcasts, events, groups, transfers
from siyu.emulator.wecom.admin import AdminActions
from siyu.emulator.wecom.api_acquisition import way_expired, way_members
from siyu.emulator.wecom.entities import ExternalContact, Follow, Member
from siyu.emulator.wecom.errors import SimulationError
from siyu.emulator.wecom.seed import NICKNAMES, chinese_name
from siyu.emulator.wecom.state import Corp, EmulatorState, day_start


class Simulator(AdminActions):
    """People acting on one emulator state (customers, staff, admins)."""

    def __init__(self, state: EmulatorState, seed: int = 0, http_client: httpx.Client | None = None) -> None:
        self.state = state
        self.http_client = http_client  # used for the callback-URL check
        self._random = random.Random(seed)
        self._rotation: dict[str, int] = {}

    def corp(self, corp_id: str) -> Corp:
        corp = self.state.corps.get(corp_id)
        if corp is None:
            raise SimulationError(404, f"no corp {corp_id!r}")
        return corp

    def _emit(self, corp: Corp, raised: list[str]) -> None:
        for event_xml in raised:
            self.state.emit(corp, event_xml)

    @staticmethod
    def _member(corp: Corp, userid: str) -> Member:
        member = corp.members.get(userid)
        if member is None or member.status == 5:
            raise SimulationError(404, f"no active member {userid!r}")
        return member

    @staticmethod
    def _customer(corp: Corp, external_userid: str) -> ExternalContact:
        customer = corp.customers.get(external_userid)
        if customer is None:
            raise SimulationError(404, f"no external contact {external_userid!r}")
        return customer

    def _follow(self, corp: Corp, userid: str, external_userid: str) -> Follow:
        follow = self._customer(corp, external_userid).follows.get(userid)
        if follow is None:
            raise SimulationError(409, f"{external_userid} is not a customer of {userid}")
        return follow

    # -- WeChat users ----------------------------------------------------------------------------
    def scan_contact_way(self, corp_id: str, config_id: str, *, userid: str | None = None,
                         external_userid: str | None = None, name: str | None = None, gender: int | None = None,
                         unionid: str | None = None, avatar: str | None = None) -> dict[str, Any]:
        """A WeChat user scans a contact-way QR code and adds one of its members."""
        state = self.state
        with state.lock:
            corp = self.corp(corp_id)
            way = corp.contact_ways.get(config_id)
            if way is None:
                raise SimulationError(404, f"no contact way {config_id!r}")
            if way.is_temp and way_expired(state, way):
                raise SimulationError(409, "this temporary contact way has expired or was used")
            candidates = [u for u in way_members(corp, way)
                          if corp.members[u].status == 1 and corp.members[u].customer_contact]
            if userid is not None:
                if userid not in candidates:
                    raise SimulationError(409, f"{userid} is not an active member of this contact way")
                chosen = userid
            elif candidates:
                turn = self._rotation.get(config_id, 0)
                self._rotation[config_id] = turn + 1
                chosen = candidates[turn % len(candidates)]
            else:
                raise SimulationError(409, "the contact way has no active member")
            now = state.now_int()
            customer = corp.customers.get(external_userid or "")
            if customer is None:
                customer = self._new_customer(corp, external_userid, name, gender, unionid, avatar)
            if chosen in customer.follows:
                raise SimulationError(409, f"{customer.external_userid} already added {chosen}")
            half = not way.skip_verify
            customer.follows[chosen] = Follow(userid=chosen, createtime=now, add_way=1, state=way.state,
                                              oper_userid=customer.external_userid, half=half)
            corp.link(customer.external_userid, chosen)
            way.used = way.used or way.is_temp
            stats = corp.stats_for(chosen, now)
            stats.new_apply_cnt += 1
            if not half:
                stats.new_contact_cnt += 1
            code = state.welcome_code(corp, chosen, customer.external_userid)
            change = "add_half_external_contact" if half else "add_external_contact"
            self._emit(corp, [events.external_contact(corp.corp_id, now, change, chosen, customer.external_userid,
                                                      state=way.state, welcome_code=code.code)])
            return {"external_userid": customer.external_userid, "userid": chosen, "welcome_code": code.code,
                    "state": way.state, "half": half}

    def _new_customer(self, corp: Corp, external_userid: str | None, name: str | None, gender: int | None,
                      unionid: str | None, avatar: str | None) -> ExternalContact:
        external_userid = external_userid or self.state.new_id("wm", 26, "AAAA")
        full_name, _ = chinese_name(self._random)
        customer = ExternalContact(
            external_userid=external_userid,
            name=name or (self._random.choice(NICKNAMES) if self._random.random() < 0.3 else full_name),
            gender=gender if gender is not None else self._random.choice((0, 1, 2)),
            avatar=avatar or f"http://wx.qlogo.cn/mmhead/{external_userid[2:14]}/0",
            unionid=unionid or "o" + self.state.new_id("", 27))
        corp.customers[external_userid] = customer
        return customer

    def accept(self, corp_id: str, userid: str, external_userid: str) -> dict[str, Any]:
        """The member confirms a half-added customer (non-skip-verify ways)."""
        with self.state.lock:
            corp = self.corp(corp_id)
            follow = self._follow(corp, userid, external_userid)
            if not follow.half:
                raise SimulationError(409, "already added")
            follow.half = False
            now = self.state.now_int()
            corp.stats_for(userid, now).new_contact_cnt += 1
            self._emit(corp, [events.external_contact(corp.corp_id, now, "add_external_contact", userid,
                                                      external_userid, state=follow.state)])
            return {"external_userid": external_userid, "userid": userid}

    def customer_delete_staff(self, corp_id: str, external_userid: str, userid: str) -> dict[str, Any]:
        """The customer deletes the member (del_follow_user)."""
        with self.state.lock:
            corp = self.corp(corp_id)
            self._follow(corp, userid, external_userid)
            self._drop(corp, userid, external_userid)
            now = self.state.now_int()
            corp.stats_for(userid, now).negative_feedback_cnt += 1
            self._emit(corp, [events.external_contact(corp.corp_id, now, "del_follow_user", userid, external_userid)])
            return {"external_userid": external_userid, "userid": userid}

    @staticmethod
    def _drop(corp: Corp, userid: str, external_userid: str) -> None:
        del corp.customers[external_userid].follows[userid]
        corp.unlink(external_userid, userid)
        corp.awaiting_reply.pop((userid, external_userid), None)

    def join_group(self, corp_id: str, member_id: str, *, chat_id: str | None = None,
                   join_way: str | None = None, join_scene: int = 1, invitor: str | None = None) -> dict[str, Any]:
        """Someone joins a customer group: directly (chat_id) or by scanning a join way's code."""
        with self.state.lock:
            corp = self.corp(corp_id)
            if join_way:
                way = corp.join_ways.get(join_way)
                if way is None:
                    raise SimulationError(404, f"no join way {join_way!r}")
                group, raised = groups.join_by_way(self.state, corp, way, member_id)
            else:
                group = corp.groups.get(chat_id or "")
                if group is None or group.dismissed:
                    raise SimulationError(404, f"no group {chat_id!r}")
                if join_scene not in (1, 2, 3):
                    raise SimulationError(409, "join_scene is 1 (invited), 2 (invite link) or 3 (QR code)")
                raised = groups.add_members(self.state, corp, group, [member_id], join_scene,
                                            invitor=invitor or (group.owner if join_scene != 3 else ""))
            self._emit(corp, raised)
            return {"chat_id": group.chat_id, "members": len(group.members),
                    "member_version": groups.member_version(group)}

    def leave_group(self, corp_id: str, chat_id: str, member_id: str, quit_scene: int = 0) -> dict[str, Any]:
        """Someone leaves (quit_scene 0) or is removed by the owner/admin (1)."""
        with self.state.lock:
            corp = self.corp(corp_id)
            group = corp.groups.get(chat_id)
            if group is None or group.dismissed:
                raise SimulationError(404, f"no group {chat_id!r}")
            self._emit(corp, groups.remove_members(self.state, corp, group, [member_id], quit_scene))
            return {"chat_id": chat_id, "members": len(group.members)}

    def send_chat_message(self, corp_id: str, sender: str, *, receiver: str | None = None,
                          chat_id: str | None = None, content: str = "你好") -> dict[str, Any]:
        """A chat message 1:1 (sender/receiver: one member, one customer) or in a group (no callback)."""
        state = self.state
        with state.lock:
            corp = self.corp(corp_id)
            now = state.now_int()
            if chat_id:
                group = corp.groups.get(chat_id)
                if group is None or group.dismissed or sender not in group.members:
                    raise SimulationError(409, f"{sender} cannot speak in {chat_id}")
                day = day_start(now)
                group.message_days[day] = group.message_days.get(day, 0) + 1
                group.message_senders.setdefault(day, set()).add(sender)
                corp.log_message(kind="group_chat", chat_id=chat_id, sender=sender, content=content, at=now)
                return {"chat_id": chat_id, "at": now}
            if not receiver:
                raise SimulationError(422, "receiver or chat_id is required")
            staff_sends = sender in corp.members
            userid, external_userid = (sender, receiver) if staff_sends else (receiver, sender)
            follow = self._follow(corp, userid, external_userid)
            follow.last_chat_at = now
            stats = corp.stats_for(userid, now)
            stats.chats.add(external_userid)
            if staff_sends:
                stats.message_cnt += 1
                asked_at = corp.awaiting_reply.pop((userid, external_userid), None)
                if asked_at is not None:
                    corp.stats_for(userid, asked_at).replied.add(external_userid)
                    corp.stats_for(userid, asked_at).reply_seconds.append(now - asked_at)
            else:
                stats.customer_started.add(external_userid)
                corp.awaiting_reply.setdefault((userid, external_userid), now)
            # Once they have chatted, the welcome code can no longer be used (41051).
            for code in corp.welcome_codes.values():
                if code.userid == userid and code.external_userid == external_userid:
                    code.used = True
            corp.log_message(kind="chat", sender=sender, userid=userid, external_userid=external_userid,
                             content=content, at=now)
            return {"userid": userid, "external_userid": external_userid, "at": now}

    def customer_comment_moment(self, corp_id: str, moment_id: str, userid: str, external_userid: str,
                                *, like: bool = False) -> dict[str, Any]:
        """A customer comments on (or likes) a member's published moment."""
        with self.state.lock:
            corp = self.corp(corp_id)
            moment = corp.moments.get(moment_id)
            if moment is None or userid not in moment.published:
                raise SimulationError(409, f"{userid} has not published {moment_id}")
            self._follow(corp, userid, external_userid)
            row = {"external_userid": external_userid, "create_time": self.state.now_int(), "poster": userid}
            (moment.likes if like else moment.comments).append(row)
            return {"moment_id": moment_id}

    def customer_refuse_transfer(self, corp_id: str, external_userid: str) -> dict[str, Any]:
        """The customer refuses a pending transfer: status 3 and a transfer_fail callback."""
        with self.state.lock:
            transfer = transfers.refuse(self.state, self.corp(corp_id), external_userid)
            return {"external_userid": external_userid, "status": transfer.status}

    # -- staff -----------------------------------------------------------------------------------
    def staff_delete_customer(self, corp_id: str, userid: str, external_userid: str) -> dict[str, Any]:
        """The member deletes the customer (del_external_contact)."""
        with self.state.lock:
            corp = self.corp(corp_id)
            self._follow(corp, userid, external_userid)
            self._drop(corp, userid, external_userid)
            self._emit(corp, [events.external_contact(corp.corp_id, self.state.now_int(), "del_external_contact",
                                                      userid, external_userid)])
            return {"external_userid": external_userid, "userid": userid}

    def staff_edit_customer(self, corp_id: str, userid: str, external_userid: str, *, remark: str | None = None,
                            description: str | None = None, add_tag: list[str] | None = None,
                            remove_tag: list[str] | None = None) -> dict[str, Any]:
        """The member edits remark/description or corp tags in the client (edit_external_contact)."""
        with self.state.lock:
            corp = self.corp(corp_id)
            follow = self._follow(corp, userid, external_userid)
            for tag_id in [*(add_tag or []), *(remove_tag or [])]:
                if tag_id not in corp.tags or corp.tags[tag_id].deleted:
                    raise SimulationError(404, f"no tag {tag_id!r}")
            follow.remark = remark if remark is not None else follow.remark
            follow.description = description if description is not None else follow.description
            follow.tag_ids = [t for t in follow.tag_ids if t not in (remove_tag or [])]
            follow.tag_ids += [t for t in (add_tag or []) if t not in follow.tag_ids]
            self._emit(corp, [events.external_contact(corp.corp_id, self.state.now_int(), "edit_external_contact",
                                                      userid, external_userid)])
            return {"external_userid": external_userid, "userid": userid, "tag_id": list(follow.tag_ids)}

    def staff_send_single(self, corp_id: str, userid: str, external_userid: str, content: str) -> dict[str, Any]:
        """The member sends a 1:1 message to a customer."""
        return self.send_chat_message(corp_id, userid, receiver=external_userid, content=content)

    def staff_confirm_mass_task(self, corp_id: str, msgid: str, userid: str,
                                external_userids: list[str] | None = None) -> dict[str, Any]:
        """The member confirms a mass-message task; recipients get it subject to friendship and quota."""
        with self.state.lock:
            outcome = broadcasts.confirm_task(self.state, self.corp(corp_id), msgid, userid, external_userids)
            return {"msgid": msgid, "userid": userid, **outcome}

    def staff_publish_moment(self, corp_id: str, moment_id: str, userid: str) -> dict[str, Any]:
        """The member publishes a moment task to their customers."""
        with self.state.lock:
            corp = self.corp(corp_id)
            moment = corp.moments.get(moment_id)
            if moment is None:
                raise SimulationError(404, f"no moment {moment_id!r}")
            if userid not in moment.senders:
                raise SimulationError(409, f"{userid} is not a sender of {moment_id}")
            if moment.cancelled:
                raise SimulationError(409, "the moment task was cancelled")
            if userid in moment.published:
                raise SimulationError(409, "already published")
            moment.published[userid] = self.state.now_int()
            return {"moment_id": moment_id, "userid": userid}

    def staff_create_group(self, corp_id: str, owner: str, name: str, members: list[str] | None = None,
                           notice: str = "") -> dict[str, Any]:
        """The member creates a customer group (create event)."""
        with self.state.lock:
            corp = self.corp(corp_id)
            group, raised = groups.create_group(self.state, corp, owner, name, members or [], notice)
            self._emit(corp, raised)
            return {"chat_id": group.chat_id, "members": len(group.members)}

    def staff_rename_group(self, corp_id: str, chat_id: str, name: str) -> dict[str, Any]:
        with self.state.lock:
            corp = self.corp(corp_id)
            group = corp.groups.get(chat_id)
            if group is None or group.dismissed:
                raise SimulationError(404, f"no group {chat_id!r}")
            self._emit(corp, groups.rename(self.state, corp, group, name))
            return {"chat_id": chat_id, "name": name}

    def staff_dismiss_group(self, corp_id: str, chat_id: str) -> dict[str, Any]:
        with self.state.lock:
            corp = self.corp(corp_id)
            group = corp.groups.get(chat_id)
            if group is None or group.dismissed:
                raise SimulationError(404, f"no group {chat_id!r}")
            self._emit(corp, groups.dismiss(self.state, corp, group))
            return {"chat_id": chat_id}

    def staff_resign(self, corp_id: str, userid: str) -> dict[str, Any]:
        """The member leaves the corp: customers and groups await inheritance; delete_user event."""
        with self.state.lock:
            corp = self.corp(corp_id)
            member = self._member(corp, userid)
            now = self.state.now_int()
            member.status, member.resigned_at = 5, now
            for group in corp.groups.values():
                if group.owner == userid and not group.dismissed:
                    group.status = 1
            self._emit(corp, [events.contact_user(corp.corp_id, now, "delete_user", userid)])
            return {"userid": userid, "customers": len(corp.customers_by_user.get(userid, {}))}

    def hold_welcome_code(self, corp_id: str, welcome_code: str, seconds: float) -> dict[str, Any]:
        """Another app starts distributing a welcome message with this code: 41096 for ``seconds``."""
        with self.state.lock:
            code = self.corp(corp_id).welcome_codes.get(welcome_code)
            if code is None:
                raise SimulationError(404, "no such welcome code")
            code.held_until = self.state.now() + seconds
            return {"welcome_code": welcome_code, "held_until": code.held_until}

