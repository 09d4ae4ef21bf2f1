"""Recipes of corpus (i): print pages of four more public HIS / public-health projects (``"set": "heldout2"``).

Each recipe reads one pinned template (JSP with JSTL / custom tags, FreeMarker) and replaces its placeholders
by generated values; nothing of a source project's code runs.  The CSS written here is ours, modelled on
the projects' own sheets where they exist (the pinned files are the templates only).  Real print quirks are
kept: values inside ``<input>`` boxes, an ID number printed one digit per box, labels spaced with ``&nbsp;``,
two names in one cell, a hospital telephone number in a footer sentence.
"""

from __future__ import annotations

import html
import json
import re

from tools.eval.identities import DATA, Identity, landline
from tools.eval.templates import FIELDS, Section, fill, html_body, scope_css

VOCAB_I = json.loads((DATA / "vocab_i.json").read_text(encoding="utf-8"))
EL = re.compile(r"\$\{([^{}]*)\}")


# ------------------------------------------------------------------------------------------ helpers
def _key(expr: str) -> str:
    """``report.reportDate?date`` / ``x.name `` -> the bare property path."""
    return re.split(r"[?!]", expr.strip())[0].strip()


def _value(ident: Identity, table: dict, expr: str, quirky: bool = True) -> str:
    """Filled HTML of one expression; expressions the table does not map print nothing (an empty field)."""
    role = table.get(_key(expr))
    return fill(ident, role, quirky) if role else ""


def put_value(ident: Identity, role: str, text: str, cat: str | None) -> str:
    """A value made by a recipe (a format the identity generator has no role for); returns its HTML."""
    ident.roles.setdefault(role, [(text, cat)])
    ident.used.add(role)
    return html.escape(ident.roles[role][0][0])


def static_texts(markup: str) -> list[str]:
    """Static texts of an unfilled template (titles, labels, option names): the keep items."""
    markup = re.sub(r"<style\b.*?</style>|<script\b.*?</script>", "", markup, flags=re.S)
    found = re.findall(r">([^<>]+)<", markup)
    texts = [html.unescape(t).replace("\u00a0", " ").strip() for t in found]
    return [t for t in texts if sum(c.isalpha() for c in t) >= 2 and not EL.search(t)]


def _print_page(text: str) -> str:
    """The ``printPage`` div of an RHIP view: JSP comments, directives and scripts removed."""
    text = re.sub(r"<%--.*?--%>", "", text, flags=re.S)
    text = re.sub(r"<%.*?%>|<script\b.*?</script>", "", text, flags=re.S)
    start = text.find('<div id="printPage"')
    return text[start:] if start >= 0 else text


def define_role(ident: Identity, role: str, text: str, cat: str | None) -> None:
    """A role only this corpus has, made before filling (it becomes truth only where it is printed)."""
    ident.roles.setdefault(role, [(text, cat)])


def _slash_date(ident: Identity, role: str, with_time: bool) -> str:
    day = "/".join(re.findall(r"\d+", ident.get(role)[0][0])[:3])
    if with_time:
        day += (
            f" {ident.rng.randrange(7, 22):02d}:{ident.rng.randrange(60):02d}:{ident.rng.randrange(60):02d}"
        )
    return put_value(ident, f"{role}_slash{'_t' if with_time else ''}", day, "date")


def _format_dates(body: str, table: dict, ident: Identity) -> str:
    """``<fmt:formatDate value="${x}" pattern="yyyy/MM/dd[ HH:mm:ss]"/>`` -> a slashed date of x's role."""

    def one(m):
        role = table.get(_key(EL.search(m.group(0)).group(1)))
        return _slash_date(ident, role, "HH" in m.group(0)) if role else ""

    return re.sub(r"<fmt:formatDate\b[^>]*/>", one, body)


def _boxes(label_html: str, chars: str, cls: str, dash_at: tuple[int, ...] = ()) -> str:
    """A number printed one character per bordered box, as RHIP's ``getIdcardHtml`` writes it."""
    cells = "".join(
        ('<span class="line">-</span>' if i in dash_at else "") + f"<span>{html.escape(c)}</span>"
        for i, c in enumerate(chars)
    )
    return f'<s class="{cls}"><span class="text">{label_html}</span>{cells}</s>'


