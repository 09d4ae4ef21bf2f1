"""Render realistic Chinese record documents for one fake patient.

Each renderer ``render_<kind>(ctx, n_pages)`` appends pages to the record's
working document ``ctx.doc`` and returns ``(ctx.doc, canvases)``; each
:class:`PageCanvas` holds its page's ground truth (identifiers and clinical
lines, page index = index in ``ctx.doc``).  Variable-length renderers fill
exactly ``n_pages``; fixed ones use at most ``n_pages`` when given.  Every page carries the hospital header
(name), a patient strip (name, sex, age, department, bed, inpatient number)
and a footer (hospital name, address, phone, page number).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import pymupdf

from tools.synth import clinical, marks
from tools.synth.clinical import Scenario
from tools.synth.layout import BLACK, BLUE, CLIN, GREY, RED, PageCanvas, text_width
from tools.synth.people import Cast, Person
from tools.synth.truth import ClinicalLine, TruthItem

P, R, DOC, NUR, STAFF = "patient_name", "relative_name", "doctor_name", "nurse_name", "staff_name"
IDN, TEL, ADDR, WORK, MAIL, NUM, INST = (
    "id_number",
    "phone",
    "address",
    "workplace",
    "email",
    "record_number",
    "institution",
)
LABEL_VARIANTS = {
    "姓名": ("姓名", "姓名", "患者姓名", "病人姓名", "姓 名"),
    "住院号": ("住院号", "住院号", "住院号码", "住院ID"),
    "床号": ("床号", "床号", "床位", "床位号"),
}
PORTRAIT = (595.0, 842.0)
LANDSCAPE = (842.0, 595.0)
LEFT, RIGHT = 48.0, 547.0


@dataclass
class RecordContext:
    rng: random.Random
    cast: Cast
    scenario: Scenario
    admission: datetime
    discharge: datetime
    doc: pymupdf.Document = None  # the working document every renderer appends pages to
    current: PageCanvas | None = None

    def __post_init__(self) -> None:
        if self.doc is None:
            self.doc = pymupdf.open()

    def add_page(self, width: float, height: float) -> PageCanvas:
        """A canvas on a new page of ``doc``.  The previous canvas is finished
        first: PyMuPDF invalidates Page objects when a page is added."""
        if self.current is not None:
            self.current.finish()
        page = self.doc.new_page(width=width, height=height)
        self.current = PageCanvas(page, page.number)
        return self.current

    def label(self, key: str) -> str:
        """The record's wording of a field label (each hospital system has its own)."""
        if not hasattr(self, "_labels"):
            self._labels = {k: self.rng.choice(v) for k, v in LABEL_VARIANTS.items()}
        return self._labels.get(key, key)

    @property
    def patient(self) -> Person:
        return self.cast.patient

    @property
    def department(self) -> str:
        return self.scenario.department

    def doctor(self, i: int) -> Person:
        return self.cast.doctors[i % len(self.cast.doctors)]

    def any_doctor(self) -> Person:
        return self.rng.choice(self.cast.doctors)

    def any_nurse(self) -> Person:
        return self.rng.choice(self.cast.nurses)

    def any_tech(self) -> Person:
        return self.rng.choice(self.cast.techs)

    def relative(self) -> Person:
        return self.rng.choice(self.cast.relatives)

    def moment(self, frac: float) -> datetime:
        span = self.discharge - self.admission
        t = self.admission + span * max(0.0, min(1.0, frac))
        return t.replace(second=0, microsecond=0)

    @property
    def died(self) -> bool:
        return self.scenario.outcome == "death"


def fmt_dt(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M")


def fmt_d(t: datetime) -> str:
    return t.strftime("%Y-%m-%d")


def spaced(rng: random.Random, name: str) -> str:
    """Two-character names are often printed with a space: 王 芳."""
    return f"{name[0]} {name[1]}" if len(name) == 2 and rng.random() < 0.4 else name


def full_width(rng: random.Random, number: str, p: float = 0.3) -> str:
    """Sometimes typed with full-width digits (１３８…), as some systems do."""
    if rng.random() >= p:
        return number
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in number)


# ------------------------------------------------------------------ page furniture
def new_page(
    ctx: RecordContext,
    doc: pymupdf.Document,
    pages: list[PageCanvas],
    title: str,
    landscape: bool = False,
    strip: bool = True,
) -> tuple[PageCanvas, float]:
    w, h = LANDSCAPE if landscape else PORTRAIT
    cv = ctx.add_page(w, h)
    pages.append(cv)
    y = header(ctx, cv, title, strip)
    footer(ctx, cv, len(pages))
    return cv, y


def header(ctx: RecordContext, cv: PageCanvas, title: str, strip: bool) -> float:
    cv.centered(36, (ctx.cast.hospital.name, INST, "header"), 15)
    cv.centered(58, (title, CLIN), 13)
    y = 66.0
    if strip:
        p, n = ctx.patient, ctx.cast.numbers
        runs = [
            ctx.label("姓名") + "：",
            (p.name, P, "姓名"),
            "  性别：",
            (p.sex, CLIN),
            "  年龄：",
            (p.age, CLIN),
            "  科室：",
            (ctx.department, CLIN),
            f"  {ctx.label('床号')}：",
            (n["bed_no"], NUM, "床号"),
            f"  {ctx.label('住院号')}：",
            (n["inpatient_no"], NUM, "住院号"),
        ]
        cv.write(LEFT if cv.width < 700 else 40, 80, runs, 9.5)
        y = 86.0
    cv.line(LEFT - 8, y, cv.width - LEFT + 8, y, 0.8)
    return y + 20


def footer(ctx: RecordContext, cv: PageCanvas, number: int) -> None:
    h = cv.height
    hosp = ctx.cast.hospital
    cv.line(LEFT - 8, h - 34, cv.width - LEFT + 8, h - 34, 0.5, GREY)
    cv.write(
        LEFT,
        h - 22,
        [
            (hosp.name, INST, "footer"),
            "  地址：",
            (hosp.address, ADDR, "footer"),
            "  电话：",
            (hosp.phone, TEL, "footer"),
        ],
        7.5,
        GREY,
    )
    cv.write(cv.width - LEFT - 40, h - 22, f"第 {number} 页", 7.5, GREY)


def bottom(cv: PageCanvas) -> float:
    return cv.height - 52


def sign_line(
    ctx: RecordContext,
    cv: PageCanvas,
    x: float,
    y: float,
    label: str,
    person: Person,
    category: str = DOC,
    image: bool = True,
) -> float:
    x = cv.write(x, y, [label + "：", (person.name, category, label)], 10.5)
    if image and ctx.rng.random() < 0.6:
        x = marks.signature(cv, x + 4, y, person.name, ctx.rng, label)
    return x + 10


def fields_block(cv: PageCanvas, y: float, rows: list[list], size: float = 10.5, cols: int = 2) -> float:
    """Rows of ``(label, value, category)``; ``cols`` fields per line."""
    colw = (RIGHT - LEFT) / cols
    for row in rows:
        for i, item in enumerate(row):
            label, value, cat = item
            runs = [label + "：", (value, cat or CLIN, label)]
            cv.write(LEFT + i * colw, y, runs, size)
        y += size * 1.9
    return y


