"""Simulated admin-console actions and emulator configuration.

Corp tags and the address book changed by an admin in WeCom's console raise ``change_external_tag`` and
``change_contact`` callbacks — unlike the same changes made through the API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from siyu.emulator.wecom import events
from siyu.emulator.wecom.api import ApiContext
from siyu.emulator.wecom.api_customers import add_tags, delete_tags, edit_tag
from siyu.emulator.wecom.callbacks import verify_callback_url
from siyu.emulator.wecom.entities import App, Department, Member
from siyu.emulator.wecom.errors import SimulationError, WeComError
from siyu.emulator.wecom.state import QUOTA_RULES, CallbackConfig, Corp, RateLimits
from siyu.kit.clock import TestClock

if TYPE_CHECKING:
    import httpx

    from siyu.emulator.wecom.state import EmulatorState


def corp_credentials(corp: Corp) -> dict[str, Any]:
    """What an integrator copies from the admin console: corp id, secrets, callback settings."""
    by_kind = {app.kind: app.secret for app in corp.apps.values() if app.kind != "agent"}
    return {
        "corp_id": corp.corp_id, "name": corp.name,
        "contact_secret": by_kind.get("contact", ""), "address_book_secret": by_kind.get("address_book", ""),
        "agents": [{"agent_id": a.agent_id, "secret": a.secret, "customer_contact": a.customer_contact}
                   for a in corp.apps.values() if a.kind == "agent"],
        "callback": {"url": corp.callback.url, "token": corp.callback.token,
                     "encoding_aes_key": corp.callback.encoding_aes_key, "agent_id": corp.callback.agent_id},
        "quota_rule": corp.quota_rule, "transfer_delay_seconds": corp.transfer_delay_seconds,
        "takeover_customer_limit": corp.takeover_customer_limit,
        "rate_limits": {"per_minute": corp.rate_limits.per_minute, "per_hour": corp.rate_limits.per_hour,
                        "moment_tasks_per_minute": corp.rate_limits.moment_tasks_per_minute},
    }


class AdminActions:
    """Mixin for ``Simulator``: admin-console actions and configuration."""

    state: EmulatorState
    http_client: httpx.Client | None = None

    if TYPE_CHECKING:  # provided by Simulator, which mixes this class in
        def corp(self, corp_id: str) -> Corp: ...

        def _emit(self, corp: Corp, raised: list[str]) -> None: ...

    # -- emulator configuration ------------------------------------------------------------------
    def create_corp(self, corp_id: str | None = None, name: str = "演示品牌", *, callback_url: str = "",
                    callback_token: str | None = None, encoding_aes_key: str | None = None,
                    contact_secret: str | None = None, address_book_secret: str | None = None,
                    agent_secret: str | None = None, agent_id: int = 1000002) -> dict[str, Any]:
        """A new corp with its secrets (generated unless given) and callback settings."""
        with self.state.lock:
            if corp_id and corp_id in self.state.corps:
                raise SimulationError(409, f"corp {corp_id} exists")
            apps = [App(secret=contact_secret or self.state.new_secret(43), kind="contact"),
                    App(secret=address_book_secret or self.state.new_secret(43), kind="address_book"),
                    App(secret=agent_secret or self.state.new_secret(43), kind="agent", agent_id=agent_id,
                        customer_contact=True)]
            corp = self.state.create_corp(corp_id, name, apps=apps)
            if callback_token:
                corp.callback.token = callback_token
            if encoding_aes_key:
                self._check_aes_key(encoding_aes_key)
                corp.callback.encoding_aes_key = encoding_aes_key
            corp.callback.url = callback_url
            return corp_credentials(corp)

    @staticmethod
    def _check_aes_key(key: str) -> None:
        if len(key) != 43 or not key.isalnum():
            raise SimulationError(422, "EncodingAESKey must be 43 alphanumeric characters")

    def credentials(self, corp_id: str) -> dict[str, Any]:
        with self.state.lock:
            return corp_credentials(self.corp(corp_id))

    def configure(self, corp_id: str, *, callback_url: str | None = None, callback_token: str | None = None,
                  encoding_aes_key: str | None = None, agent_id: str | None = None,
                  quota_rule: str | None = None, transfer_delay_seconds: int | None = None,
                  takeover_customer_limit: int | None = None, rate_limits: dict[str, Any] | None = None,
                  verify_callback_url_now: bool = False) -> dict[str, Any]:
        """Change callback settings, quota rule, transfer delay, limits; optionally run the URL check."""
        if quota_rule is not None and quota_rule not in QUOTA_RULES:
            raise SimulationError(422, f"quota_rule is one of {', '.join(QUOTA_RULES)}")
        if encoding_aes_key is not None:
            self._check_aes_key(encoding_aes_key)
        with self.state.lock:
            corp = self.corp(corp_id)
            callback = corp.callback
            candidate = CallbackConfig(
                url=callback.url if callback_url is None else callback_url,
                token=callback_token or callback.token,
                encoding_aes_key=encoding_aes_key or callback.encoding_aes_key,
                agent_id=callback.agent_id if agent_id is None else str(agent_id))
            now = self.state.now_int()
        verification = None
        if verify_callback_url_now and candidate.url:
            # WeCom refuses to save a URL that does not echo the decrypted echostr.
            ok, detail = verify_callback_url(candidate.url, candidate.token, candidate.encoding_aes_key,
                                             corp_id, now, self.http_client)
            if not ok:
                raise SimulationError(409, f"callback URL verification failed: {detail}")
            verification = detail
        with self.state.lock:
            corp.callback = candidate
            if quota_rule is not None:
                corp.quota_rule = quota_rule
            if transfer_delay_seconds is not None:
                corp.transfer_delay_seconds = int(transfer_delay_seconds)
            if takeover_customer_limit is not None:
                corp.takeover_customer_limit = int(takeover_customer_limit)
            if rate_limits is not None:
                corp.rate_limits = RateLimits(**{k: rate_limits.get(k) for k in
                                                 ("per_minute", "per_hour", "moment_tasks_per_minute")})
                corp.rate_counters.clear()
            result = corp_credentials(corp)
        result["verification"] = verification
        return result

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        """Move a TestClock forward and let WeCom's timers run (due transfers, code expiry)."""
        clock = self.state.clock
        if not isinstance(clock, TestClock):
            raise SimulationError(409, "the emulator runs on the wall clock; only a TestClock can be advanced")
        clock.advance(float(seconds))
        self.state.tick()
        return {"now": clock.now().isoformat(), "timestamp": int(clock.now().timestamp())}

    # -- admin console: corp tags ----------------------------------------------------------------
    def _context(self, corp: Corp) -> ApiContext:
        return ApiContext(state=self.state, corp=corp, app=App(secret="", kind="contact"))

    def admin_create_tags(self, corp_id: str, tags: list[str], *, group_name: str | None = None,
                          group_id: str | None = None) -> dict[str, Any]:
        """The admin adds tags (and maybe a new group): change_external_tag create events."""
        with self.state.lock:
            corp = self.corp(corp_id)
            existing = set(corp.tags) | set(corp.tag_groups)
            try:
                group, created = add_tags(self._context(corp), {"group_id": group_id, "group_name": group_name,
                                                               "tag": [{"name": n} for n in tags]})
            except WeComError as error:
                raise SimulationError(409, str(error)) from error
            now = self.state.now_int()
            raised = []
            if group.group_id not in existing:
                raised.append(events.external_tag(corp.corp_id, now, "create", group.group_id, "tag_group"))
            raised += [events.external_tag(corp.corp_id, now, "create", t.id, "tag")
                       for t in created if t.id not in existing]
            self._emit(corp, raised)
            return {"group_id": group.group_id, "tag_ids": [t.id for t in created]}

    def admin_update_tag(self, corp_id: str, id: str, *, name: str | None = None,
                         order: int | None = None) -> dict[str, Any]:
        with self.state.lock:
            corp = self.corp(corp_id)
            try:
                kind = edit_tag(corp, {"id": id, "name": name, "order": order})
            except WeComError as error:
                raise SimulationError(409, str(error)) from error
            self._emit(corp, [events.external_tag(corp.corp_id, self.state.now_int(), "update", id, kind)])
            return {"id": id, "tag_type": kind}

    def admin_delete_tags(self, corp_id: str, *, tag_id: list[str] | None = None,
                          group_id: list[str] | None = None) -> dict[str, Any]:
        """One delete event per deleted tag, and one (not one per tag) per deleted group."""
        with self.state.lock:
            corp = self.corp(corp_id)
            try:
                deleted = delete_tags(corp, list(tag_id or []), list(group_id or []))
            except WeComError as error:
                raise SimulationError(409, str(error)) from error
            now = self.state.now_int()
            self._emit(corp, [events.external_tag(corp.corp_id, now, "delete", i, k) for i, k in deleted])
            return {"deleted": [i for i, _ in deleted]}

    def admin_shuffle_tags(self, corp_id: str, group_id: str = "") -> dict[str, Any]:
        """The admin re-orders the tags of a group (empty = all groups)."""
        with self.state.lock:
            corp = self.corp(corp_id)
            targets = [corp.tag_groups[group_id]] if group_id in corp.tag_groups else list(corp.tag_groups.values())
            for group in targets:
                group.tag_ids.reverse()
                for position, tag_id in enumerate(group.tag_ids):
                    corp.tags[tag_id].order = len(group.tag_ids) - position
            self._emit(corp, [events.external_tag(corp.corp_id, self.state.now_int(), "shuffle", group_id)])
            return {"group_id": group_id}

    # -- admin console: address book -------------------------------------------------------------
    def admin_add_department(self, corp_id: str, name: str, parentid: int = 1, order: int = 0) -> dict[str, Any]:
        with self.state.lock:
            corp = self.corp(corp_id)
            if parentid not in corp.departments:
                raise SimulationError(404, f"no department {parentid}")
            department = Department(id=corp.next_department_id, name=name, parentid=parentid, order=order)
            corp.next_department_id += 1
            corp.departments[department.id] = department
            self._emit(corp, [events.contact_party(corp.corp_id, self.state.now_int(), "create_party",
                                                   department.id, name=name, parent_id=parentid, order=order)])
            return {"id": department.id}

    def admin_update_department(self, corp_id: str, id: int, *, name: str | None = None,
                                parentid: int | None = None, order: int | None = None) -> dict[str, Any]:
        with self.state.lock:
            corp = self.corp(corp_id)
            department = corp.departments.get(id)
            if department is None:
                raise SimulationError(404, f"no department {id}")
            if parentid is not None and (parentid not in corp.departments or parentid in corp.department_tree(id)):
                raise SimulationError(409, "invalid parent department")
            department.name = name if name is not None else department.name
            department.parentid = parentid if parentid is not None else department.parentid
            department.order = order if order is not None else department.order
            self._emit(corp, [events.contact_party(corp.corp_id, self.state.now_int(), "update_party", id,
                                                   name=name, parent_id=parentid)])
            return {"id": id}

    def admin_delete_department(self, corp_id: str, id: int) -> dict[str, Any]:
        with self.state.lock:
            corp = self.corp(corp_id)
            if id not in corp.departments or id == 1:
                raise SimulationError(404, f"no deletable department {id}")
            if any(d.parentid == id for d in corp.departments.values()) or any(
                    id in m.department for m in corp.members.values() if m.status != 5):
                raise SimulationError(409, "the department still has sub-departments or members")
            del corp.departments[id]
            self._emit(corp, [events.contact_party(corp.corp_id, self.state.now_int(), "delete_party", id)])
            return {"id": id}

    def admin_add_user(self, corp_id: str, userid: str, name: str, *, department: list[int] | None = None,
                       position: str = "", mobile: str = "", customer_contact: bool = True) -> dict[str, Any]:
        with self.state.lock:
            corp = self.corp(corp_id)
            if userid in corp.members:
                raise SimulationError(409, f"userid {userid} exists")
            departments = department or [1]
            if any(d not in corp.departments for d in departments):
                raise SimulationError(404, "unknown department")
            corp.members[userid] = Member(userid=userid, name=name, department=departments,
                                          main_department=departments[0], position=position, mobile=mobile,
                                          customer_contact=customer_contact)
            self._emit(corp, [events.contact_user(corp.corp_id, self.state.now_int(), "create_user", userid,
                                                  name=name, departments=departments,
                                                  main_department=departments[0], position=position, status=1)])
            return {"userid": userid}

    def admin_update_user(self, corp_id: str, userid: str, *, name: str | None = None,
                          department: list[int] | None = None, position: str | None = None,
                          customer_contact: bool | None = None) -> dict[str, Any]:
        with self.state.lock:
            corp = self.corp(corp_id)
            member = corp.members.get(userid)
            if member is None or member.status == 5:
                raise SimulationError(404, f"no member {userid!r}")
            if department is not None and (not department or any(d not in corp.departments for d in department)):
                raise SimulationError(404, "unknown department")
            member.name = name if name is not None else member.name
            if department is not None:
                member.department, member.main_department = list(department), department[0]
            member.position = position if position is not None else member.position
            if customer_contact is not None:
                member.customer_contact = customer_contact
            self._emit(corp, [events.contact_user(corp.corp_id, self.state.now_int(), "update_user", userid,
                                                  name=name, departments=department, position=position)])
            return {"userid": userid}
