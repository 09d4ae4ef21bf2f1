"""Recipes that turn fetched HIS/EMR print templates into filled HTML sections.

Only template *markup* is used, as test data; nothing of a source project's code runs.  Files whose license
does not allow redistribution are not stored: they are read from a local cache or a git mirror of the pinned
commit (``EVAL_MIRRORS``, default ``/work/.mirror``) and transformed here.  HTML quirks of real exports are kept
on purpose: a zero-width space between label and value, values split over inline spans, tables, absolute
positioning.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from tools.eval.identities import DATA, VOCAB, Identity, Segment

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("EVAL_CACHE_DIR", ROOT / ".cache" / "eval"))
SOURCES = json.loads((DATA / "sources.json").read_text(encoding="utf-8"))["sources"]
FIELDS = json.loads((DATA / "fields.json").read_text(encoding="utf-8"))
ZWSP = "\u200b"
JR = "{http://jasperreports.sourceforge.net/jasperreports}"
A4_WIDTH_PT = 530.0  # printable width of A4 inside the 10 mm margins


@dataclass
class Section:
    """One filled document: scoped CSS, body HTML, and the static labels printed on it (keep items)."""

    source: dict
    css: str
    body: str
    labels: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------ sources
def source_text(src: dict) -> str | None:
    """The pinned file's text, or None when neither stored, cached nor in a local mirror."""
    if src["stored"]:
        return (DATA / src["stored"]).read_text(encoding="utf-8")
    cached = CACHE / "sources" / src["repo"].replace("/", "+") / src["commit"] / src["path"]
    if cached.exists():
        return cached.read_text(encoding="utf-8")
    for root in os.environ.get("EVAL_MIRRORS", "/work/.mirror").split(os.pathsep):
        git_dir = Path(root) / src["repo"].replace("/", "+") / "repo"
        if (git_dir / ".git").is_dir():  # a checkout rather than a bare mirror
            git_dir = git_dir / ".git"
        if not git_dir.is_dir():
            continue
        out = subprocess.run(
            ["git", "--git-dir", str(git_dir), "show", f"{src['commit']}:{src['path']}"], capture_output=True
        )
        if out.returncode == 0:
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_bytes(out.stdout)
            return out.stdout.decode("utf-8")
    return None


def available_sources(doc_set: str = "emr") -> tuple[dict[str, str], list[dict]]:
    """({source id: text}, [sources of that set that could not be read]); each held-out set only in its own."""
    texts, missing = {}, []
    for src in SOURCES:
        if src.get("set", "emr") != doc_set and src["kind"] != "css":
            continue
        text = source_text(src)
        if text is None:
            missing.append(src)
        else:
            texts[src["id"]] = text
    return texts, missing


# ------------------------------------------------------------------------------------------ values
def fill(ident: Identity, role: str | None, quirky: bool = True) -> str:
    """Escaped HTML of a role's segments; numbers may be split over two inline spans."""
    segs: list[Segment] = ident.get(role) if role else [(str(ident.rng.randrange(1, 5)), None)]
    parts = []
    for text, _cat in segs:
        if quirky and len(text) >= 6 and text.isascii() and ident.rng.random() < 0.4:
            cut = ident.rng.randrange(2, len(text) - 1)
            parts.append(
                f'<span>{html.escape(text[:cut])}</span><span class="v2">{html.escape(text[cut:])}</span>'
            )
        else:
            parts.append(html.escape(text))
    lead = ZWSP if quirky and ident.rng.random() < 0.5 else ""
    return lead + "".join(parts)


