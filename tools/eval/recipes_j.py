"""Recipes of corpus (j): maternal and newborn print pages of three more public projects (``"set": "heldout3"``).

A 分娩记录 with its 新生儿情况 blocks (JSP, JSTL), the 首检 pages of a 孕产妇保健手册 (FreeMarker), and the first
faces of a 生育服务证 plus a 死亡登记 of a family-planning system (JSP, values in ``<input>`` boxes).  Each
recipe reads one pinned template and replaces its placeholders by generated values; nothing of a source
project's code runs.  The conditionals of the templates (``<c:if>``, ``<#if>``, ``<c:choose>``) are resolved by
picking one value per tested property, as a filled record would.  Kept print quirks: labels split over two
lines (``持证人<br/>姓名``), ``&nbsp;`` before every value, values in ``<input>`` boxes, bare ``{x}`` braces
that the 保健手册 template prints for ``${x}``, a second hospital (产检医院 / 分娩医院) in one table, the
spouse's name, telephone and ID number on the mother's page, children's names with their 出生证号.
All CSS is ours.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

from tools.eval.identities import DATA, Identity, id_number, mobile, person_name
from tools.eval.recipes_i import define_role, put_value, static_texts
from tools.eval.templates import FIELDS, Section, fill

VOCAB_J = json.loads((DATA / "vocab_j.json").read_text(encoding="utf-8"))
EL = re.compile(r"\$\{([^{}]*)\}")
BARE = re.compile(r"(?<![$\w])\{([a-zA-Z][\w.]*)\}")
TEST_EQ = re.compile(r"([a-zA-Z][\w.]*)\s*(?:==|eq)\s*'?(-?\w+)'?")
TEST_NE = re.compile(r"([a-zA-Z][\w.]*)\s*(?:!=|ne)\s*'?(-?\w+)'?")


# ------------------------------------------------------------------------------------------ conditionals
def _choices(text: str, ident: Identity) -> dict[str, str]:
    """One value per property the template tests for equality (``x == 2``, ``x eq 1``), drawn at random."""
    seen: dict[str, list[str]] = {}
    for prop, value in TEST_EQ.findall(text):
        if value not in ("null", "0") or prop not in seen:
            seen.setdefault(prop, [])
        if value != "null" and value not in seen[prop]:
            seen[prop].append(value)
    return {p: ident.rng.choice(v) for p, v in sorted(seen.items()) if v}


def _holds(test: str, chosen: dict[str, str], ident: Identity) -> bool:
    """A JSTL / FreeMarker test on a filled record: every property is set; equality tests use ``chosen``."""
    test = test.strip().removeprefix("${").removesuffix("}")
    if "fn:indexOf" in test:
        return ident.rng.random() < 0.4
    if re.search(r"==\s*null|\bempty\b|==\s*''", test) and "!" not in test.split("==")[0][-1:]:
        return False
    for prop, value in TEST_EQ.findall(test):
        if value != "null" and chosen.get(prop) != value:
            return False
    return not any(prop in chosen and chosen[prop] == value for prop, value in TEST_NE.findall(test))


def resolve_jstl(body: str, ident: Identity) -> str:
    """``<c:if>`` and ``<c:choose>`` resolved innermost first."""
    chosen = _choices(body, ident)
    inner_if = re.compile(r'<c:if test="([^"]*)"\s*>((?:(?!<c:if\b).)*?)</c:if>', re.S)
    while True:
        body, n = inner_if.subn(lambda m: m.group(2) if _holds(m.group(1), chosen, ident) else "", body)
        if not n:
            break

    def choose(m):
        for test, inner in re.findall(r'<c:when test="([^"]*)"\s*>(.*?)</c:when>', m.group(1), re.S):
            if _holds(test, chosen, ident):
                return inner
        other = re.search(r"<c:otherwise>(.*?)</c:otherwise>", m.group(1), re.S)
        return other.group(1) if other else ""

    return re.sub(r"<c:choose>(.*?)</c:choose>", choose, body, flags=re.S)


def resolve_ftl(body: str, ident: Identity) -> str:
    """``<#if>`` (with ``<#else>``) resolved innermost first; ``<#assign>`` dropped."""
    body = re.sub(r"<#assign[^>]*>", "", body)
    chosen = _choices(body, ident)
    inner_if = re.compile(r"<#if\s+((?:[^>]|->)*?)>((?:(?!<#if\b).)*?)</#if>", re.S)

    def one(m):
        yes, _, no = m.group(2).partition("<#else>")
        return yes if _holds(m.group(1), chosen, ident) else no

    while True:
        body, n = inner_if.subn(one, body)
        if not n:
            return body