def _checks(options: list[str], checked: set[str]) -> str:
    return "&nbsp;".join(f"{'☑' if o in checked else '□'}{html.escape(o)}" for o in options)


# ------------------------------------------------------------------------------------------ 传染病报告卡
def recipe_idm_report(src: dict, text: str, ident: Identity) -> Section:
    """RHIP's notifiable-disease report card: values in ``<input>`` boxes, the ID number in 18 digit boxes."""
    table = FIELDS["html"][src["id"]]
    rng = ident.rng
    body = _print_page(text)
    sex = ident.get("sex")[0][0]
    disease = rng.choice(VOCAB_I["diseases_b"] + VOCAB_I["diseases_c"])
    put_value(ident, "notifiable_disease", disease, "diagnosis")
    picks = {
        "reportCardTypeCode": (["初次报告", "订正报告"], {"初次报告"}),
        "gender": (["男", "女"], {sex}),
        "ageUnit": (["岁", "月", "天"], {"岁"}),
        "infectedpersonBelong": (VOCAB_I["belongs"], {rng.choice(VOCAB_I["belongs"])}),
        "occupation": (VOCAB_I["occupations"], {rng.choice(VOCAB_I["occupations"])}),
        "caseCategory": (VOCAB_I["case_kinds"], {rng.choice(VOCAB_I["case_kinds"])}),
        "caseCategoryFlag": (["急性", "慢性"], {"急性"}),
    }
    cursor = {
        "1": iter(VOCAB_I["diseases_a"]),
        "2": iter(VOCAB_I["diseases_b"]),
        "3": iter(VOCAB_I["diseases_c"]),
    }
    labels: list[str] = []

    def checkbox(m):
        tag = m.group(0)
        name = re.search(r'name="(\w+)"', tag).group(1)
        if name in picks:
            options, checked = picks[name]
        else:  # a disease list: as many names of its class as the tag has codes
            codes = re.search(r'code="([^"]*)"', tag).group(1).split(",")
            options = [n for n in (next(cursor[codes[0][0]], None) for _ in codes) if n]
            checked = {disease}
        labels.extend(options)
        return _checks(options, checked)

    body = re.sub(r"<ehr:dic-checkbox\b[^>]*/>", checkbox, body, flags=re.S)
    health_no = "".join(str(rng.randrange(10)) for _ in range(17))
    dashed = f"{health_no[:6]}-{health_no[6:9]}-{health_no[9:12]}-{health_no[12:]}"
    put_value(ident, "health_file_no", dashed, "patient_id")
    ident_no = ident.get("id_number")[0][0]
    body = re.sub(
        r"<c:choose>.*?</c:choose>",
        lambda m: _boxes("<b>编号：</b>", health_no, "pop_No", (6, 9, 12)),
        body,
        flags=re.S,
    )
    body = body.replace("${reportDto.report.idcardHtml}", _boxes("身份证号：", ident_no, "idcard"))
    define_role(ident, "card_no", f"{rng.randrange(10**11, 10**12)}", None)
    static = EL.sub("", re.sub(r'value="[^"]*"', 'value=""', body))
    body = _format_dates(body, table, ident)
    body = re.sub(r"<ehr:user\b[^>]*/>", lambda m: fill(ident, "staff_report"), body)
    body = re.sub(  # inside an attribute: plain text
        r'value="\$\{([^{}]*)\}"', lambda m: f'value="{_value(ident, table, m.group(1), quirky=False)}"', body
    )
    body = EL.sub(lambda m: _value(ident, table, m.group(1)), body)
    body = re.sub(r"</?(c|s|fmt|ehr|tag):[^>]*>", "", body)
    sid = src["id"]
    css = (
        f".{sid} i.popno{{display:block;font-style:normal;text-align:center;font-size:16pt;font-weight:bold;margin:4pt 0 8pt}}"
        f" .{sid} table{{width:100%;border-collapse:collapse;table-layout:fixed;margin-top:2pt}}"
        f" .{sid} td{{padding:2pt 5px;line-height:19px;font-size:9.5pt;vertical-align:bottom}}"
        f" .{sid} input[type=text]{{border:none;border-bottom:1px solid #000;font-size:9pt;font-family:inherit}}"
        f" .{sid} s{{text-decoration:none}} .{sid} s span{{border:1px solid #000;margin:0 1px;padding:0 4px}}"
        f" .{sid} s span.text, .{sid} s span.line{{border:none;padding:0}}"
    )
    return Section(src, css, body, static_texts(static) + labels)


