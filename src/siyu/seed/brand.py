"""The organisation of the fictional brand: HQ → regional branches → city stores → staff, and the
console users of the demo.

These are a few hundred rows at most, written through the ORM; the bulk tables (customers,
identities, relations, orders) are written set-based by ``population`` and ``orders``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session

from siyu.kit.security import hash_password
from siyu.models import Corp, Department, DepartmentKind, Role, Staff, StaffStatus, User
from siyu.seed.names import NameSource, PhoneNumbers
from siyu.seed.scales import Scale, Window

BRAND_NAME = "鲜果时光"
#: Regions in the order a growing brand opens them, each with real cities and their shopping
#: districts (商圈); stores beyond the named districts open in well-known mall chains.
REGIONS: tuple[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], ...] = (
    ("华东大区", (
        ("上海", ("徐家汇", "静安寺", "五角场", "陆家嘴", "中山公园", "七宝", "南京西路", "虹桥天地")),
        ("杭州", ("武林广场", "湖滨", "滨江星光大道", "城西银泰", "西溪")),
        ("南京", ("新街口", "河西", "夫子庙", "仙林")),
        ("苏州", ("观前街", "金鸡湖", "石路")),
        ("宁波", ("天一广场", "鄞州", "老外滩")),
    )),
    ("华南大区", (
        ("广州", ("天河城", "北京路", "珠江新城", "番禺", "江南西")),
        ("深圳", ("福田", "南山海岸城", "东门", "宝安中心", "龙华")),
        ("佛山", ("祖庙", "千灯湖")),
        ("东莞", ("南城", "松山湖")),
        ("厦门", ("中山路", "湖里")),
    )),
    ("华北大区", (
        ("北京", ("三里屯", "国贸", "望京", "中关村", "五道口", "西单")),
        ("天津", ("滨江道", "小白楼", "梅江")),
        ("济南", ("泉城路", "高新区")),
        ("青岛", ("台东", "五四广场")),
        ("石家庄", ("北国商城", "裕华路")),
    )),
    ("华中大区", (
        ("武汉", ("江汉路", "光谷", "楚河汉街", "武广")),
        ("长沙", ("五一广场", "梅溪湖")),
        ("郑州", ("二七广场", "郑东新区")),
        ("合肥", ("淮河路", "政务区")),
        ("南昌", ("八一广场", "红谷滩")),
    )),
    ("西南大区", (
        ("成都", ("春熙路", "太古里", "天府广场", "高新南区")),
        ("重庆", ("解放碑", "观音桥", "三峡广场")),
        ("昆明", ("南屏街", "翠湖")),
        ("贵阳", ("喷水池", "花果园")),
        ("南宁", ("朝阳广场", "青秀")),
    )),
    ("西北大区", (
        ("西安", ("钟楼", "小寨", "曲江")),
        ("兰州", ("西关", "东方红广场")),
        ("银川", ("新华街", "金凤")),
        ("西宁", ("大十字", "海湖新区")),
        ("乌鲁木齐", ("友好", "大巴扎")),
    )),
)
MALLS = ("万达广场", "吾悦广场", "万象城", "龙湖天街", "大悦城", "印象城", "银泰城", "凯德广场", "宝龙广场",
         "天虹", "永旺梦乐城", "华润万家")
#: username, role and display name of the demo's console users (all share the demo password).
CONSOLE_USERS = (
    ("admin", Role.admin, "系统管理员"),
    ("operator", Role.hq_operator, "总部运营"),
    ("manager", Role.store_manager, "店长"),
    ("auditor", Role.auditor, "合规审计"),
    ("guide", Role.staff, "导购"),
)


@dataclass
class StoreInfo:
    id: int
    name: str
    city: str
    branch: int
    #: the POS shop code printed on receipts (the ``shop`` of its orders)
    code: str
    #: relative size: how many customers call this store home
    weight: float
    #: staff indexes working here
    staff: list[int] = field(default_factory=list)
    #: other stores in the same city (or branch) where its customers sometimes shop
    neighbours: list[int] = field(default_factory=list)


@dataclass
class StaffInfo:
    id: int
    store: int
    name: str = ""
    #: window day the member resigned, None while employed
    resigned_day: int | None = None
    #: the colleague who inherits this member's customers on resignation (离职继承)
    successor: int | None = None


@dataclass
class BrandLayout:
    corp_id: int
    hq_id: int
    branch_ids: list[int]
    stores: list[StoreInfo]
    staff: list[StaffInfo]
    users: dict[str, int]

    def serving_staff(self, staff_index: int, day: int) -> int:
        """The staff member actually serving on ``day``: a resigned member's successor after they
        left."""
        member = self.staff[staff_index]
        while member.resigned_day is not None and day >= member.resigned_day and member.successor is not None:
            staff_index = member.successor
            member = self.staff[staff_index]
        return staff_index


def _store_names(scale: Scale) -> list[tuple[int, str, str]]:
    """(branch index, city, store name) for every store, spread evenly over branches and round
    robin over each branch's cities so the biggest cities get the most stores."""
    per_branch = [scale.stores // scale.branches + (1 if b < scale.stores % scale.branches else 0)
                  for b in range(scale.branches)]
    names: list[tuple[int, str, str]] = []
    for branch, count in enumerate(per_branch):
        cities = REGIONS[branch % len(REGIONS)][1]
        opened: dict[str, int] = {}
        for n in range(count):
            city, districts = cities[n % len(cities)]
            k = opened.get(city, 0)
            opened[city] = k + 1
            if k < len(districts):
                name = f"{city}{districts[k]}店"
            else:
                mall_index = k - len(districts)
                lap = mall_index // len(MALLS)
                name = f"{city}{MALLS[mall_index % len(MALLS)]}{'' if lap == 0 else f'{lap + 1}号'}店"
            names.append((branch, city, name))
    return names


