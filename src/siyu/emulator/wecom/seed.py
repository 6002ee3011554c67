"""Deterministic seeding of an emulated corp: departments, staff, customers, tags, contact ways, groups.

Fast enough to build 300 staff and 100 000 customers in a couple of seconds (for sync benchmarks):
plain loops over slot dataclasses, one ``random.Random(seed)`` and no callbacks (this is the world as
it already was before siyu connected).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from siyu.emulator.wecom.entities import (
    ContactWay,
    Department,
    ExternalContact,
    Follow,
    GroupChat,
    GroupMember,
    Member,
    Tag,
    TagGroup,
)
from siyu.emulator.wecom.state import Corp, EmulatorState

SURNAMES = [
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("林", "lin"),
    ("高", "gao"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
    ("唐", "tang"), ("许", "xu"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"),
    ("彭", "peng"), ("曾", "zeng"), ("肖", "xiao"), ("田", "tian"), ("董", "dong"), ("潘", "pan"),
    ("袁", "yuan"), ("蔡", "cai"), ("蒋", "jiang"), ("余", "yu"), ("于", "yu"), ("杜", "du"),
]
GIVEN = list("伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力斌宇浩凯"
             "婷雪琳晨欣怡佳悦涵梓萱子轩一诺思雨若汐可馨嘉怡诗琪晓东海波鹏飞俊峰")
NICKNAMES = ["小鱼儿", "阳光", "快乐每一天", "Lily", "Amy", "晴天", "向日葵", "Coco", "追梦人",
             "简单", "微笑", "清风", "奶茶", "Mia", "Kevin", "橙子", "月亮", "Sunny"]
REGIONS = ["华东大区", "华南大区", "华北大区", "西南大区", "华中大区", "西北大区"]
CITIES = ["上海", "杭州", "南京", "苏州", "广州", "深圳", "北京", "天津", "成都", "重庆", "武汉", "西安"]
POSITIONS = ["导购", "导购", "导购", "店长", "客服", "会员专员"]
TAG_GROUPS = {
    "客户等级": ["普通会员", "银卡会员", "金卡会员", "黑钻会员"],
    "兴趣偏好": ["护肤", "彩妆", "香氛", "个护", "母婴"],
    "来源渠道": ["门店", "直播", "小程序", "公众号", "裂变活动"],
    "消费力": ["高", "中", "低"],
}
CONTACT_WAY_STATES = [("门店二维码", "store_qr"), ("直播间引流", "live_room"), ("小程序下单页", "mini_order"),
                      ("公众号菜单", "mp_menu"), ("老带新裂变", "fission")]


def chinese_name(rng: random.Random) -> tuple[str, str]:
    """A Chinese full name and the pinyin of its surname."""
    surname, pinyin = rng.choice(SURNAMES)
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
    return surname + given, pinyin


@dataclass
class SeedSummary:
    corp_id: str
    departments: int
    staff: list[str] = field(default_factory=list)
    customers: int = 0
    groups: int = 0
    contact_ways: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def seed_corp(state: EmulatorState, corp_id: str, *, departments: int = 8, staff: int = 20,
              customers: int = 200, seed: int = 0, groups: int | None = None,
              name: str = "演示品牌") -> SeedSummary:
    """Fill (creating if needed) ``corp_id`` with a realistic, reproducible population.

    ``departments`` counts the non-root departments (regions and their stores); ``groups`` defaults
    to one customer group per three staff.
    """
    rng = random.Random(seed)
    with state.lock:
        corp = state.corps.get(corp_id) or state.create_corp(corp_id, name)
        now = state.now_int()
        store_ids = _departments(corp, departments)
        summary = SeedSummary(corp_id=corp_id, departments=len(corp.departments))
        summary.staff = _staff(corp, rng, staff, store_ids)
        summary.tags = _tags(state, corp, now)
        summary.contact_ways = _contact_ways(state, corp, rng, summary.staff, now)
        _customers(state, corp, rng, customers, summary, now)
        summary.customers = len(corp.customers)
        summary.groups = _groups(state, corp, rng, summary.staff, staff // 3 if groups is None else groups, now)
        return summary


def _departments(corp: Corp, count: int) -> list[int]:
    if count <= 0:
        return [1]
    regions = max(1, min(len(REGIONS), count // 4))
    start = max(corp.departments) + 1
    for index in range(regions):
        department = Department(id=start + index, name=REGIONS[index], parentid=1, order=1000 - index,
                                name_en=f"region{index + 1}")
        corp.departments[department.id] = department
    stores = []
    for index in range(count - regions):
        department_id = start + regions + index
        city = CITIES[index % len(CITIES)]
        corp.departments[department_id] = Department(
            id=department_id, name=f"{city}{index // len(CITIES) + 1}号店", parentid=start + index % regions,
            order=500 - index, name_en=f"store{index + 1}")
        stores.append(department_id)
    ids = stores or list(range(start, start + regions))
    corp.next_department_id = max(corp.departments) + 1
    return ids


def _staff(corp: Corp, rng: random.Random, count: int, store_ids: list[int]) -> list[str]:
    userids = []
    for index in range(count):
        full_name, pinyin = chinese_name(rng)
        userid = f"{pinyin}{len(corp.members) + 1:04d}"
        department = store_ids[index % len(store_ids)]
        position = rng.choice(POSITIONS)
        corp.members[userid] = Member(
            userid=userid, name=full_name, department=[department], main_department=department,
            position=position, mobile=f"13{rng.randrange(100000000, 999999999)}", gender=rng.choice("12"),
            email=f"{userid}@brand.example", alias=full_name[-1] + "老师",
            avatar=f"https://wework.qpic.cn/wwhead/{userid}/0", order=[0],
            is_leader_in_dept=[1 if position == "店长" else 0])
        if position == "店长":
            corp.departments[department].department_leader.append(userid)
        userids.append(userid)
    return userids


def _tags(state: EmulatorState, corp: Corp, now: int) -> list[str]:
    ids = []
    for order, (group_name, names) in enumerate(TAG_GROUPS.items()):
        if any(g.group_name == group_name for g in corp.tag_groups.values()):
            continue
        group = TagGroup(group_id=state.new_id("et", 26, "AAAA"), group_name=group_name,
                         create_time=now - 400 * 86400, order=100 - order)
        corp.tag_groups[group.group_id] = group
        for tag_order, tag_name in enumerate(names):
            tag = Tag(id=state.new_id("et", 26, "AAAA"), name=tag_name, group_id=group.group_id,
                      create_time=group.create_time, order=100 - tag_order)
            corp.tags[tag.id] = tag
            group.tag_ids.append(tag.id)
            ids.append(tag.id)
    return ids


def _contact_ways(state: EmulatorState, corp: Corp, rng: random.Random, staff: list[str], now: int) -> list[str]:
    if not staff:
        return []
    ids = []
    for remark, way_state in CONTACT_WAY_STATES:
        users = rng.sample(staff, k=min(len(staff), rng.randint(1, 5)))
        way = ContactWay(config_id=state.new_hex(32), type=1 if len(users) == 1 else 2, scene=2,
                         create_time=now - 30 * 86400, remark=remark, skip_verify=rng.random() < 0.8,
                         state=way_state, user=users,
                         qr_code=f"http://p.qpic.cn/wwhead/{state.new_id('duc', 29)}/0")
        corp.contact_ways[way.config_id] = way
        ids.append(way.config_id)
    return ids


def _customers(state: EmulatorState, corp: Corp, rng: random.Random, count: int, summary: SeedSummary,
               now: int) -> None:
    staff = summary.staff
    if not staff:
        return
    states = [s for _, s in CONTACT_WAY_STATES]
    tag_groups = [list(corp.tag_groups[g].tag_ids) for g in corp.tag_groups]
    year = 365 * 86400
    for _ in range(count):
        full_name, _pinyin = chinese_name(rng)
        external_userid = state.new_id("wm", 26, "AAAA")
        customer = ExternalContact(
            external_userid=external_userid, name=rng.choice(NICKNAMES) if rng.random() < 0.3 else full_name,
            gender=rng.choice((0, 1, 2, 2)), avatar=f"http://wx.qlogo.cn/mmhead/{external_userid[2:14]}/0",
            unionid="o" + state.new_id("", 27))
        followers = [rng.choice(staff)]
        if rng.random() < 0.08:
            followers.append(rng.choice(staff))
        for userid in dict.fromkeys(followers):
            created = now - rng.randrange(86400, year)
            tags = [rng.choice(group) for group in tag_groups if group and rng.random() < 0.4]
            customer.follows[userid] = Follow(
                userid=userid, createtime=created, add_way=rng.choice((1, 1, 1, 2, 3, 4)),
                state=rng.choice(states) if rng.random() < 0.6 else "", oper_userid=external_userid,
                remark=full_name if rng.random() < 0.2 else "", tag_ids=tags,
                last_chat_at=created + rng.randrange(0, 86400 * 30))
            corp.link(external_userid, userid)
        corp.customers[external_userid] = customer


def _groups(state: EmulatorState, corp: Corp, rng: random.Random, staff: list[str], count: int, now: int) -> int:
    created = 0
    for index in range(count):
        if not staff:
            break
        owner = staff[index % len(staff)]
        candidates = list(corp.customers_by_user.get(owner, {}))
        if not candidates:
            continue
        create_time = now - rng.randrange(7 * 86400, 200 * 86400)
        group = GroupChat(chat_id=state.new_id("wr", 26, "AAAA"), name=f"{corp.members[owner].name}的VIP福利群{index + 1}",
                          owner=owner, create_time=create_time, notice="欢迎加入，每周三会员日有专属福利")
        group.members[owner] = GroupMember(userid=owner, type=1, join_time=create_time, join_scene=1,
                                           name=corp.members[owner].name)
        for external_userid in rng.sample(candidates, k=min(len(candidates), rng.randint(3, 150))):
            customer = corp.customers[external_userid]
            group.members[external_userid] = GroupMember(
                userid=external_userid, type=2, join_time=create_time + rng.randrange(0, 86400 * 5),
                join_scene=rng.choice((1, 2, 3)), invitor=owner, name=customer.name, unionid=customer.unionid)
        corp.groups[group.chat_id] = group
        created += 1
    return created