def _expand(body: str, pattern: str, ident: Identity, times: tuple[int, ...], role_of) -> str:
    """Repeat a loop body; ``role_of(expr, k)`` names the role of each of its expressions in entry k."""

    def expand(m):
        out = []
        for k in range(ident.rng.choice(times)):
            entry = re.sub(r"\$\{\s*status\.count\s*\}", str(k + 1), m.group(1))
            out.append(EL.sub(lambda e, k=k: "${@" + (role_of(e.group(1), k) or "") + "}", entry))
        return "".join(out)

    return re.sub(pattern, expand, body, flags=re.S)


def _role_html(ident: Identity, role: str | None, quirky: bool = True) -> str:
    return fill(ident, role, quirky) if role else ""


def _key(expr: str) -> str:
    return re.split(r"[?!}]", expr.strip())[0].strip()


def _lookup(table: dict, expr: str) -> str | None:
    """The role of an expression; ``@role`` is a loop entry's role, already resolved by ``_expand``."""
    expr = expr.strip()
    if expr.startswith("@"):
        return expr[1:] or None
    return table.get(_key(expr))


def _fill_el(body: str, table: dict, ident: Identity, quirky: bool = True) -> str:
    def one(m):
        return _role_html(ident, _lookup(table, m.group(1)), quirky)

    body = re.sub(r'value="\$\{([^{}]*)\}"', lambda m: f'value="{_plain(ident, table, m)}"', body)
    return EL.sub(one, body)


def _plain(ident: Identity, table: dict, m) -> str:
    role = _lookup(table, m.group(1))
    return fill(ident, role, quirky=False) if role else ""


def _format_dates(body: str, table: dict, ident: Identity) -> str:
    """``<fmt:formatDate value="${x}" pattern="…"/>`` -> x's date in that pattern (yyyy-MM-dd / yyyy年MM月dd日)."""

    def one(m):
        role = _lookup(table, EL.search(m.group(0)).group(1))
        if not role:
            return ""
        printed = role in ident.used
        digits = re.findall(r"\d+", ident.get(role)[0][0])[:3]
        if not printed:  # only its reformatted copy is printed here
            ident.used.discard(role)
        text = f"{digits[0]}年{digits[1]}月{digits[2]}日" if "年" in m.group(0) else "-".join(digits)
        return put_value(ident, f"{role}_fmt{'_cn' if '年' in m.group(0) else ''}", text, "date")

    return re.sub(r"<fmt:formatDate\b[^>]*?/>", one, body)


def _dict_tags(body: str, table: dict, ident: Identity) -> str:
    """``<tags:js.dict.getValue value="${x}"/>`` -> the display word of x (its role, or nothing)."""
    return re.sub(
        r'<tags:js[\w.]*\s+value="\$\{([^{}]*)\}"\s*/>',
        lambda m: _plain(ident, table, m),
        body,
    )


# ------------------------------------------------------------------------------------------ roles
def _roles(ident: Identity) -> None:
    """Roles of this corpus made before filling (they become truth only where they are printed)."""
    rng, v = ident.rng, VOCAB_J
    surname = ident.roles["patient_name"][0][0][0]
    define_role(
        ident, "hospital_name_2", rng.choice(v["cities"]) + rng.choice(v["hospital_kinds"]), "hospital_name"
    )
    define_role(ident, "ob_diagnosis", rng.choice(v["ob_diagnoses"]), "diagnosis")
    define_role(ident, "ob_diagnosis_2", rng.choice(v["ob_diagnoses"]), "diagnosis")
    define_role(ident, "ob_diagnosis_3", rng.choice(v["ob_diagnoses"]), "diagnosis")
    define_role(ident, "newborn_diagnosis", rng.choice(v["newborn_diagnoses"]), "diagnosis")
    define_role(ident, "death_cause", rng.choice(v["death_causes"]), "diagnosis")
    define_role(ident, "education", rng.choice(v["education"]), None)
    define_role(ident, "job", rng.choice(v["jobs"]), None)
    define_role(ident, "nation", rng.choice(v["nations"]), None)
    define_role(ident, "fetal_position", rng.choice(v["positions"]), None)
    define_role(ident, "relation_j", rng.choice(v["relations"]), None)
    define_role(ident, "contraception", rng.choice(v["contraception"]), None)
    define_role(ident, "edu_topic", rng.choice(v["edu_topics"]), None)
    define_role(ident, "gest_weeks", f"{rng.randrange(30, 42)}+{rng.randrange(7)}", "lab_value")
    define_role(ident, "height_n", f"{rng.randrange(150, 178)}", "vital")
    define_role(ident, "weight_n", f"{rng.randrange(48, 90)}", "vital")
    define_role(ident, "bp", f"{rng.randrange(100, 160)}/{rng.randrange(60, 100)}", "vital")
    define_role(ident, "blood_ml", f"{rng.randrange(150, 1800)}", "lab_value")
    define_role(ident, "stage_1", f"{rng.randrange(3, 16)}小时{rng.randrange(60)}分", "lab_value")
    define_role(ident, "stage_2", f"{rng.randrange(10, 90)}分", "lab_value")
    define_role(ident, "stage_3", f"{rng.randrange(5, 30)}分", "lab_value")
    define_role(ident, "hour", f"{rng.randrange(24)}", None)
    define_role(ident, "minute", f"{rng.randrange(60)}", None)
    define_role(ident, "small_n", f"{rng.randrange(1, 4)}", None)
    define_role(ident, "spouse_age", f"{rng.randrange(22, 45)}", None)
    define_role(ident, "health_word", rng.choice(("健康", "良好", "一般")), None)
    define_role(
        ident,
        "spouse_id",
        id_number(rng, ident.admitted - timedelta(days=365 * 30), False, ident.vocab),
        "id_number",
    )
    define_role(ident, "spouse_phone", mobile(rng), "phone")
    define_role(ident, "cert_no", f"{rng.randrange(10**9, 10**10)}", "patient_id")
    define_role(ident, "deceased_name", person_name(rng, ident.vocab), "patient_name")
    define_role(
        ident,
        "deceased_id",
        id_number(rng, ident.admitted - timedelta(days=365 * 60), True, ident.vocab),
        "id_number",
    )
    for k in range(3):
        given = "".join(rng.choice(ident.vocab["given_chars"]) for _ in range(2))
        define_role(ident, f"child_name#{k}", surname + given, "family_name")
        define_role(
            ident, f"birth_cert#{k}", f"{rng.choice('NOPQR')}{rng.randrange(10**8, 10**9)}", "patient_id"
        )
        define_role(ident, f"baby_weight#{k}", f"{rng.randrange(1800, 4300)}", "vital")
        define_role(ident, f"baby_length#{k}", f"{rng.randrange(42, 54)}", "vital")
        define_role(ident, f"apgar#{k}", f"{rng.randrange(4, 11)}", "lab_value")