def _department(session: Session, corp_id: int, kind: DepartmentKind, name: str, parent: Department | None,
                wecom_id: int, city: str | None = None) -> Department:
    department = Department(corp_id=corp_id, kind=kind, name=name, parent_id=parent.id if parent else None,
                            path="/", wecom_id=wecom_id, city=city)
    session.add(department)
    session.flush()
    department.path = f"{parent.path if parent else '/'}{department.id}/"
    return department


def create_brand(session: Session, *, slug: str, scale: Scale, window: Window, rng: random.Random,
                 names: NameSource, phones: PhoneNumbers, password: str) -> BrandLayout:
    """Write the corp, its department tree, staff and console users; return their ids."""
    corp = Corp(slug=slug, name=BRAND_NAME, timezone="Asia/Shanghai")
    session.add(corp)
    session.flush()
    hq = _department(session, corp.id, DepartmentKind.hq, f"{BRAND_NAME}总部", None, wecom_id=1)
    branches = [_department(session, corp.id, DepartmentKind.branch, REGIONS[b % len(REGIONS)][0], hq,
                            wecom_id=2 + b) for b in range(scale.branches)]
    stores: list[StoreInfo] = []
    for number, (branch, city, name) in enumerate(_store_names(scale)):
        department = _department(session, corp.id, DepartmentKind.store, name, branches[branch],
                                 wecom_id=100 + number, city=city)
        stores.append(StoreInfo(department.id, name, city, branch, code=f"{slug}-{number + 1:04d}",
                                weight=rng.gammavariate(3.0, 1.0)))
    for index, store in enumerate(stores):
        same_city = [i for i, s in enumerate(stores) if s.city == store.city and i != index]
        same_branch = [i for i, s in enumerate(stores) if s.branch == store.branch and i != index]
        store.neighbours = same_city or same_branch
    staff = _create_staff(session, corp.id, scale, window, rng, names, phones, stores)
    users = _create_users(session, corp.id, stores, staff, password)
    return BrandLayout(corp.id, hq.id, [b.id for b in branches], stores, staff, users)


def _create_staff(session: Session, corp_id: int, scale: Scale, window: Window, rng: random.Random,
                  names: NameSource, phones: PhoneNumbers, stores: list[StoreInfo]) -> list[StaffInfo]:
    rows: list[Staff] = []
    staff: list[StaffInfo] = []
    for index in range(scale.staff):
        store_index = index % len(stores)
        hired_day = -rng.randrange(30, 900)
        hired = window.start_utc + timedelta(days=hired_day, hours=rng.randrange(9, 18))
        name, _gender = names.person(rng)
        rows.append(Staff(corp_id=corp_id, userid=f"XG{index + 1:05d}", name=name, mobile=phones.staff(index),
                          department_id=None, status=StaffStatus.active, created_at=hired, updated_at=hired))
        staff.append(StaffInfo(0, store_index))
        stores[store_index].staff.append(index)
    # A few members left during the window; their customers passed to a colleague (离职继承). The
    # first member of the first store stays: the demo's staff login belongs to them.
    candidates = [i for i, s in enumerate(stores) if len(s.staff) >= 2]
    resign_count = min(max(1, scale.staff // 40), len(candidates))
    for store_index in rng.sample(candidates, resign_count):
        store = stores[store_index]
        leaver = store.staff[-1]
        earliest = window.days // 3
        staff[leaver].resigned_day = rng.randrange(earliest, max(earliest + 1, window.days - 14))
        staff[leaver].successor = store.staff[0]
    for row, info in zip(rows, staff, strict=True):
        row.department_id = stores[info.store].id
        if info.resigned_day is not None:
            row.status = StaffStatus.resigned
            row.resigned_at = window.start_utc + timedelta(days=info.resigned_day, hours=10)
            row.updated_at = row.resigned_at
        session.add(row)
    session.flush()
    for row, info in zip(rows, staff, strict=True):
        info.id = row.id
        info.name = row.name
    return staff


def _create_users(session: Session, corp_id: int, stores: list[StoreInfo], staff: list[StaffInfo],
                  password: str) -> dict[str, int]:
    password_hash = hash_password(password)
    first_store = stores[0]
    guide = staff[first_store.staff[0]]
    users: dict[str, int] = {}
    for username, role, display_name in CONSOLE_USERS:
        if role is Role.store_manager:
            display_name = f"{first_store.name}{display_name}"
        elif role is Role.staff:
            display_name = f"{display_name}{guide.name}"
        user = User(corp_id=corp_id, username=username, display_name=display_name,
                    password_hash=password_hash,
                    role=role, department_id=first_store.id if role is Role.store_manager else None,
                    staff_id=guide.id if role is Role.staff else None)
        session.add(user)
        session.flush()
        users[username] = user.id
    return users
