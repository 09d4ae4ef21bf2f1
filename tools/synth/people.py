"""Fake people, places and hospitals for one synthetic patient record.

Surnames (weighted by frequency) and administrative divisions come from the
licensed files in ``tools/synth/data`` (see its LICENSE.md).  Given names,
streets, companies and hospital names are assembled from word lists written
here.  All output is decided by the ``random.Random`` passed in.
"""

from __future__ import annotations

import csv
import random
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from tools.synth import ids

DATA_DIR = Path(__file__).resolve().parents[2] / "core" / "rules" / "data"

GIVEN_CHARS_F = "秀丽静敏燕艳娟霞芳玲婷雪琳丹萍红梅慧莉倩颖佳欣怡悦琪璐瑶妍晶楠洁蓉岚"
GIVEN_CHARS_M = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊峰建国志文龙海东晨阳"
GIVEN_CHARS_ANY = "春晓子嘉思雨宁一安可乐心语梓睿泽轩诗涵若博铭"
STREET_WORDS = "人民 解放 建设 中山 新华 胜利 和平 光明 长江 黄河 友谊 团结 文化 青年 东风 朝阳 振兴 幸福 学府 滨河".split()
ROAD_SUFFIX = ("路", "街", "大道", "巷")
ESTATE_WORDS = "锦绣 阳光 翠苑 华庭 金色 绿地 碧水 紫荆 书香 康乐 怡景 富康".split()
ESTATE_SUFFIX = ("小区", "花园", "家园", "新村", "公寓")
VILLAGE_WORDS = "王庄 李家 石桥 河口 柳林 杨湾 新屯 马坊 东岗 西营 南岭 北坡 高庙 枣园".split()
TOWN_WORDS = "城关 青山 白马 龙泉 双河 三里 清水 黄岗 仙桥 石门 金鸡 桃源".split()
COMPANY_WORDS = "华信 恒达 鼎盛 宏远 瑞丰 新元 永泰 金桥 汇通 天成 博远 安康".split()
COMPANY_KINDS = ("科技有限公司", "商贸有限公司", "建筑工程有限公司", "食品有限公司", "物流有限公司", "服装厂")
SCHOOL_KINDS = ("第一小学", "实验中学", "第二中学", "中心幼儿园")
EMAIL_DOMAINS = ("qq.com", "163.com", "126.com", "sina.com", "139.com")
PINYIN_SYLLABLES = (
    "wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he lin luo gao".split()
)

DOCTOR_TITLES = ("主任医师", "副主任医师", "主治医师", "住院医师")
NURSE_TITLES = ("护士长", "主管护师", "护师", "护士")
TECH_TITLES = ("检验师", "主管技师", "技师")


