"""A population of WeChat users and staff that keeps the demo alive.

A background thread performs simulated actions at a steady rate (``events_per_minute``): new people scan
the corp's contact ways (each way's ``state`` travels with the add), members accept half-added
customers, customers and staff chat, customers join and leave groups, and now and then a customer deletes
the member. Every action goes through ``Simulator`` so it raises the same callbacks a person would.
Given the same seed and starting state, ``step()`` produces the same sequence of actions.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from typing import Any

from siyu.emulator.wecom.errors import SimulationError
from siyu.emulator.wecom.simulation import Simulator
from siyu.emulator.wecom.state import CUSTOMER_GROUP_MAX_MEMBERS

GREETINGS = ["你好，想咨询一下新品", "请问有优惠吗？", "我上次买的精华快用完了", "门店几点关门？",
             "可以帮我查下订单吗", "谢谢！", "收到啦", "会员日是哪天？", "有没有适合敏感肌的推荐"]
REPLIES = ["您好，很高兴为您服务～", "这款本周会员价 8 折哦", "已帮您查询，明天送达", "门店营业到晚上 10 点",
           "给您推荐我们的修护系列", "不客气，有需要随时找我"]
# (action, weight): scans dominate so the corp grows; deletions stay rare like in real life.
ACTIONS = [("scan", 30), ("accept", 12), ("customer_message", 20), ("staff_reply", 14),
           ("join_group", 9), ("group_message", 8), ("leave_group", 4), ("delete_staff", 3)]


class PopulationSimulator:
    """Drives one corp with a steady, deterministic flow of simulated actions."""

    def __init__(self, simulator: Simulator, corp_id: str, *, events_per_minute: float = 30.0,
                 seed: int = 0) -> None:
        if events_per_minute <= 0:
            raise ValueError("events_per_minute must be positive")
        self.simulator = simulator
        self.corp_id = corp_id
        self.events_per_minute = events_per_minute
        self.seed = seed
        self._random = random.Random(seed)
        self._pending_accepts: list[tuple[str, str]] = []
        self.recent: deque[dict[str, Any]] = deque(maxlen=200)
        self.performed = 0
        self.skipped = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one action ------------------------------------------------------------------------------
    def step(self) -> dict[str, Any] | None:
        """Perform one action (or None when the chosen one is impossible right now)."""
        names = [name for name, _ in ACTIONS]
        action = self._random.choices(names, weights=[w for _, w in ACTIONS])[0]
        try:
            with self.simulator.state.lock:
                result = getattr(self, f"_{action}")()
        except SimulationError:
            result = None
        if result is None:
            self.skipped += 1
            return None
        self.performed += 1
        entry = {"action": action, **result}
        self.recent.append(entry)
        return entry

    def run_steps(self, count: int) -> list[dict[str, Any]]:
        """Perform ``count`` actions synchronously (tests, seeding a demo's history)."""
        return [entry for entry in (self.step() for _ in range(count)) if entry is not None]

    def _corp(self):
        return self.simulator.corp(self.corp_id)

    def _scan(self) -> dict[str, Any] | None:
        corp = self._corp()
        ways = [w for w in corp.contact_ways.values() if not w.is_temp]
        if not ways:
            return None
        way = self._random.choice(ways)
        result = self.simulator.scan_contact_way(self.corp_id, way.config_id)
        if result["half"]:
            self._pending_accepts.append((result["userid"], result["external_userid"]))
        return result

    def _accept(self) -> dict[str, Any] | None:
        if not self._pending_accepts:
            return None
        userid, external_userid = self._pending_accepts.pop(0)
        return self.simulator.accept(self.corp_id, userid, external_userid)

    def _relation(self) -> tuple[str, str] | None:
        corp = self._corp()
        members = [u for u, customers in corp.customers_by_user.items()
                   if customers and corp.members.get(u) and corp.members[u].status == 1]
        if not members:
            return None
        userid = self._random.choice(members)
        external_userid = self._random.choice(list(corp.customers_by_user[userid]))
        if corp.customers[external_userid].follows[userid].half:
            return None
        return userid, external_userid

    def _customer_message(self) -> dict[str, Any] | None:
        relation = self._relation()
        if relation is None:
            return None
        userid, external_userid = relation
        return self.simulator.send_chat_message(self.corp_id, external_userid, receiver=userid,
                                                content=self._random.choice(GREETINGS))

    def _staff_reply(self) -> dict[str, Any] | None:
        waiting = list(self._corp().awaiting_reply)
        if not waiting:
            return None
        userid, external_userid = self._random.choice(waiting)
        return self.simulator.send_chat_message(self.corp_id, userid, receiver=external_userid,
                                                content=self._random.choice(REPLIES))

    def _join_group(self) -> dict[str, Any] | None:
        corp = self._corp()
        if corp.join_ways and self._random.random() < 0.5:
            way = self._random.choice(list(corp.join_ways.values()))
            owner_group = corp.groups.get(way.chat_id_list[0]) if way.chat_id_list else None
            if owner_group is None:
                return None
            candidates = [e for e in corp.customers_by_user.get(owner_group.owner, {})
                          if all(e not in corp.groups[c].members for c in way.chat_id_list if c in corp.groups)]
            if not candidates:
                return None
            member = self._random.choice(candidates[:500])
            return self.simulator.join_group(self.corp_id, member, join_way=way.config_id)
        groups = [g for g in corp.groups.values()
                  if not g.dismissed and len(g.members) < CUSTOMER_GROUP_MAX_MEMBERS]
        if not groups:
            return None
        group = self._random.choice(groups)
        candidates = [e for e in list(corp.customers_by_user.get(group.owner, {}))[:2000] if e not in group.members]
        if not candidates:
            return None
        return self.simulator.join_group(self.corp_id, self._random.choice(candidates), chat_id=group.chat_id,
                                         join_scene=self._random.choice((1, 2, 3)))

    def _group_message(self) -> dict[str, Any] | None:
        groups = [g for g in self._corp().groups.values() if not g.dismissed and len(g.members) > 1]
        if not groups:
            return None
        group = self._random.choice(groups)
        sender = self._random.choice(list(group.members))
        return self.simulator.send_chat_message(self.corp_id, sender, chat_id=group.chat_id,
                                                content=self._random.choice(GREETINGS + REPLIES))

    def _leave_group(self) -> dict[str, Any] | None:
        groups = [g for g in self._corp().groups.values() if not g.dismissed and len(g.members) > 2]
        if not groups:
            return None
        group = self._random.choice(groups)
        leaving = self._random.choice([m for m in group.members if m != group.owner])
        return self.simulator.leave_group(self.corp_id, group.chat_id, leaving, self._random.choice((0, 0, 1)))

    def _delete_staff(self) -> dict[str, Any] | None:
        relation = self._relation()
        if relation is None:
            return None
        userid, external_userid = relation
        return self.simulator.customer_delete_staff(self.corp_id, external_userid, userid)

    # -- background thread -----------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"wecom-population-{self.corp_id}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        interval = 60.0 / self.events_per_minute
        while not self._stop.wait(interval):
            self.simulator.state.tick()
            self.step()

    def status(self) -> dict[str, Any]:
        return {"corp_id": self.corp_id, "running": self.running, "events_per_minute": self.events_per_minute,
                "seed": self.seed, "performed": self.performed, "skipped": self.skipped,
                "recent": list(self.recent)[-20:]}