def scope_css(css: str, scope: str) -> str:
    """Prefix every selector with the section's class; @page is dropped, @media print is flattened."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    css = re.sub(r"@media\s+print\s*\{((?:[^{}]*\{[^{}]*\})*)\s*\}", r"\1", css)
    css = re.sub(r"@[a-z-]+[^{]*\{(?:[^{}]*\{[^{}]*\})*[^{}]*\}", "", css)
    out = []
    for sel, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        sels = [s.strip() for s in sel.split(",") if s.strip()]
        scoped = [re.sub(r"^(html|body)\b", "", s).strip() for s in sels]
        out.append(", ".join(f".{scope} {s}".strip() for s in scoped) + " {" + body + "}")
    return "\n".join(out)


# ------------------------------------------------------------------------------------------ jrxml
def _attr_px(el, name: str) -> float:
    return float(el.get(name, "0"))


def _pens(el) -> str:
    box = el.find(f"{JR}box")
    if box is None:
        return ""
    css = []
    for side in ("top", "left", "bottom", "right"):
        pen = box.find(f"{JR}{side}Pen")
        width = float(pen.get("lineWidth", "0")) if pen is not None else 0.0
        if width > 0:
            css.append(f"border-{side}:{width}pt solid #000")
    return ";".join(css)


def render_jrxml(src: dict, text: str, ident: Identity) -> Section:
    """JasperReports layout: every element absolutely placed, scaled to an A4 width."""
    root = ET.fromstring(text)
    scale = A4_WIDTH_PT / float(root.get("pageWidth", "842"))
    y0, items, labels = 0.0, [], []
    for sect in ("title", "pageHeader", "columnHeader", "detail", "columnFooter", "pageFooter", "summary"):
        for band in root.iter(f"{JR}{sect}"):
            for b in band.iter(f"{JR}band"):
                for el in b:
                    items.append(_jr_element(el, y0, scale, ident, labels))
                y0 += float(b.get("height", "0"))
    body = '<div class="jr-page">' + "".join(i for i in items if i) + "</div>"
    css = (
        f".{src['id']} .jr-page {{position:relative;width:{A4_WIDTH_PT}pt;height:{y0 * scale:.1f}pt;"
        f"font-family:'AR PL UKai CN','WenQuanYi Zen Hei',serif}} .{src['id']} .jr {{position:absolute;white-space:nowrap;"
        f"line-height:1.1}}"
    )
    return Section(src, css, body, labels)


def _jr_element(el, y0: float, scale: float, ident: Identity, labels: list[str]) -> str:
    tag = el.tag.removeprefix(JR)
    rep = el.find(f"{JR}reportElement")
    if rep is None:
        return ""
    x, y = _attr_px(rep, "x") * scale, (_attr_px(rep, "y") + y0) * scale
    w, h = _attr_px(rep, "width") * scale, _attr_px(rep, "height") * scale
    if tag == "line":
        return f'<div class="jr" style="left:{x:.1f}pt;top:{y:.1f}pt;width:{max(w, 0.6):.1f}pt;height:{max(h, 0.6):.1f}pt;background:#000"></div>'
    if tag == "rectangle":
        return f'<div class="jr" style="left:{x:.1f}pt;top:{y:.1f}pt;width:{w:.1f}pt;height:{h:.1f}pt;border:.6pt solid #000"></div>'
    font = el.find(f"{JR}textElement/{JR}font")
    size = float(font.get("size", "10")) * scale if font is not None else 10 * scale
    align = (
        el.find(f"{JR}textElement").get("textAlignment", "Left").lower()
        if el.find(f"{JR}textElement") is not None
        else "left"
    )
    if tag == "staticText":
        content = (el.findtext(f"{JR}text") or "").strip()
        if len(content.replace(" ", "")) >= 2:
            labels.append(content)
        inner = html.escape(content)
    elif tag == "textField":
        expr = el.findtext(f"{JR}textFieldExpression") or ""
        m = re.search(r"\$P\{(\w+)\}", expr)
        role = FIELDS["jrxml"].get(m.group(1)) if m else None
        inner = fill(ident, role)
    else:
        return ""
    style = (
        f"left:{x:.1f}pt;top:{y:.1f}pt;width:{w:.1f}pt;height:{h:.1f}pt;font-size:{size:.1f}pt;"
        f"text-align:{align};display:flex;align-items:flex-end;{_pens(el)}"
    )
    return f'<div class="jr" style="{style}"><span style="width:100%">{inner}</span></div>'


# ------------------------------------------------------------------------------------------ jsp / ftl
def html_body(text: str) -> str:
    m = re.search(r"<body[^>]*>(.*)</body>", text, re.S)
    body = m.group(1) if m else text
    body = re.sub(r"<script\b.*?</script>", "", body, flags=re.S)
    return re.sub(r"<%.*?%>|</?(c|s|fmt):[^>]*>", "", body, flags=re.S)


def _repeat(body: str, pattern: str, ident: Identity, fill_entry) -> str:
    """Expand a repeated block (avalon ms-repeat, FreeMarker #list) two or three times."""

    def expand(m):
        return "".join(fill_entry(m.group(1), i) for i in range(ident.rng.choice((2, 3))))

    return re.sub(pattern, expand, body, flags=re.S)


def _labels(template_body: str) -> list[str]:
    """Static texts of the unfilled template (printed labels and titles: keep items)."""
    found = re.findall(r"<(?:label|p|td|div)[^>]*>([^<>${}]+?)(?:<|$)", template_body)
    texts = [html.unescape(t).replace("\u00a0", " ").strip() for t in found]
    return [t for t in texts if sum(c.isalpha() for c in t) >= 2]


def render_jsp(src: dict, text: str, ident: Identity, css: str) -> Section:
    body = html_body(text)
    table = FIELDS["jsp"]

    def entry(block: str, i: int) -> str:
        block = re.sub(r"\sms-repeat=\"[^\"]*\"", "", block)
        return re.sub(
            r"\{\{\s*([\w.]+)\s*\}\}", lambda m: fill(ident, _entry_role(table, m.group(1), i)), block
        )

    body = _repeat(body, r"(<div ms-repeat=\"list\"[^>]*>.*?</div>)", ident, entry)
    body = re.sub(r"\$\{([\w.]+)\}", lambda m: fill(ident, table.get(m.group(1))), body)
    body = _add_bed_field(body, ident)
    for key, role in table.items():
        if key.startswith("#"):
            body = body.replace(f'id="{key[1:]}"></span>', f'id="{key[1:]}">{fill(ident, role)}</span>')
    return Section(src, scope_css(css, src["id"]), body, _labels(html_body(text)))


def _add_bed_field(body: str, ident: Identity) -> str:
    """The header line of these records has no 床号 field; real ward prints do: add one in the same markup."""
    m = re.search(r"<span class=\"basic-span\">\s*<label([^>]*)>病历号：", body)
    if not m:
        return body
    field_html = f'<span class="basic-span"><label{m.group(1)}>床号：</label><span>{fill(ident, "bed_no")}</span></span>'
    return body[: m.start()] + field_html + body[m.start() :]


def _entry_role(table: dict, expr: str, i: int) -> str | None:
    role = table.get(expr)
    return (
        f"{role}#{i}"
        if role in ("narrative", "round_title", "drug") or (role or "").startswith("date")
        else role
    )


def render_ftl(src: dict, text: str, ident: Identity) -> Section:
    body = html_body(text)
    css = "\n".join(re.findall(r"<style[^>]*>(.*?)</style>", text, re.S))
    table = FIELDS["ftl"]

    def entry(block: str, i: int) -> str:
        block = block.replace("${item_index+1}", str(i + 1))
        return re.sub(
            r"\$\{\(([\w.\[\]]+)\)!\}", lambda m: fill(ident, _entry_role(table, m.group(1), i)), block
        )

    body = _repeat(body, r"<#list[^>]*>(.*?)</#list>", ident, entry)
    body = re.sub(r"\$\{\(([\w.\[\]]+)\)!\}", lambda m: fill(ident, table.get(m.group(1))), body)
    return Section(src, scope_css(css, src["id"]), body, _labels(html_body(text)))


# ------------------------------------------------------------------------------------------ held-out html
# Recipes for corpus (h): pages of other HIS projects, each with its own placeholder syntax.  The CSS rules
# written here are ours (the projects' style sheets are not part of the pinned files).
def _sub_fields(body: str, pattern: str, table: dict, ident: Identity) -> str:
    return re.sub(pattern, lambda m: fill(ident, table.get(m.group(1).strip())), body)


def _strip_chrome(body: str) -> str:
    """Images of the page's own furniture (icons, spinners) that are not in the pinned files, and buttons."""
    body = re.sub(r"<img\b[^>]*>", "", body)
    body = re.sub(r'<div class="btn-content">.*?</div>', "", body, flags=re.S)
    return re.sub(r'<div id="loading".*?</div>', "", body, flags=re.S)


def _lab_rows(ident: Identity) -> tuple[str, str]:
    """Result rows of one panel (item, value, flag, range, unit), split over the report's two tables."""
    rng = ident.rng
    panel = rng.choice(sorted(VOCAB["lab_panels"]))
    ident.roles["lab_panel"] = [(panel, "lab_item")]
    rows = []
    for k, (item, unit, ref) in enumerate(VOCAB["lab_panels"][panel]):
        low, high = (float(v) for v in ref.split("-"))
        value = rng.uniform(low * 0.6, high * 1.4)
        flag = "↑" if value > high else "↓" if value < low else ""
        cells = {"lab_item": item, "lab_value": f"{value:.2f}", "lab_range": ref, "lab_unit": unit}
        for role, text in cells.items():
            ident.roles[f"{role}#{k}"] = [(text, "lab_value" if role == "lab_range" else role)]
            ident.used.add(f"{role}#{k}")
        rows.append(
            f"<tr><td>{k + 1}</td><td>{html.escape(item)}</td><td>{cells['lab_value']}</td><td>{flag}</td>"
            f"<td>{ref}</td><td>{html.escape(unit)}</td></tr>"
        )
    half = (len(rows) + 1) // 2
    return "".join(rows[:half]), "".join(rows[half:])


def recipe_lab_report(src: dict, text: str, ident: Identity) -> Section:
    """A LIS report kept as a client-side template ({字段}): its hospital name is printed literally."""
    m = re.search(r"<script type=\"text/html\"[^>]*>(.*?)</script>", text, re.S)
    tpl = m.group(1) if m else ""
    tpl = re.sub(r"(<h4>)[^{<]*\{record_name\}", r"\1{医院名称}检验报告单", tpl)
    labels = _labels(re.sub(r"\{[^{}]*\}", "", tpl))
    left, right = _lab_rows(ident)
    tpl = tpl.replace("{tbody}", left).replace("{tbody1}", right)
    body = _sub_fields(tpl, r"\{([^{}<>]+)\}", FIELDS["html"][src["id"]], ident)
    sid = src["id"]
    css = (
        f".{sid} h4{{text-align:center;font-size:16pt}} .{sid} .baseitem{{display:inline-block;width:32%;margin:2pt 0}}"
        f" .{sid} .span6{{display:inline-block;width:49%;vertical-align:top}} .{sid} table{{border-collapse:collapse;width:100%}}"
        f" .{sid} th,.{sid} td{{border-bottom:.5pt solid #000;padding:2pt;font-size:9pt}} .{sid} h6{{font-size:8pt}}"
    )
    return Section(src, css, body, labels)


def recipe_el_table(src: dict, text: str, ident: Identity) -> Section:
    """A JSP detail page of label | value cells filled by EL expressions (${x.y }, <c:out value="${x}">)."""
    text = re.sub(r'<c:out value="(\$\{[^}]*\})"\s*>\s*</c:out>', r"\1", text)
    body = _strip_chrome(html_body(text))
    labels = _labels(re.sub(r"\$\{[^}]*\}", "", body))
    body = _sub_fields(body, r"\$\{\s*([\w.]+)\s*\}", FIELDS["html"][src["id"]], ident)
    sid = src["id"]
    css = (
        f".{sid} table{{border-collapse:collapse;width:100%}} .{sid} td{{border:.5pt solid #000;padding:3pt}}"
        f" .{sid} #zhongxin{{width:100% !important;padding-left:0 !important}}"  # screen margins of a dialog
    )
    return Section(src, css, body, labels)


def recipe_scriptlet_table(src: dict, text: str, ident: Identity) -> Section:
    """A JSP page of label | value rows written by scriptlets (<%=bean.getX()%>)."""
    table = FIELDS["html"][src["id"]]
    text = re.sub(r"<%=\s*([^%]+?)\s*%>", lambda m: "\x00" + m.group(1) + "\x01", text)
    body = _strip_chrome(html_body(text))
    labels = _labels(re.sub(r"\x00[^\x01]*\x01", "", body))
    body = _sub_fields(body, "\x00([^\x01]*)\x01", table, ident)
    sid = src["id"]
    css = f".{sid} table{{border-collapse:collapse}} .{sid} .td_form01{{font-weight:bold;padding:3pt 8pt}} .{sid} .title{{font-size:14pt}}"
    return Section(src, css, body, labels)


def recipe_blank_form(src: dict, text: str, ident: Identity) -> Section:
    """A paper form printed with empty underlined blanks: each blank is filled after the label before it."""
    table = FIELDS["html"][src["id"]]
    body = html_body(text)
    body = re.sub(r'<div class="Noprint".*?</div>', "", body, flags=re.S)
    labels = _labels(body)
    body = re.sub(
        r">([^<>]+?)</td>",
        lambda m: (
            f">{m.group(1)}{fill(ident, table[m.group(1)], quirky=False)}</td>"
            if m.group(1) in table
            else m.group(0)
        ),
        body,
    )
    body = _fill_blanks(body, table, ident)
    css = "\n".join(re.findall(r"<style[^>]*>(.*?)</style>", text, re.S))
    # Its sheet gives every tbody the page's height (one form per screen): one printed page instead.
    fit = f".{src['id']} table, .{src['id']} tbody, .{src['id']} tfoot {{height:auto}} .{src['id']} tr {{height:28px}}"
    return Section(src, scope_css(css, src["id"]) + "\n" + fit, body, labels)


def _fill_blanks(body: str, table: dict, ident: Identity) -> str:
    """Each empty underlined blank takes the role of the nearest label before it (across lines, as on paper);
    a date's 年/月 blanks count only after 签名日期."""
    state = {"label": "", "date": False}

    def one(m):
        if m.group(1) is None:
            text = m.group(3).strip()
            state["date"] = text in ("签名日期", "年", "月") and (state["date"] or text == "签名日期")
            state["label"] = text
            return m.group(0)
        label, state["label"] = state["label"], ""
        role = table.get(label) if label not in ("年", "月") or state["date"] else None
        return m.group(1) + (fill(ident, role, quirky=False) if role else "") + "</span>"

    return re.sub(r'(<span\s+class="ib va bb w\d+"\s*>)</span>|(<span[^>]*>)([^<]*)</span>', one, body)


RECIPES = {
    "lab_report": recipe_lab_report,
    "patient_master": recipe_el_table,
    "inpatient_history": recipe_el_table,
    "discharge_info": recipe_scriptlet_table,
    "newborn_consent": recipe_blank_form,
}


def render(src: dict, texts: dict[str, str], ident: Identity) -> Section:
    text = texts[src["id"]]
    if src["kind"] == "jrxml":
        return render_jrxml(src, text, ident)
    if src["kind"] == "jsp":
        return render_jsp(src, text, ident, texts.get("print_css", ""))
    if src["kind"] == "ftl":
        return render_ftl(src, text, ident)
    if src["kind"] == "html":
        from tools.eval.recipes_i import RECIPES_I  # corpus (i); imports this module's helpers
        from tools.eval.recipes_j import RECIPES_J  # corpus (j)

        return {**RECIPES, **RECIPES_I, **RECIPES_J}[src["id"]](src, text, ident)
    raise ValueError(src["kind"])


def document_html(sections: list[Section]) -> str:
    """One printable HTML file: each section starts a new A4 page."""
    css = "\n".join(s.css for s in sections)
    body = "\n".join(f'<section class="doc {s.source["id"]}">{s.body}</section>' for s in sections)
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><style>'
        "@page{size:A4;margin:12mm 10mm} body{margin:0;font-family:'WenQuanYi Zen Hei',sans-serif;font-size:10.5pt}"
        ".doc{break-after:page} .doc:last-child{break-after:auto}\n"
        + css
        + "</style></head><body>"
        + body
        + "</body></html>"
    )