def _indexed(table: dict, expr: str, k: int) -> str | None:
    role = table.get(_key(expr))
    if role and (role.endswith("#") or role.startswith(("date", "narrative"))):
        return f"{role.rstrip('#')}#{k}"
    return role


def _jsp_body(text: str) -> str:
    """The ``<body>`` of a JSP with its JSTL tags kept (``templates.html_body`` drops them)."""
    m = re.search(r"<body[^>]*>(.*)</body>", text, re.S)
    body = m.group(1) if m else text
    return re.sub(r"<script\b.*?</script>|<%.*?%>", "", body, flags=re.S)


def _css(sid: str, extra: str = "") -> str:
    return (
        f".{sid} table{{border-collapse:collapse;width:100%}} .{sid} td{{padding:2pt 4px;font-size:9.5pt;vertical-align:middle}}"
        f" .{sid} .title, .{sid} h3{{text-align:center;font-size:15pt;font-weight:bold;margin:4pt 0}}" + extra
    )


# ------------------------------------------------------------------------------------------ 分娩记录
def recipe_birth_ending(src: dict, text: str, ident: Identity) -> Section:
    """A 分娩结局 page (label | value cells in bootstrap tables), one 新生儿情况 block per baby."""
    table = FIELDS["html"][src["id"]]
    _roles(ident)
    body = _jsp_body(text)
    body = re.sub(r'<i class="fa[^"]*"></i>', "", body)
    body = re.sub(r'<c:forEach var="dischargedPojo".*?</c:forEach>', "", body, flags=re.S)
    body = resolve_jstl(body, ident)
    body = _expand(
        body,
        r'<c:forEach var="baby"[^>]*>(.*?)</c:forEach>',
        ident,
        (1, 1, 2),
        lambda e, k: _indexed(table, e, k),
    )
    body = (
        f'<div class="title">{fill(ident, "hospital_name", quirky=False)}</div><div class="title">分娩记录</div>'
        + body
    )
    static = EL.sub("", body)
    body = _format_dates(body, table, ident)
    body = _fill_el(body, table, ident)
    body = re.sub(r"</?(c|fmt|fn|tags):[^>]*>", "", body)
    css = _css(
        src["id"],
        f" .{src['id']} td{{border:.5pt solid #000}} .{src['id']} .panel-heading{{font-weight:bold;margin:6pt 0 2pt}}",
    )
    return Section(src, css, body, static_texts(static))