# ------------------------------------------------------------------------------------------ 出院记录
def recipe_discharge_record(src: dict, text: str, ident: Identity) -> Section:
    """RHIP's 出院记录: ``<c:out>`` values after labels in one cell, diagnosis lists, a surgery table."""
    table = FIELDS["html"][src["id"]]
    rng = ident.rng
    body = _print_page(text)
    define_role(ident, "ward", rng.choice(VOCAB_I["wards"]), None)

    def diagnoses(m):
        roles = ("diagnosis", "diagnosis_2") if m.group(1) == "in" else ("diagnosis", "diagnosis_3")
        return " ".join(f"{i + 1}.{fill(ident, r, quirky=False)}" for i, r in enumerate(roles))

    body = re.sub(
        r'<c:forEach items="\$\{outhospitalSummaryDto\.(in|out)HosDiseaseDiagnosisInfos \}"[^>]*>.*?</c:forEach>',
        diagnoses,
        body,
        flags=re.S,
    )
    surgery = "".join(
        f"<tr><td>{fill(ident, 'procedure')}</td><td>{_slash_date(ident, 'date_operation', False)}</td></tr>"
        for _ in range(rng.choice((1, 1, 2)))
    )
    body = re.sub(
        r'<c:forEach begin="0" items="\$\{surgeryInfos\}"[^>]*>.*?</c:forEach>', surgery, body, flags=re.S
    )
    static = body
    body = re.sub(r'<ehr:dic dicmeta="GBT226112003"[^>]*/>', lambda m: fill(ident, "sex"), body)
    body = re.sub(r'<ehr:dic dicmeta="GBT226122003"[^>]*/>', lambda m: fill(ident, "marital"), body)
    body = re.sub(
        r"<tags:textWithDic\b[^>]*/>",
        lambda m: put_value(ident, "occupation", rng.choice(VOCAB_I["occupations"]), None),
        body,
    )
    body = _format_dates(body, table, ident)
    body = re.sub(r'<c:out value="(\$\{[^}]*\})"\s*>\s*</c:out>', r"\1", body)
    body = EL.sub(lambda m: _value(ident, table, m.group(1)), body)
    body = re.sub(r"</?(c|fmt|ehr|tags):[^>]*>", "", body)
    # The print of this view carries the hospital's name above the title (as the file's earlier, commented
    # version printed it): ours.
    body = f'<div class="hosp">{fill(ident, "hospital_name", quirky=False)}</div>' + body
    sid = src["id"]
    css = (
        f".{sid} .hosp{{text-align:center;font-size:15pt;font-weight:bold}}"
        f" .{sid} i.popno{{display:block;font-style:normal;text-align:center;font-size:14pt;font-weight:bold;margin:2pt 0 8pt}}"
        f" .{sid} table{{width:100%;border-collapse:collapse;table-layout:fixed}}"
        f" .{sid} td{{padding:2pt 5px;line-height:19px;font-size:10pt;vertical-align:bottom}}"
        f" .{sid} .repeattable table td, .{sid} .repeattable th{{border:.5pt solid #000;text-align:center}}"
    )
    return Section(src, css, body, static_texts(EL.sub("", static)))