# ---------------------------------------------------------------- data files
@lru_cache(maxsize=1)
def surnames() -> tuple[list[str], list[int]]:
    names, weights = [], []
    with open(DATA_DIR / "surnames.tsv", encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 2 and parts[1].isdigit():
                names.append(parts[0])
                weights.append(int(parts[1]))
    # a few compound surnames so detectors meet them
    for compound, w in (("欧阳", 120), ("司马", 40), ("诸葛", 30), ("上官", 40), ("慕容", 20)):
        if compound not in names:
            names.append(compound)
            weights.append(w)
    return names, weights


def _read_csv(name: str) -> list[dict]:
    with open(DATA_DIR / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@lru_cache(maxsize=1)
def divisions() -> list[tuple[str, str, str, str]]:
    """(area_code, province, city, area) for every county-level division."""
    provinces = {r["code"]: r["name"] for r in _read_csv("provinces.csv")}
    cities = {r["code"]: r["name"] for r in _read_csv("cities.csv")}
    out = []
    for r in _read_csv("areas.csv"):
        prov = provinces.get(r["provinceCode"], "")
        city = cities.get(r["cityCode"], "")
        if city in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"):
            city = prov if prov.endswith("市") else ""
        if not prov or not city or r["name"] in ("市辖区",):
            continue
        out.append((r["code"], prov, city, r["name"]))
    return out


# ---------------------------------------------------------------- people
@dataclass
class Place:
    area_code: str
    province: str
    city: str
    area: str

    @property
    def city_short(self) -> str:
        return self.city[:-1] if len(self.city) > 2 and self.city[-1] in "市州盟" else self.city

    @property
    def province_short(self) -> str:
        for suffix in ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "特别行政区", "省", "市"):
            if self.province.endswith(suffix) and len(self.province) > len(suffix) + 1:
                return self.province[: -len(suffix)]
        return self.province

    @property
    def area_short(self) -> str:
        return self.area[:-1] if len(self.area) > 2 and self.area[-1] in "县区市旗" else self.area


@dataclass
class Person:
    name: str
    sex: str
    role: str = ""  # 患者 / 丈夫 / 母亲 / 主治医师 / 护士 …
    category: str = "person_name"  # core.models.Category value
    birth: str = ""  # ISO date
    age: str = ""
    id_number: str = ""
    id_number_15: str = ""
    phone: str = ""
    landline: str = ""
    address: str = ""
    workplace: str = ""
    email: str = ""
    title: str = ""  # professional title for staff

    @property
    def surname(self) -> str:
        for s in ("欧阳", "司马", "诸葛", "上官", "慕容"):
            if self.name.startswith(s):
                return s
        return self.name[:1]

    @property
    def masked(self) -> str:
        """How records often write a name: 王某某."""
        return self.surname + "某" * max(1, len(self.name) - len(self.surname))


@dataclass
class Hospital:
    name: str
    kind: str
    address: str = ""
    phone: str = ""
    website: str = ""


def pick_place(rng: random.Random) -> Place:
    return Place(*rng.choice(divisions()))


def surname(rng: random.Random) -> str:
    names, weights = surnames()
    return rng.choices(names, weights=weights, k=1)[0]


def given_name(rng: random.Random, sex: str) -> str:
    pool = (GIVEN_CHARS_F if sex == "女" else GIVEN_CHARS_M) + GIVEN_CHARS_ANY
    n = rng.choices((1, 2), weights=(3, 7), k=1)[0]
    return "".join(rng.choice(pool) for _ in range(n))


def full_name(rng: random.Random, sex: str, family: str | None = None) -> str:
    return (family or surname(rng)) + given_name(rng, sex)


def street_address(rng: random.Random, place: Place) -> str:
    if rng.random() < 0.25:
        town = rng.choice(TOWN_WORDS) + "镇"
        village = rng.choice(VILLAGE_WORDS) + "村"
        return f"{place.province}{place.city}{place.area}{town}{village}{rng.randint(1, 12)}组{rng.randint(1, 80)}号"
    road = rng.choice(STREET_WORDS) + rng.choice(ROAD_SUFFIX)
    estate = rng.choice(ESTATE_WORDS) + rng.choice(ESTATE_SUFFIX)
    prefix = place.city if place.province == place.city else place.province + place.city
    return (
        f"{prefix}{place.area}{road}{rng.randint(1, 399)}号{estate}"
        f"{rng.randint(1, 30)}栋{rng.randint(1, 6)}单元{rng.randint(1, 32)}{rng.randint(1, 4):02d}室"
    )


def workplace(rng: random.Random, place: Place) -> str:
    r = rng.random()
    if r < 0.5:
        return f"{place.city_short}{rng.choice(COMPANY_WORDS)}{rng.choice(COMPANY_KINDS)}"
    if r < 0.75:
        return f"{place.area_short}{rng.choice(SCHOOL_KINDS)}"
    return f"{place.city_short}市{rng.choice(('税务局', '供电公司', '自来水公司', '中心医院后勤部', '第三建筑公司'))}"


def email(rng: random.Random) -> str:
    user = "".join(rng.choice(PINYIN_SYLLABLES) for _ in range(2)) + str(rng.randint(1, 9999))
    if rng.random() < 0.4:
        user = ids.digits(rng, rng.randint(8, 10))
    return f"{user}@{rng.choice(EMAIL_DOMAINS)}"


def birth_for_age(rng: random.Random, ref: date, years: float) -> date:
    return ref - timedelta(days=int(years * 365.25) + rng.randrange(0, 300))


def age_text(birth: date, ref: date) -> str:
    days = (ref - birth).days
    if days < 28:
        return f"{max(days, 0)}天"
    if days < 365:
        return f"{days // 30}月"
    years = ref.year - birth.year - ((ref.month, ref.day) < (birth.month, birth.day))
    return f"{years}岁"


def make_adult(
    rng: random.Random,
    sex: str,
    role: str,
    category: str,
    ref: date,
    age_range: tuple[int, int] = (22, 60),
    family: str | None = None,
    place: Place | None = None,
) -> Person:
    place = place or pick_place(rng)
    birth = birth_for_age(rng, ref, rng.uniform(*age_range))
    p = Person(
        name=full_name(rng, sex, family),
        sex=sex,
        role=role,
        category=category,
        birth=birth.isoformat(),
        age=age_text(birth, ref),
        id_number=ids.id_number_18(rng, place.area_code, birth, sex),
        phone=ids.mobile(rng),
        address=street_address(rng, place),
        workplace=workplace(rng, place),
        email=email(rng),
    )
    if birth.year < 1985:
        p.id_number_15 = ids.id_number_15(rng, place.area_code, birth, sex)
    if rng.random() < 0.5:
        p.landline = ids.landline(rng)
    return p


def make_staff(rng: random.Random, kind: str, n: int) -> list[Person]:
    titles, category = {
        "doctor": (DOCTOR_TITLES, "doctor_name"),
        "nurse": (NURSE_TITLES, "nurse_name"),
        "tech": (TECH_TITLES, "staff_name"),
    }[kind]
    out, seen = [], set()
    while len(out) < n:
        sex = "女" if kind == "nurse" or rng.random() < 0.5 else "男"
        name = full_name(rng, sex)
        if name in seen:
            continue
        seen.add(name)
        title = titles[min(len(out), len(titles) - 1)] if kind == "doctor" else rng.choice(titles)
        out.append(Person(name=name, sex=sex, role=title, category=category, title=title))
    return out


# ---------------------------------------------------------------- hospitals
HOSPITAL_KINDS = ("maternal", "county", "town", "community", "university", "clinic", "city")


def hospital_name(rng: random.Random, kind: str, place: Place) -> str:
    if kind == "maternal":
        return (
            f"{place.city_short}市妇幼保健院" if not place.city.endswith("州") else f"{place.city}妇幼保健院"
        )
    if kind == "county":
        return f"{place.area}人民医院"
    if kind == "town":
        return f"{place.area_short}{rng.choice(TOWN_WORDS)}镇卫生院"
    if kind == "community":
        return f"{place.area}{rng.choice(STREET_WORDS)}街道社区卫生服务中心"
    if kind == "university":
        school = rng.choice(("医科大学", "医学院", "大学医学院"))
        return f"{place.province_short}{school}附属{rng.choice(('第一', '第二', '第三'))}医院"
    if kind == "clinic":
        return f"{place.area_short}{full_name(rng, '男')}诊所"
    return f"{place.city_short}市第{rng.choice('一二三四五')}人民医院"


def make_hospital(rng: random.Random, kind: str, place: Place | None = None) -> Hospital:
    place = place or pick_place(rng)
    road = rng.choice(STREET_WORDS) + rng.choice(ROAD_SUFFIX)
    prefix = place.city if place.province == place.city else place.province + place.city
    return Hospital(
        name=hospital_name(rng, kind, place),
        kind=kind,
        address=f"{prefix}{place.area}{road}{rng.randint(1, 999)}号",
        phone=ids.landline(rng),
    )


# ---------------------------------------------------------------- a cast
@dataclass
class Cast:
    """Everyone and everything identifying in one patient record."""

    patient: Person
    relatives: list[Person]
    doctors: list[Person]
    nurses: list[Person]
    techs: list[Person]
    hospital: Hospital
    outside: list[Hospital]
    numbers: dict = field(default_factory=dict)  # inpatient_no, record_no, …

    def relative(self, *roles: str) -> Person:
        for r in self.relatives:
            if r.role in roles:
                return r
        return self.relatives[0]

    def to_dict(self) -> dict:
        return asdict(self)


def make_cast(
    rng: random.Random,
    patient_kind: str,
    admission: date,
    n_doctors: int = 5,
    n_nurses: int = 6,
    n_techs: int = 3,
) -> Cast:
    """``patient_kind``: "maternal" (pregnant woman), "neonate", "child" or "adult"."""
    home = pick_place(rng)
    if patient_kind == "maternal":
        patient = make_adult(rng, "女", "患者", "patient_name", admission, (20, 42), place=home)
        husband = make_adult(rng, "男", "丈夫", "relative_name", admission, (23, 46), place=home)
        husband.address = patient.address
        mother = make_adult(rng, "女", "母亲", "relative_name", admission, (45, 68), place=home)
        relatives = [husband, mother]
    else:
        father = make_adult(rng, "男", "父亲", "relative_name", admission, (24, 45), place=home)
        mother = make_adult(rng, "女", "母亲", "relative_name", admission, (21, 42), place=home)
        mother.address = father.address
        years = {
            "neonate": rng.uniform(0, 0.05),
            "child": rng.uniform(0.3, 13),
            "adult": rng.uniform(18, 70),
        }[patient_kind]
        sex = rng.choice("男女")
        birth = admission - timedelta(days=int(years * 365.25))
        if patient_kind == "neonate":
            name = mother.name + ("之子" if sex == "男" else "之女")
            if rng.random() < 0.5:
                name = full_name(rng, sex, father.surname)
        else:
            name = full_name(rng, sex, father.surname)
        patient = Person(
            name=name,
            sex=sex,
            role="患者",
            category="patient_name",
            birth=birth.isoformat(),
            age=age_text(birth, admission),
            id_number=ids.id_number_18(rng, home.area_code, birth, sex) if patient_kind != "neonate" else "",
            phone=father.phone,
            address=father.address,
        )
        grandmother = make_adult(rng, "女", "外婆", "relative_name", admission, (48, 70), place=home)
        relatives = [mother, father, grandmother]
    numbers = {
        "inpatient_no": ids.inpatient_no(rng, admission.year),
        "record_no": ids.medical_record_no(rng),
        "outpatient_no": ids.outpatient_no(rng),
        "patient_id": ids.patient_id(rng),
        "bed_no": ids.bed_no(rng),
        "insurance_no": ids.insurance_no(rng),
    }
    own_place = pick_place(rng)
    hospital = make_hospital(rng, rng.choice(("maternal", "city", "university")), own_place)
    outside = [make_hospital(rng, k, home) for k in ("county", "town", "community")]
    outside.append(make_hospital(rng, rng.choice(("university", "maternal", "clinic")), own_place))
    return Cast(
        patient=patient,
        relatives=relatives,
        doctors=make_staff(rng, "doctor", n_doctors),
        nurses=make_staff(rng, "nurse", n_nurses),
        techs=make_staff(rng, "tech", n_techs),
        hospital=hospital,
        outside=outside,
        numbers=numbers,
    )