# ------------------------------------------------------------------------------------------ 孕产妇保健手册
def recipe_prenatal_book(src: dict, text: str, ident: Identity) -> Section:
    """The 首检 pages of a 孕产妇保健手册 (FreeMarker): the mother's and her husband's particulars, the
    pregnancy history table, the first examination; some fields print ``{x}`` (the template's own slip)."""
    table = FIELDS["html"][src["id"]]
    _roles(ident)
    body = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    body = re.sub(r"\s(v-for|:class)=\"[^\"]*\"", "", body)
    body = resolve_ftl(body, ident)
    body = _expand(body, r"<#list[^>]*>(.*?)</#list>", ident, (1, 2), lambda e, k: _indexed(table, e, k))
    static = BARE.sub("", EL.sub("", body))
    body = BARE.sub(lambda m: _role_html(ident, _lookup(table, m.group(1))), body)
    body = _fill_el(body, table, ident)
    sid = src["id"]
    css = _css(
        sid,
        f" .{sid} .nextPage{{break-before:page}} .{sid} .auxiliaryExamination td, .{sid} .bizExamine td{{border:.5pt solid #000}}"
        f" .{sid} .top span{{display:inline-block;width:30%}} .{sid} .tdFlex span{{display:inline-block;width:22%}}",
    )
    return Section(src, css, body, static_texts(static))


# ------------------------------------------------------------------------------------------ 生育服务证
def recipe_birth_service_cert(src: dict, text: str, ident: Identity) -> Section:
    """The first three faces of a 生育服务证 print (``view4print``): two-line labels, ``&nbsp;`` values, the
    children's names and 出生证号, the contraception surgeon."""
    table = FIELDS["html"][src["id"]]
    _roles(ident)
    body = text.split("第四面")[0]
    body = re.sub(r"<%.*?%>|<style\b.*?</style>|<form[^>]*>|</form>", "", body, flags=re.S)
    body = re.sub(r"<img\b[^>]*>", "", body)  # the photo is an uploaded file
    body = re.sub(r"<c:if test=\"\$\{fn:length.*?</c:if>", "", body, flags=re.S)  # padding rows
    body = _expand(
        body,
        r'<c:forEach var="a" items="\$\{childs1\}"[^>]*>(.*?)</c:forEach>',
        ident,
        (1, 2),
        lambda e, k: _indexed(table, "child." + _key(e).removeprefix("a."), k),
    )
    body = re.sub(r"<c:forEach\b.*?</c:forEach>", "", body, flags=re.S)
    body = re.sub(r"\$\{wcs\[\d\]\.(\w+)\}", r"${wcs.\1}", body)
    static = EL.sub("", re.sub(r"<fmt:formatDate\b[^>]*?/>|<tags:[^>]*?/>", "", body))
    body = _format_dates(body, table, ident)
    body = _dict_tags(body, table, ident)
    body = _fill_el(body, table, ident)
    body = re.sub(r"</?(c|fmt|fn|tags|tagsold):[^>]*>", "", body)
    sid = src["id"]
    css = (
        f".{sid} table{{border-collapse:collapse}} .{sid} td{{font-size:9pt;padding:1px 2px}}"
        f" .{sid} .In1-table1{{border:2px solid #000}} .{sid} .In1-td-rightbottom{{border-right:1px solid #000;border-bottom:1px solid #000}}"
        f" .{sid} .In1-td-bottom{{border-bottom:1px solid #000}} .{sid} .In1-td-right{{border-right:1px solid #000}}"
        f" .{sid} .title_black{{font-weight:bold;font-size:11pt}}"
    )
    return Section(src, css, body, static_texts(static))


# ------------------------------------------------------------------------------------------ 死亡登记
def recipe_death_reg(src: dict, text: str, ident: Identity) -> Section:
    """A 死亡登记 view: ``<label>`` then a read-only ``<input value="${x}">`` per field."""
    table = FIELDS["html"][src["id"]]
    _roles(ident)
    body = re.sub(r"<%.*?%>", "", text, flags=re.S)
    body = re.sub(r'<div class="formBar">.*?</div>\s*</div>\s*</div>', "", body, flags=re.S)
    body = re.sub(r"<button\b.*?</button>", "", body, flags=re.S)
    static = EL.sub("", re.sub(r"<fmt:formatDate\b[^>]*?/>|<tags:[^>]*?/>", "", body))
    body = _format_dates(body, table, ident)
    body = _dict_tags(body, table, ident)
    body = _fill_el(body, table, ident, quirky=False)
    body = re.sub(r"</?(c|fmt|fn|tags):[^>]*>", "", body)
    body = (
        f'<div class="title">{fill(ident, "hospital_name", quirky=False)}</div><div class="title">死亡登记</div>'
        + body
    )
    sid = src["id"]
    css = _css(
        sid,
        f" .{sid} p{{margin:5pt 0}} .{sid} label{{display:inline-block;width:7em}}"
        f" .{sid} input{{width:60%;border:none;border-bottom:.5pt solid #000;font:inherit;font-size:10pt}}",
    )
    return Section(src, css, body, static_texts(static))


RECIPES_J = {
    "birth_ending": recipe_birth_ending,
    "prenatal_book": recipe_prenatal_book,
    "birth_service_cert": recipe_birth_service_cert,
    "death_reg": recipe_death_reg,
}