# ------------------------------------------------------------------------------------------ 检验报告单 (ftl)
def recipe_lab_ftl(src: dict, text: str, ident: Identity) -> Section:
    """A FreeMarker 检验报告单 of label / value ``<th>``/``<td>`` cells, its labels spaced with ``&nbsp;``."""
    table = FIELDS["html"][src["id"]]
    rng = ident.rng
    css = "\n".join(re.findall(r"<style[^>]*>(.*?)</style>", text, re.S))
    body = html_body(text)
    body = re.sub(r"<img\b[^>]*>", "", body)  # the electronic seal is a local file, not in the repository
    define_role(ident, "instrument", rng.choice(VOCAB_I["instruments"]), None)
    define_role(ident, "specimen_no", f"{rng.randrange(1000, 9999)}", None)
    define_role(ident, "barcode_no", f"{rng.randrange(10**9, 10**10)}", None)
    panel = rng.choice(sorted(ident.vocab["lab_panels"]))
    ident.roles["lab_panel"] = [(panel, "lab_item")]

    def rows(m):
        out = []
        for k, (item, unit, ref) in enumerate(ident.vocab["lab_panels"][panel]):
            low, high = (float(v) for v in ref.split("-"))
            cells = {
                "lab_item": item,
                "lab_value": f"{rng.uniform(low * 0.6, high * 1.4):.2f}",
                "lab_range": ref,
                "lab_unit": unit,
            }
            for role, value in cells.items():
                put_value(ident, f"{role}#{k}", value, "lab_value" if role == "lab_range" else role)
            out.append(
                f"<tr><td>{k + 1:02d}</td><td>{html.escape(item)}</td><td>{cells['lab_value']}</td>"
                f"<td>{ref}</td><td>{html.escape(unit)}</td></tr>"
            )
        return "".join(out)

    body = re.sub(r"<#list[^>]*>.*?</#list>", rows, body, flags=re.S)
    # The template prints its own hospital's telephone number in the footer sentence: a generated one here.
    body = re.sub(
        r"\d{3,4}-\d{7,8}", lambda m: put_value(ident, "phone_lab", landline(rng, ident.vocab), "phone"), body
    )
    static = EL.sub("", body)
    body = EL.sub(lambda m: _value(ident, table, m.group(1)), body)
    return Section(src, scope_css(css, src["id"]), body, static_texts(static))


# ------------------------------------------------------------------------------------------ 染色体核型分析报告
def recipe_karyotype_report(src: dict, text: str, ident: Identity) -> Section:
    """A cytogenetics lab's report (FreeMarker, bootstrap grid): ``<label>姓 名：</label> value`` pairs."""
    table = FIELDS["html"][src["id"]]
    rng = ident.rng
    body = html_body(text)
    body = re.sub(r"<img\b[^>]*>", "", body)  # logo and karyogram images are not in the repository
    body = re.sub(r"<#else>.*?</#if>", "</#if>", body, flags=re.S)  # shown fields: the first branch
    body = re.sub(r"<#if[^>]*>collapse</#if>", "", body)
    body = re.sub(r"</?#(if|setting)[^>]*>", "", body)
    body = body.replace("${report.name}", "染色体核型分析报告")
    define_role(ident, "karyotype", rng.choice(VOCAB_I["karyotypes"]), "lab_value")
    define_role(ident, "indication", rng.choice(VOCAB_I["indications"]), "diagnosis")
    define_role(ident, "method", rng.choice(VOCAB_I["methods"]), "narrative")
    define_role(ident, "specimen_no", f"G{rng.randrange(10**5, 10**6)}", None)
    static = EL.sub("", body)
    body = EL.sub(lambda m: _value(ident, table, m.group(1)), body)
    sid = src["id"]
    css = (
        f".{sid} .text-center{{text-align:center}} .{sid} h3{{font-size:16pt;margin:4pt 0}} .{sid} h4{{font-size:13pt;margin:2pt 0 10pt}}"
        f" .{sid} .row{{display:flex;margin:4pt 0}} .{sid} .col-xs-4{{width:33%}} .{sid} .pull-left{{float:left;margin:0}}"
        f" .{sid} .item{{margin:6pt 0;clear:both}} .{sid} .margin-l-text-5{{margin-left:6em}} .{sid} .margin-l-text-3{{margin-left:4em}}"
        f" .{sid} .part{{border-bottom:.5pt solid #000;padding:4pt 0}} .{sid} .clearfix{{clear:both}} .{sid} label{{font-weight:bold}}"
    )
    return Section(src, css, body, static_texts(static))


RECIPES_I = {
    "idm_report": recipe_idm_report,
    "discharge_record": recipe_discharge_record,
    "lab_ftl": recipe_lab_ftl,
    "karyotype_report": recipe_karyotype_report,
}