def section(cv: PageCanvas, y: float, heading: str, runs: list, size: float = 10.5) -> float:
    cv.write(LEFT, y, heading, size + 0.5)
    return cv.paragraph(LEFT, y + size * 1.7, RIGHT - LEFT, runs, size, indent=2.0) + 4


# ------------------------------------------------------------------ front sheet
def render_front_sheet(ctx: RecordContext, n_pages: int = 1):
    doc, pages = ctx.doc, []
    cv, y = new_page(ctx, doc, pages, "住院病案首页", strip=False)
    p, n, c = ctx.patient, ctx.cast.numbers, ctx.cast
    rel = c.relatives[0]
    h = c.hospital
    s = ctx.scenario
    birth = p.birth
    rows = [
        [
            ("医疗机构", h.name, INST, 60, 200),
            ("组织机构代码", f"{ctx.rng.randrange(10**8):08d}-{ctx.rng.randrange(10)}", NUM, 70, 0),
        ],
        [("医疗付费方式", "城镇职工基本医疗保险", "", 70, 0), ("医保卡号", n["insurance_no"], NUM, 50, 0)],
        [
            ("健康卡号", n["patient_id"], NUM, 50, 0),
            ("门诊号", n["outpatient_no"], NUM, 40, 0),
            ("病案号", n["record_no"], NUM, 40, 0),
        ],
        [
            ("姓  名", spaced(ctx.rng, p.name), P, 30, 0),
            ("性别", p.sex, CLIN, 30, 0),
            ("出生日期", birth, CLIN, 50, 0),
            ("年龄", p.age, CLIN, 30, 0),
        ],
        [
            ("国籍", "中国", "", 30, 0),
            ("民族", "汉族", "", 30, 0),
            ("婚姻", "已婚" if s.patient_kind == "maternal" else "未婚", "", 30, 0),
            ("职业", "职员" if s.patient_kind == "maternal" else "散居儿童", "", 30, 0),
        ],
        [
            ("身份证号", p.id_number or "—", IDN if p.id_number else "", 50, 150),
            ("住院号", n["inpatient_no"], NUM, 40, 0),
        ],
        [("现住址", p.address, ADDR, 40, 300), ("电话", p.phone, TEL, 30, 0)],
        [("户口地址", p.address, ADDR, 50, 0)],
        [
            (
                "工作单位及地址" if p.workplace else "监护人工作单位",
                p.workplace or rel.workplace,
                WORK,
                80,
                230,
            ),
            (
                "单位电话",
                p.landline or rel.landline or "—",
                TEL if (p.landline or rel.landline) else "",
                50,
                0,
            ),
        ],
        [
            ("联系人姓名", rel.name, R, 60, 60),
            ("关系", rel.role, CLIN, 30, 40),
            ("电话", rel.phone, TEL, 30, 0),
        ],
        [
            ("联系人身份证号", rel.id_number_15 or rel.id_number, IDN, 80, 130),
            ("电子邮箱", rel.email, MAIL, 50, 0),
        ],
        [("联系人地址", rel.address, ADDR, 60, 0)],
        [
            ("入院途径", "门诊", "", 50, 50),
            ("入院时间", fmt_dt(ctx.admission), CLIN, 50, 110),
            ("入院科别", ctx.department, CLIN, 50, 0),
        ],
        [
            ("出院时间", fmt_dt(ctx.discharge), CLIN, 50, 110),
            ("出院科别", ctx.department, CLIN, 50, 80),
            ("实际住院", f"{max(1, (ctx.discharge - ctx.admission).days)}天", CLIN, 50, 0),
        ],
        [("门(急)诊诊断", s.diagnoses[0], CLIN, 70, 200), ("疾病编码", s.icd[0], CLIN, 50, 0)],
        [("转入医院", c.outside[0].name, INST, 50, 0)],
    ]
    y = table_rows(cv, y, rows)
    y += 6
    # diagnosis table
    cols = [("出院诊断", 260), ("疾病编码", 90), ("入院病情", 70), ("出院情况", 79)]
    y = grid_header(cv, y, cols)
    for i, (dx, code) in enumerate(zip(s.diagnoses, s.icd)):
        state = "死亡" if ctx.died and i == 0 else "好转"
        y = grid_row(
            cv,
            y,
            cols,
            [
                (("主要诊断：" if i == 0 else "其他诊断：") + dx, CLIN),
                (code, CLIN),
                ("有", CLIN),
                (state, CLIN),
            ],
        )
    y += 6
    cols = [("手术及操作名称", 200), ("手术日期", 90), ("术者", 70), ("I助", 70), ("麻醉方式", 69)]
    y = grid_header(cv, y, cols)
    y = grid_row(
        cv,
        y,
        cols,
        [
            (s.operation, CLIN),
            (fmt_d(ctx.moment(0.15)), CLIN),
            (ctx.doctor(0).name, DOC, "术者"),
            (ctx.doctor(2).name, DOC, "I助"),
            ("全身麻醉", CLIN),
        ],
    )
    y += 10
    staff = [
        ("科主任", ctx.doctor(0), DOC),
        ("主任(副主任)医师", ctx.doctor(1), DOC),
        ("主治医师", ctx.doctor(2), DOC),
        ("住院医师", ctx.doctor(3), DOC),
        ("责任护士", ctx.cast.nurses[0], NUR),
        ("编码员", ctx.cast.techs[0], STAFF),
        ("质控医师", ctx.doctor(1), DOC),
        ("质控护士", ctx.cast.nurses[1], NUR),
    ]
    for i, (label, person, cat) in enumerate(staff):
        cv.write(LEFT + (i % 4) * 125, y + (i // 4) * 20, [label + "：", (person.name, cat, label)], 9.5)
    y += 44
    cv.write(
        LEFT,
        y,
        [
            "离院方式：",
            ("死亡" if ctx.died else "医嘱离院", CLIN),
            "    质控日期：",
            (fmt_d(ctx.discharge), CLIN),
        ],
        9.5,
    )
    y += 22
    cv.write(
        LEFT,
        y,
        [
            "住院总费用(元)：",
            (f"{ctx.rng.uniform(8000, 260000):.2f}", CLIN),
            "  其中自付金额：",
            (f"{ctx.rng.uniform(1000, 40000):.2f}", CLIN),
        ],
        9.5,
    )
    return doc, pages


def table_rows(cv: PageCanvas, y: float, rows: list[list], size: float = 9.5, rh: float = 19.0) -> float:
    """Bordered rows of label–value cells ``(label, value, category, wl, wv)``.

    ``wl > 0``: a grey label cell of width wl and the value in its own cell
    (width wv, 0 = share the rest); ``wl == 0``: one cell "label：value".
    """
    for row in rows:
        cells = []
        for label, value, cat, wl, wv in row:
            if wl:
                cells += [("label", label, wl), ("value", (value, cat, label), wv)]
            else:
                cells.append(("combined", (label, value, cat), 0))
        fixed = sum(w for _, _, w in cells)
        n_flex = sum(1 for _, _, w in cells if not w)
        extra = max(20.0, (RIGHT - LEFT - fixed) / max(1, n_flex))
        x = LEFT
        for kind, payload, w in cells:
            w = w or extra
            base = y + rh - 5.5
            if kind == "label":
                cv.rect((x, y, x + w, y + rh), 0.5, fill=(0.93, 0.93, 0.93))
                cv.write(x + 3, base, payload, size)
            else:
                cv.rect((x, y, x + w, y + rh), 0.5)
                if kind == "value":
                    value, cat, label = payload
                    runs = [(value, cat or CLIN, label)]
                else:
                    label, value, cat = payload
                    runs = [label + ("：" if value else "")] + (
                        [(value, cat or CLIN, label)] if value else []
                    )
                width = sum(text_width(r if isinstance(r, str) else r[0], size) for r in runs)
                sz = size if width < w - 5 else max(6.0, size * (w - 5) / width)
                cv.write(x + 3, base, runs, sz)
            x += w
        y += rh
    return y


def grid_header(
    cv: PageCanvas, y: float, cols: list[tuple[str, float]], size: float = 9.5, rh: float = 18
) -> float:
    x = LEFT
    for name, w in cols:
        cv.rect((x, y, x + w, y + rh), 0.5, fill=(0.93, 0.93, 0.93))
        cv.write(x + 3, y + rh - 5, name, size)
        x += w
    return y + rh


def grid_row(
    cv: PageCanvas, y: float, cols: list[tuple[str, float]], cells: list, size: float = 9.5, rh: float = 18
) -> float:
    x = LEFT
    for (name, w), cell in zip(cols, cells):
        cv.rect((x, y, x + w, y + rh), 0.5)
        if isinstance(cell, str):
            cell = (cell, "")
        text = cell[0]
        sz = size
        while text and text_width(text, sz) > w - 5 and sz > 6:
            sz -= 0.5
        if text:
            run = text if not cell[1] else (text, cell[1], cell[2] if len(cell) > 2 else name)
            cv.write(x + 3, y + rh - 5, run, sz)
        x += w
    return y + rh


# ------------------------------------------------------------------ narrative documents
def _flow(ctx: RecordContext, title: str, blocks: list, max_pages: int | None = None):
    """Lay out blocks (callables ``f(cv, y) -> y`` with a height estimate)
    over as many pages as needed (at most ``max_pages``)."""
    doc, pages = ctx.doc, []
    cv, y = new_page(ctx, doc, pages, title)
    for est, draw in blocks:
        if y + est > bottom(cv):
            if max_pages and len(pages) >= max_pages:
                break
            cv, y = new_page(ctx, doc, pages, title + "（续）")
        y = draw(cv, y)
    return doc, pages


def _est(runs: list, size: float = 10.5) -> float:
    chars = sum(len(r if isinstance(r, str) else r[0]) for r in runs)
    lines = math.ceil((chars + 2) * size / (RIGHT - LEFT)) + 0.5
    return lines * size * 1.6 + size * 2.2


def sec(heading: str, runs: list):
    return (_est(runs), lambda cv, y: section(cv, y, heading, runs))


def fields(rows: list[list], cols: int = 2):
    return (len(rows) * 20 + 4, lambda cv, y: fields_block(cv, y, rows, 10.5, cols))


def signs(ctx: RecordContext, items: list[tuple[str, Person, str]], when: datetime | None = None):
    def draw(cv: PageCanvas, y: float) -> float:
        y += 8
        x = LEFT + 200
        for label, person, cat in items:
            x = sign_line(ctx, cv, x, y, label, person, cat)
        if when:
            cv.write(RIGHT - 110, y + 20, (fmt_dt(when), CLIN), 10)
        return y + 40

    return (60, draw)


def patient_fields(ctx: RecordContext, extra: bool = True) -> list[list]:
    p = ctx.patient
    rows = [
        [(ctx.label("姓名"), p.name, P), ("性别", p.sex, "")],
        [("年龄", p.age, ""), ("科室", ctx.department, "")],
    ]
    if extra:
        rel = ctx.cast.relatives[0]
        rows += [
            [
                ("入院时间", fmt_dt(ctx.admission), ""),
                ("记录时间", fmt_dt(ctx.admission + timedelta(hours=2)), ""),
            ],
            [("病史陈述者", rel.name, R), ("与患者关系", rel.role, "")],
            [("联系电话", rel.phone, TEL), ("单位电话", rel.landline or "—", TEL if rel.landline else "")],
            [("现住址", p.address, ADDR)],
        ]
        if p.workplace:
            rows.append([("工作单位", p.workplace, WORK)])
        if p.email:
            rows.append([("电子邮箱", p.email, MAIL), ("身份证号", p.id_number, IDN)])
    return rows


def dx_runs(ctx: RecordContext) -> list:
    out: list = []
    for i, d in enumerate(ctx.scenario.diagnoses):
        out.append((f"{i + 1}.{d}  ", CLIN))
    return out


def render_admission(ctx: RecordContext, n_pages: int | None = None):
    s, c = ctx.scenario, ctx.cast
    out1, out2 = c.outside[0], c.outside[1]
    hist = [
        ("患者因“" + s.complaint + "”入院。", CLIN),
        (f"于{fmt_d(ctx.admission - timedelta(days=3))}在", CLIN),
        (out1.name, INST, "外院"),
        ("就诊，建议转上级医院进一步诊治。", CLIN),
        "既往在",
        (out2.name, INST, "外院"),
        ("定期体检。", CLIN),
        (ctx.rng.choice(s.course), CLIN),
        ("。", CLIN),
    ]
    spouse = c.relative("丈夫", "父亲")
    blocks = [
        fields(patient_fields(ctx)),
        sec("主诉：", [(s.complaint, CLIN)]),
        sec("现病史：", hist),
        sec(
            "既往史：",
            [("既往体健，否认高血压、糖尿病、心脏病史，否认肝炎、结核等传染病史，否认药物过敏史。", CLIN)],
        ),
        sec(
            "婚育史：" if s.patient_kind == "maternal" else "家族史：",
            [
                "配偶" if s.patient_kind == "maternal" else "父亲",
                (spouse.name, R, spouse.role),
                ("，体健。", CLIN),
                "联系电话：",
                (spouse.phone, TEL, spouse.role),
                ("。家族中无遗传病史。", CLIN),
            ],
        ),
        sec(
            "体格检查：",
            [
                (
                    f"T {ctx.rng.uniform(36.2, 39.5):.1f}℃  P {ctx.rng.randint(70, 150)}次/分  "
                    f"R {ctx.rng.randint(16, 60)}次/分  BP {ctx.rng.randint(70, 170)}/{ctx.rng.randint(40, 110)}mmHg。"
                    "神志清，精神差，皮肤黏膜无黄染，双肺呼吸音粗，心律齐，腹软。",
                    CLIN,
                )
            ],
        ),
        sec("辅助检查：", [(ctx.rng.choice(s.course) + "。", CLIN)]),
        sec("初步诊断：", dx_runs(ctx)),
        signs(
            ctx,
            [("医师签名", ctx.doctor(3), DOC), ("上级医师", ctx.doctor(2), DOC)],
            ctx.admission + timedelta(hours=3),
        ),
    ]
    return _flow(ctx, "入院记录", blocks, n_pages)


def _note_entry(ctx: RecordContext, t: datetime, kind: int) -> list:
    s, c, p = ctx.scenario, ctx.cast, ctx.patient
    rel = ctx.relative()
    chief = ctx.doctor(ctx.rng.choice((0, 1)))
    line = ctx.rng.choice(s.course)
    if kind == 0:
        runs = [
            "今日",
            (chief.name, DOC, chief.title),
            (chief.title + "查房：", CLIN),
            (line + "。", CLIN),
            ("指示：继续目前治疗，密切观察病情变化。", CLIN),
        ]
    elif kind == 1:
        runs = [
            "患者",
            (p.masked, P, "masked"),
            ("，" + line + "。", CLIN),
            "已向患者",
            (rel.role, CLIN),
            (rel.name, R, rel.role),
            ("交代病情及预后，其表示理解。", CLIN),
        ]
    elif kind == 2:
        out = ctx.rng.choice(c.outside)
        cons = c.techs[-1] if ctx.rng.random() < 0.3 else ctx.doctor(4)
        runs = [
            "请",
            (out.name, INST, "会诊"),
            (cons.name, DOC, "会诊医师"),
            ("主任会诊，意见：", CLIN),
            (line + "，", CLIN),
            ("同意目前诊疗方案。", CLIN),
        ]
    elif kind == 3:
        runs = [
            ("患者", CLIN),
            (p.name, P, "患者"),
            ("今日病情：", CLIN),
            (line + "。", CLIN),
            "其",
            (rel.role, CLIN),
            (rel.masked, R, "masked"),
            ("签署病危通知书，联系电话", CLIN),
            (full_width(ctx.rng, rel.phone), TEL, rel.role),
            ("。", CLIN),
        ]
    else:
        runs = [
            (line + "。", CLIN),
            (ctx.doctor(2).name, DOC, "主治医师"),
            ("主治医师", CLIN),
            ("查看患者后指示：完善相关检查，继续监测生命体征。", CLIN),
        ]
    return runs


def render_progress(ctx: RecordContext, n_pages: int = 1):
    """病程记录: dated entries until exactly ``n_pages`` pages are full."""
    doc, pages = ctx.doc, []
    rng = ctx.rng
    cv, y = new_page(ctx, doc, pages, "病程记录")
    total_entries = n_pages * 3
    k = 0
    while True:
        t = ctx.moment(k / max(1, total_entries))
        kind = 0 if k == 0 else rng.randrange(5)
        titles = ("上级医师查房记录", "日常病程记录", "会诊记录", "病危病程记录", "日常病程记录")
        runs = _note_entry(ctx, t, kind)
        need = _est(runs) + 42
        if y + need > bottom(cv):
            if len(pages) >= n_pages:
                break
            cv, y = new_page(ctx, doc, pages, "病程记录")
        cv.write(LEFT, y, [(fmt_dt(t), CLIN), "    ", (titles[kind], CLIN)], 10.5)
        y = cv.paragraph(LEFT, y + 18, RIGHT - LEFT, runs, 10.5)
        recorder = ctx.doctor(3 + (k % 2))
        sign_line(ctx, cv, RIGHT - 150, y + 2, "记录者", recorder, DOC, image=rng.random() < 0.5)
        y += 30
        k += 1
    return doc, pages


def render_consent(ctx: RecordContext, n_pages: int | None = None):
    s, p = ctx.scenario, ctx.patient
    rel = ctx.cast.relative("丈夫", "父亲", "母亲")
    doc, pages = ctx.doc, []
    cv, y = new_page(ctx, doc, pages, "手术知情同意书")
    y = fields_block(
        cv,
        y,
        [
            [(ctx.label("姓名"), p.name, P), ("性别", p.sex, "")],
            [("年龄", p.age, ""), (ctx.label("住院号"), ctx.cast.numbers["inpatient_no"], NUM)],
        ],
    )
    y = section(cv, y, "术前诊断：", dx_runs(ctx))
    y = section(cv, y, "拟行手术：", [(s.operation, CLIN)])
    risks = [
        "麻醉意外，心跳呼吸骤停",
        "术中、术后大出血，需输血或切除子宫" if s.patient_kind == "maternal" else "术中、术后出血",
        "感染，切口愈合不良",
        "邻近器官损伤",
        "血栓形成及栓塞",
        "多器官功能衰竭，危及生命",
    ]
    y = section(cv, y, "手术风险及可能的并发症：", [(f"{i + 1}.{r}；", CLIN) for i, r in enumerate(risks)])
    y = section(
        cv, y, "患者（或委托人）意见：", [("医师已向我详细告知上述内容，我已充分理解，同意手术。", CLIN)]
    )
    y += 10
    cv.write(LEFT, y, "患者签名：")
    cv.line(LEFT + 55, y + 3, LEFT + 150, y + 3, 0.6)
    y += 28
    x = cv.write(LEFT, y, ["委托人签名：", (rel.name, R, "委托人")])
    marks.signature(cv, x + 4, y, rel.name, ctx.rng, "委托人签名")
    cv.write(LEFT + 230, y, ["与患者关系：", (rel.role, CLIN), "  电话：", (rel.phone, TEL, rel.role)])
    y += 28
    cv.write(LEFT, y, ["委托人身份证号：", (rel.id_number, IDN, rel.role)])
    y += 30
    sign_line(ctx, cv, LEFT, y, "谈话医师", ctx.doctor(2), DOC)
    cv.write(RIGHT - 150, y, ["日期：", (fmt_dt(ctx.moment(0.1)), CLIN)])
    marks.seal(cv, RIGHT - 80, y + 60, ctx.cast.hospital.name, ctx.rng, "病历专用章")
    return doc, pages


def _narrative(
    ctx: RecordContext,
    title: str,
    sections: list[tuple[str, list]],
    signers: list,
    when: datetime,
    n_pages=None,
    with_fields: bool = True,
    seal: bool = False,
):
    blocks = ([fields(patient_fields(ctx, extra=False))] if with_fields else []) + [
        sec(h, r) for h, r in sections
    ]
    blocks.append(signs(ctx, signers, when))
    doc, pages = _flow(ctx, title, blocks, n_pages)
    if seal:
        cv = pages[-1]
        marks.seal(cv, RIGHT - 70, bottom(cv) - 50, ctx.cast.hospital.name, ctx.rng)
    return doc, pages


def render_discharge(ctx: RecordContext, n_pages=None):
    s = ctx.scenario
    t = ctx.discharge
    if ctx.died:
        rel = ctx.cast.relatives[0]
        secs = [
            ("入院情况：", [("因“" + s.complaint + "”入院。", CLIN)]),
            ("诊疗经过：", [(x + "。", CLIN) for x in s.course[:4]]),
            ("死亡时间：", [(fmt_dt(t), CLIN)]),
            ("死亡原因：", [(s.death_cause or s.diagnoses[0], CLIN)]),
            ("死亡诊断：", dx_runs(ctx)),
            (
                "家属意见：",
                [
                    ("患者", CLIN),
                    (rel.role, CLIN),
                    (rel.name, R, rel.role),
                    ("表示理解，拒绝尸体解剖。", CLIN),
                ],
            ),
        ]
        return _narrative(
            ctx,
            "死亡记录",
            secs,
            [("主治医师", ctx.doctor(2), DOC), ("主任医师", ctx.doctor(0), DOC)],
            t,
            n_pages,
            seal=True,
        )
    secs = [
        ("入院情况：", [("因“" + s.complaint + "”入院。", CLIN)]),
        ("诊疗经过：", [(x + "。", CLIN) for x in s.course]),
        ("出院诊断：", dx_runs(ctx)),
        ("出院情况：", [("神志清，生命体征平稳，切口愈合良好。", CLIN)]),
        (
            "出院医嘱：",
            [
                ("注意休息，加强营养；1周后门诊复查血常规；产后42天复诊，不适随诊。如有不适请拨打", CLIN),
                (ctx.cast.hospital.phone, TEL, "科室电话"),
                ("。", CLIN),
            ],
        ),
    ]
    return _narrative(
        ctx,
        "出院记录",
        secs,
        [("住院医师", ctx.doctor(3), DOC), ("主治医师", ctx.doctor(2), DOC)],
        t,
        n_pages,
        seal=True,
    )


def render_death_discussion(ctx: RecordContext, n_pages=None):
    s, c = ctx.scenario, ctx.cast
    d = [ctx.doctor(i) for i in range(4)]
    secs = [
        (
            "讨论时间：",
            [
                (fmt_dt(ctx.discharge + timedelta(days=3)), CLIN),
                "  地点：",
                (ctx.department + "示教室", CLIN),
            ],
        ),
        ("主持人：", [(d[0].name, DOC, "主持人"), (" " + d[0].title, CLIN)]),
        (
            "参加人员：",
            [x for p in d[1:] for x in ((p.name, DOC, "参加人员"), (p.title + "、", CLIN))]
            + [(c.nurses[0].name, NUR, "参加人员"), ("护士长", CLIN)],
        ),
        ("病情摘要：", [(x + "。", CLIN) for x in s.course]),
        (
            "讨论意见：",
            [
                (d[2].name, DOC, "发言"),
                ("主治医师：", CLIN),
                (s.course[0] + "，诊断明确。", CLIN),
                (d[1].name, DOC, "发言"),
                ("副主任医师：", CLIN),
                ("死亡原因考虑", CLIN),
                (s.death_cause or s.diagnoses[0], CLIN),
                ("。", CLIN),
                (d[0].name, DOC, "发言"),
                ("主任医师总结：", CLIN),
                ("应加强危重症早期识别与转诊衔接，", CLIN),
                ("与", CLIN),
                (c.outside[0].name, INST, "转诊"),
                ("建立转诊绿色通道。", CLIN),
            ],
        ),
        ("结论：", [("死亡原因：", CLIN), (s.death_cause or s.diagnoses[0], CLIN)]),
    ]
    return _narrative(
        ctx,
        "死亡病例讨论记录",
        secs,
        [("记录者", ctx.doctor(3), DOC)],
        ctx.discharge + timedelta(days=3),
        n_pages,
    )


def render_preop(ctx: RecordContext, n_pages=None):
    s = ctx.scenario
    d = [ctx.doctor(i) for i in range(4)]
    secs = [
        ("讨论时间：", [(fmt_dt(ctx.moment(0.08)), CLIN)]),
        ("参加人员：", [x for p in d for x in ((p.name, DOC, "参加人员"), (p.title + "、", CLIN))]),
        ("术前诊断：", dx_runs(ctx)),
        ("手术指征：", [(s.course[0] + "。", CLIN)]),
        ("拟行手术：", [(s.operation, CLIN)]),
        (
            "讨论意见：",
            [(d[0].name, DOC, "发言"), (d[0].title + "：手术指征明确，术前备血，做好抢救准备。", CLIN)],
        ),
    ]
    return _narrative(ctx, "术前讨论", secs, [("记录者", d[3], DOC)], ctx.moment(0.08), n_pages)


def render_operation(ctx: RecordContext, n_pages=None):
    s = ctx.scenario
    t = ctx.moment(0.12)
    secs = [
        ("手术日期：", [(fmt_dt(t), CLIN)]),
        ("手术名称：", [(s.operation, CLIN)]),
        (
            "术者：",
            [
                (ctx.doctor(0).name, DOC, "术者"),
                "  助手：",
                (ctx.doctor(2).name, DOC, "助手"),
                "  麻醉医师：",
                (ctx.doctor(4).name, DOC, "麻醉医师"),
                "  器械护士：",
                (ctx.cast.nurses[2].name, NUR, "器械护士"),
            ],
        ),
        ("麻醉方式：", [("气管插管全身麻醉", CLIN)]),
        (
            "手术经过：",
            [("患者取仰卧位，常规消毒铺巾。", CLIN)]
            + [(x + "。", CLIN) for x in s.course[:3]]
            + [("术中出血约800ml，输悬浮红细胞4U，术毕安返病房。", CLIN)],
        ),
    ]
    return _narrative(ctx, "手术记录", secs, [("手术医师", ctx.doctor(0), DOC)], t, n_pages)


def render_consultation(ctx: RecordContext, n_pages=None):
    s, c = ctx.scenario, ctx.cast
    out = c.outside[-1]
    cons = Person(name=c.techs[-1].name[:1] + c.doctors[-1].name[1:], sex="男", role="会诊医师", category=DOC)
    secs = [
        (
            "申请科室：",
            [
                (ctx.department, CLIN),
                "  申请医师：",
                (ctx.doctor(3).name, DOC, "申请医师"),
                "  申请时间：",
                (fmt_dt(ctx.moment(0.2)), CLIN),
            ],
        ),
        ("会诊目的：", [("协助诊治，" + s.diagnoses[0] + "下一步治疗方案。", CLIN)]),
        ("病情摘要：", [(x + "。", CLIN) for x in s.course[:3]]),
        (
            "会诊意见：",
            [
                "应邀会诊（",
                (out.name, INST, "会诊医院"),
                "，",
                (cons.name, DOC, "会诊医师"),
                "主任）：",
                (s.course[-2] + "，建议继续目前治疗，必要时转院。", CLIN),
            ],
        ),
    ]
    return _narrative(ctx, "会诊记录", secs, [("会诊医师", cons, DOC)], ctx.moment(0.2), n_pages)


def render_critical_notice(ctx: RecordContext, n_pages=None):
    rel = ctx.cast.relative("丈夫", "父亲", "母亲")
    secs = [
        ("患者家属：", [(rel.name, R, rel.role), ("（", CLIN), (rel.role, CLIN), ("）", CLIN)]),
        (
            "通知内容：",
            [("患者目前诊断", CLIN)]
            + dx_runs(ctx)
            + [("，病情危重，随时可能出现呼吸心跳骤停等危及生命的情况，医院将尽力抢救。", CLIN)],
        ),
        ("家属意见：", [("已了解病情，同意积极抢救。", CLIN)]),
        ("家属签名：", [(rel.name, R, "家属签名"), "  联系电话：", (rel.phone, TEL, rel.role)]),
    ]
    return _narrative(
        ctx,
        "病危（重）通知书",
        secs,
        [("告知医师", ctx.doctor(2), DOC)],
        ctx.moment(0.05),
        n_pages,
        seal=True,
    )


def render_pathology(ctx: RecordContext, n_pages=None):
    s = ctx.scenario
    secs = [
        (
            "病理号：",
            [
                (f"P{ctx.admission:%y}-{ctx.rng.randint(1000, 9999)}", NUM, "病理号"),
                "  送检医院：",
                (ctx.cast.hospital.name, INST, "送检"),
            ],
        ),
        ("送检材料：", [("子宫及附件" if s.patient_kind == "maternal" else "肺组织穿刺标本", CLIN)]),
        ("肉眼所见：", [("灰红色组织一块，大小约3.5cm×2.0cm×1.5cm，切面灰红，质中。", CLIN)]),
        ("镜下所见：", [("组织内见大量中性粒细胞浸润，部分区域出血坏死，血管内可见微血栓形成。", CLIN)]),
        ("病理诊断：", [(s.diagnoses[0] + "相关病理改变。", CLIN)]),
    ]
    return _narrative(
        ctx,
        "病理诊断报告",
        secs,
        [("诊断医师", ctx.any_tech(), STAFF), ("复核医师", ctx.doctor(1), DOC)],
        ctx.moment(0.6),
        n_pages,
    )


def render_imaging(ctx: RecordContext, n_pages=None):
    exam, finding, impression = ctx.rng.choice(clinical.IMAGING)
    secs = [
        ("检查项目：", [(exam, CLIN), "  检查号：", (f"CT{ctx.rng.randrange(10**7):07d}", NUM, "检查号")]),
        ("检查所见：", [(finding, CLIN)]),
        ("诊断意见：", [(impression, CLIN)]),
    ]
    return _narrative(
        ctx,
        "影像检查报告",
        secs,
        [("报告医师", ctx.any_tech(), STAFF), ("审核医师", ctx.doctor(1), DOC)],
        ctx.moment(0.3),
        n_pages,
    )


def render_anesthesia(ctx: RecordContext, n_pages=None):
    doc, pages = ctx.doc, []
    cv, y = new_page(ctx, doc, pages, "麻醉记录单")
    y = fields_block(
        cv,
        y,
        [
            [("手术名称", ctx.scenario.operation, ""), ("麻醉方式", "全身麻醉", "")],
            [("麻醉医师", ctx.doctor(4).name, DOC), ("巡回护士", ctx.cast.nurses[3].name, NUR)],
        ],
    )
    chart = (LEFT, y + 5, RIGHT, y + 305)
    _vitals_chart(ctx, cv, chart, ("BP", "HR", "SpO2"))
    y = chart[3] + 25
    cols = [("时间", 90), ("用药 / 事件", 250), ("剂量", 80), ("签名", 79)]
    y = grid_header(cv, y, cols)
    for i in range(8):
        t = ctx.moment(0.12) + timedelta(minutes=15 * i)
        y = grid_row(
            cv,
            y,
            cols,
            [
                (t.strftime("%H:%M"), CLIN),
                (ctx.rng.choice(clinical.ORDERS), CLIN),
                (f"{ctx.rng.randint(1, 50)}mg", CLIN),
                (ctx.doctor(4).name, DOC, "麻醉医师"),
            ],
        )
    return doc, pages


def _vitals_chart(ctx: RecordContext, cv: PageCanvas, rect, series: tuple[str, ...]) -> None:
    x0, y0, x1, y1 = rect
    step = 10.0
    segs = [(x0 + i * step, y0, x0 + i * step, y1) for i in range(int((x1 - x0) / step) + 1)]
    segs += [(x0, y0 + i * step, x1, y0 + i * step) for i in range(int((y1 - y0) / step) + 1)]
    cv.lines(segs, 0.3, (0.75, 0.8, 0.9))
    colors = (RED, BLUE, BLACK)
    for k, name in enumerate(series):
        base = y0 + (k + 1) * (y1 - y0) / (len(series) + 1)
        pts, v = [], 0.0
        for i in range(int((x1 - x0) / 6)):
            v = max(-25, min(25, v + ctx.rng.uniform(-4, 4)))
            pts.append((x0 + 6 * i, base + v))
        cv.polyline(pts, 0.9, colors[k % 3])
        cv.write(x0 + 3, base - 28, (name, CLIN), 8, colors[k % 3])


# ------------------------------------------------------------------ tables
def render_lab(ctx: RecordContext, n_pages: int = 1):
    """One lab report per page (检验报告单): barcode, patient cells, values, signatures."""
    doc, pages = ctx.doc, []
    rng = ctx.rng
    names = list(clinical.LAB_PANELS)
    for i in range(n_pages):
        panel = names[i % len(names)]
        if n_pages >= 3 and i == n_pages - 1:
            pasted_outside_report(ctx, pages)
            break
        cv, y = new_page(ctx, doc, pages, f"检验报告单（{panel}）", strip=False)
        sample = f"{rng.randrange(10**11, 10**12)}"
        marks.barcode(cv, (RIGHT - 110, 10, RIGHT, 30), ctx.cast.numbers["inpatient_no"], rng)
        p, n = ctx.patient, ctx.cast.numbers
        y = fields_block(
            cv,
            y + 4,
            [
                [(ctx.label("姓名"), p.name, P), ("性别", p.sex, ""), ("年龄", p.age, "")],
                [
                    ("科别", ctx.department, ""),
                    (ctx.label("床号"), n["bed_no"], NUM),
                    (ctx.label("住院号"), n["inpatient_no"], NUM),
                ],
                [
                    ("标本号", sample, NUM),
                    ("ID号", n["patient_id"], NUM),
                    ("送检医师", ctx.doctor(3).name, DOC),
                ],
            ],
            9.5,
            cols=3,
        )
        cols = [("检验项目", 190), ("结果", 80), ("提示", 40), ("单位", 80), ("参考范围", 109)]
        y = grid_header(cv, y + 4, cols)
        for item, unit, lo, hi, dg in clinical.LAB_PANELS[panel]:
            val, flag = clinical.lab_value(rng, lo, hi, dg)
            y = grid_row(
                cv, y, cols, [(item, CLIN), (val, CLIN), (flag, ""), (unit, CLIN), (f"{lo}-{hi}", CLIN)]
            )
        t = ctx.moment(rng.random())
        y += 24
        cv.write(
            LEFT,
            y,
            ["采样时间：", (fmt_dt(t), CLIN), "    报告时间：", (fmt_dt(t + timedelta(hours=2)), CLIN)],
            9.5,
        )
        y += 26
        techs = rng.sample(ctx.cast.techs, 2)
        x = sign_line(ctx, cv, LEFT, y, "检验者", techs[0], STAFF, image=False)
        sign_line(ctx, cv, x + 40, y, "审核者", techs[1], STAFF)
        cv.write(LEFT, y + 24, ("*本报告仅对所检测标本负责。", CLIN), 8.5, GREY)
        if rng.random() < 0.5:
            marks.seal(cv, RIGHT - 60, y - 10, ctx.cast.hospital.name, rng, "检验专用章", r=34)
    return doc, pages


def outside_report(ctx: RecordContext) -> tuple[bytes, float, float, list, list]:
    """An outside hospital's lab slip rendered to a grayscale PNG (150 dpi):
    (png, width, height, identifiers, clinical lines) in slip coordinates."""
    import io

    from PIL import Image

    rng = ctx.rng
    out = ctx.cast.outside[rng.randrange(len(ctx.cast.outside))]
    scratch = pymupdf.open()
    w, h = PORTRAIT[0], 262.0
    cv = PageCanvas(scratch.new_page(width=w, height=h), 0)
    cv.centered(30, (out.name, INST, "外院"), 14)
    cv.centered(50, ("检验报告单", CLIN), 12)
    p, n = ctx.patient, ctx.cast.numbers
    y = fields_block(
        cv,
        72,
        [
            [("姓名", p.name, P), ("性别", p.sex, ""), ("年龄", p.age, "")],
            [
                ("门诊号", n["outpatient_no"], NUM),
                ("科别", "急诊科", ""),
                ("送检医生", full_name_like(ctx), DOC),
            ],
        ],
        9.5,
        cols=3,
    )
    cols = [("项目", 190), ("结果", 80), ("提示", 40), ("单位", 80), ("参考范围", 109)]
    y = grid_header(cv, y, cols)
    for item, unit, lo, hi, dg in clinical.LAB_PANELS["血常规"][:5]:
        val, flag = clinical.lab_value(rng, lo, hi, dg)
        y = grid_row(cv, y, cols, [(item, CLIN), (val, CLIN), (flag, ""), (unit, CLIN), (f"{lo}-{hi}", CLIN)])
    cv.write(
        LEFT,
        y + 22,
        [
            "检验者：",
            (full_name_like(ctx), STAFF, "检验者"),
            "   报告时间：",
            (fmt_dt(ctx.admission - timedelta(days=1)), CLIN),
            "   电话：",
            (out.phone, TEL, "外院"),
        ],
        9,
    )
    cv.finish()
    pix = scratch[0].get_pixmap(dpi=150, colorspace=pymupdf.csGRAY, alpha=False)
    buf = io.BytesIO()
    Image.frombytes("L", (pix.width, pix.height), pix.samples).save(buf, format="PNG", optimize=False)
    return buf.getvalue(), w, h, cv.identifiers, cv.clinical


def full_name_like(ctx: RecordContext) -> str:
    from tools.synth.people import full_name

    return full_name(ctx.rng, ctx.rng.choice("男女"))


def pasted_outside_report(ctx: RecordContext, pages: list[PageCanvas]) -> None:
    """A born-digital page with an outside report pasted in as an image (a
    scanned insert): its identifiers exist only as pixels."""
    cv, y = new_page(ctx, ctx.doc, pages, "外院检查资料（复印件）")
    cv.write(LEFT, y, ("以下为患者入院前外院检验报告复印件，供参考：", CLIN), 10.5)
    png, w, h, ids, clin = outside_report(ctx)
    s = (RIGHT - LEFT) / w
    x0, y0 = LEFT, y + 14
    cv.image((x0, y0, x0 + w * s, y0 + h * s), png)
    cv.rect((x0, y0, x0 + w * s, y0 + h * s), 0.4, GREY)

    def moved(r):
        return (x0 + r[0] * s, y0 + r[1] * s, x0 + r[2] * s, y0 + r[3] * s)

    for t in ids:
        cv.identifiers.append(TruthItem(cv.page_index, t.category, t.text, moved(t.rect), "insert"))
    for c in clin:
        cv.clinical.append(ClinicalLine(cv.page_index, c.text, moved(c.rect)))
    cv.write(LEFT, y0 + h * s + 24, ["核对医师：", (ctx.doctor(3).name, DOC, "核对医师")], 10.5)


def render_nursing(ctx: RecordContext, n_pages: int = 1):
    doc, pages = ctx.doc, []
    rng = ctx.rng
    cols = [
        ("日期时间", 78),
        ("T℃", 30),
        ("P", 28),
        ("R", 26),
        ("BP", 52),
        ("SpO2", 34),
        ("入/出量ml", 52),
        ("病情观察及护理措施", 149),
        ("护士签名", 50),
    ]
    total = n_pages * 22
    k = 0
    skip = "患儿" if ctx.scenario.patient_kind == "maternal" else "阴道"
    notes = [n for n in clinical.NURSING_NOTES if skip not in n]
    for _ in range(n_pages):
        cv, y = new_page(ctx, doc, pages, "护理记录单")
        y = grid_header(cv, y, cols, 8.5)
        while y + 24 < bottom(cv):
            t = ctx.moment(k / total)
            nurse = ctx.cast.nurses[k % len(ctx.cast.nurses)]
            y = grid_row(
                cv,
                y,
                cols,
                [
                    (t.strftime("%m-%d %H:%M"), CLIN),
                    (f"{rng.uniform(36.0, 39.4):.1f}", CLIN),
                    (str(rng.randint(70, 160)), CLIN),
                    (str(rng.randint(16, 50)), CLIN),
                    (f"{rng.randint(70, 160)}/{rng.randint(40, 100)}", CLIN),
                    (f"{rng.randint(85, 100)}%", CLIN),
                    (f"{rng.randint(0, 500)}/{rng.randint(0, 400)}", CLIN),
                    (rng.choice(notes), CLIN),
                    (nurse.name, NUR, "护士签名"),
                ],
                8.5,
                26,
            )
            k += 1
    return doc, pages


def render_orders(ctx: RecordContext, n_pages: int = 1):
    doc, pages = ctx.doc, []
    rng = ctx.rng
    cols = [
        ("起始时间", 80),
        ("医嘱内容", 210),
        ("医师签名", 55),
        ("护士签名", 55),
        ("停止时间", 80),
        ("医师", 19 + 0),
    ]
    total = n_pages * 28
    k = 0
    for pi in range(n_pages):
        cv, y = new_page(ctx, doc, pages, "长期医嘱单" if pi % 2 == 0 else "临时医嘱单")
        y = grid_header(cv, y, cols[:5] + [("", 19)], 9)
        while y + 22 < bottom(cv):
            t = ctx.moment(k / total)
            y = grid_row(
                cv,
                y,
                cols,
                [
                    (t.strftime("%m-%d %H:%M"), CLIN),
                    (rng.choice(clinical.ORDERS), CLIN),
                    (ctx.doctor(3 + k % 2).name, DOC, "医师签名"),
                    (ctx.any_nurse().name, NUR, "护士签名"),
                    (
                        (t + timedelta(days=rng.randint(1, 4))).strftime("%m-%d %H:%M")
                        if rng.random() < 0.5
                        else "",
                        CLIN,
                    ),
                    "",
                ],
                9,
                20,
            )
            k += 1
    return doc, pages


def render_temperature(ctx: RecordContext, n_pages: int = 1):
    doc, pages = ctx.doc, []
    for i in range(n_pages):
        cv, y = new_page(ctx, doc, pages, "体温单")
        day0 = ctx.admission + timedelta(days=7 * i)
        x = LEFT + 60
        for d in range(7):
            cv.write(x + d * 62, y, ((day0 + timedelta(days=d)).strftime("%m-%d"), CLIN), 9)
        _vitals_chart(ctx, cv, (LEFT, y + 10, RIGHT, y + 500), ("体温", "脉搏", "呼吸"))
        y += 530
        cv.write(
            LEFT,
            y,
            [
                "入量(ml)：",
                (f"{ctx.rng.randint(800, 3000)}", CLIN),
                "   出量(ml)：",
                (f"{ctx.rng.randint(600, 2800)}", CLIN),
                "   体重(kg)：",
                (f"{ctx.rng.uniform(1, 80):.1f}", CLIN),
            ],
            9.5,
        )
        cv.write(
            LEFT,
            y + 22,
            ["责任护士：", (ctx.cast.nurses[i % len(ctx.cast.nurses)].name, NUR, "责任护士")],
            9.5,
        )
    return doc, pages


# ------------------------------------------------------------------ traces (landscape)
def _pink_grid(
    cv: PageCanvas, rect, small: float, fine=(1.0, 0.8, 0.82), bold=(0.95, 0.5, 0.55), every: int = 5
) -> None:
    x0, y0, x1, y1 = rect
    nx, ny = int((x1 - x0) / small), int((y1 - y0) / small)
    for bold_pass in (False, True):
        segs = [
            (x0 + i * small, y0, x0 + i * small, y1) for i in range(nx + 1) if (i % every == 0) == bold_pass
        ]
        segs += [
            (x0, y0 + i * small, x1, y0 + i * small) for i in range(ny + 1) if (i % every == 0) == bold_pass
        ]
        cv.lines(segs, 0.7 if bold_pass else 0.25, bold if bold_pass else fine)


def _trace_header(ctx: RecordContext, cv: PageCanvas, title: str) -> None:
    p, n = ctx.patient, ctx.cast.numbers
    cv.write(40, 30, [(ctx.cast.hospital.name, INST, "header"), "    ", (title, CLIN)], 12)
    cv.write(
        40,
        48,
        [
            ctx.label("姓名") + "：",
            (p.name, P, "姓名"),
            "  性别：",
            (p.sex, CLIN),
            "  年龄：",
            (p.age, CLIN),
            f"  {ctx.label('住院号')}：",
            (n["inpatient_no"], NUM, "住院号"),
            f"  {ctx.label('床号')}：",
            (n["bed_no"], NUM, "床号"),
            "  科室：",
            (ctx.department, CLIN),
        ],
        9,
    )


def _trace_page(ctx: RecordContext, doc: pymupdf.Document, pages: list[PageCanvas]) -> PageCanvas:
    cv = ctx.add_page(*LANDSCAPE)
    pages.append(cv)
    footer(ctx, cv, len(pages))
    return cv


def render_ecg(ctx: RecordContext, n_pages: int = 1):
    doc, pages = ctx.doc, []
    rng = ctx.rng
    leads = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    for _ in range(n_pages):
        cv = _trace_page(ctx, doc, pages)
        _trace_header(ctx, cv, "十二导联心电图报告")
        hr = rng.randint(60, 170)
        cv.write(40, 64, (f"心率 {hr}次/分  PR 0.14s  QRS 0.08s  QT/QTc 0.36/0.41s  电轴 +60°", CLIN), 9)
        grid = (30, 72, 812, 522)
        _pink_grid(cv, grid, 5.0)
        period = 60.0 * 25 / hr * 2.835 / 1.0
        for row in range(4):
            base = 120 + row * 105
            for col in range(3 if row < 3 else 1):
                x0 = 40 + col * 257
                width = 250 if row < 3 else 765
                pts, x = [], x0
                while x < x0 + width:
                    t = (x - x0) % period
                    v = (
                        -32 * math.exp(-((t - 0.3 * period) ** 2) / 4)
                        + 9 * math.exp(-((t - 0.3 * period - 6) ** 2) / 5)
                        - 7 * math.exp(-((t - 0.55 * period) ** 2) / 40)
                        - 3 * math.exp(-((t - 0.15 * period) ** 2) / 12)
                    )
                    pts.append((x, base + v + rng.uniform(-0.4, 0.4)))
                    x += 1.0
                cv.polyline(pts, 0.7, BLACK)
                cv.write(x0 + 2, base - 36, (leads[row * 3 + col] if row < 3 else "II", CLIN), 8)
        cv.write(
            40,
            540,
            [
                "诊断：",
                (rng.choice(("窦性心动过速", "窦性心律  ST-T改变", "III度房室传导阻滞", "窦性心律")), CLIN),
            ],
            10,
        )
        sign_line(ctx, cv, 560, 540, "报告医师", ctx.any_tech(), STAFF, image=False)
    return doc, pages


def render_ctg(ctx: RecordContext, n_pages: int = 1):
    doc, pages = ctx.doc, []
    rng = ctx.rng
    for _ in range(n_pages):
        cv = _trace_page(ctx, doc, pages)
        _trace_header(ctx, cv, "胎心监护报告")
        top, bot = (40, 66, 800, 326), (40, 350, 800, 500)
        for r in (top, bot):
            _pink_grid(cv, r, 6.5, (0.97, 0.6, 0.6), (0.85, 0.15, 0.15), 4)
        for v in range(210, 49, -30):
            yv = top[1] + (210 - v) / 160 * (top[3] - top[1])
            cv.write(42, yv + 3, str(v), 7, RED)
        f, x, pts = 140.0, top[0], []
        while x < top[2]:
            f = min(175, max(105, f + rng.uniform(-2.5, 2.5)))
            pts.append((x, top[1] + (210 - f) / 160 * (top[3] - top[1])))
            x += 1.2
        cv.polyline(pts, 0.8, BLACK)
        pts = [
            (x, bot[3] - 15 - 100 * max(0.0, math.sin((x - bot[0]) / 45)) ** 6)
            for x in range(int(bot[0]), int(bot[2]), 2)
        ]
        cv.polyline(pts, 0.8, BLUE)
        cv.write(
            40,
            520,
            [
                "基线 ",
                (f"{rng.randint(120, 160)}bpm", CLIN),
                "  变异 ",
                ("6-25bpm", CLIN),
                "  宫缩 ",
                ("3-4分钟一次", CLIN),
                "  结论：",
                (rng.choice(("NST反应型", "可疑型，建议复查", "异常，请结合临床")), CLIN),
            ],
            9.5,
        )
        sign_line(ctx, cv, 560, 542, "报告医师", ctx.doctor(3), DOC, image=False)
    return doc, pages


# ------------------------------------------------------------------ registry
# (doc type from the catalog, title, renderer, variable-length?)
RENDERERS = {
    "住院病案首页": ("住院病案首页", render_front_sheet, False),
    "入院记录": ("入院记录", render_admission, False),
    "病程记录": ("病程记录", render_progress, True),
    "术前讨论": ("术前讨论", render_preop, False),
    "手术同意书": ("手术知情同意书", render_consent, False),
    "麻醉记录": ("麻醉记录单", render_anesthesia, False),
    "手术记录": ("手术记录", render_operation, False),
    "出院记录": ("出院记录", render_discharge, False),
    "死亡记录": ("死亡记录", render_discharge, False),
    "死亡病例讨论记录": ("死亡病例讨论记录", render_death_discussion, False),
    "会诊记录": ("会诊记录", render_consultation, False),
    "病危通知书": ("病危（重）通知书", render_critical_notice, False),
    "病理报告": ("病理诊断报告", render_pathology, False),
    "辅助检查报告": ("检验报告单", render_lab, True),
    "影像报告": ("影像检查报告", render_imaging, False),
    "体温单": ("体温单", render_temperature, True),
    "医嘱单": ("医嘱单", render_orders, True),
    "护理记录": ("护理记录单", render_nursing, True),
    "胎心监护": ("胎心监护报告", render_ctg, True),
    "心电图": ("心电图报告", render_ecg, True),
}
CATALOG = list(RENDERERS)
