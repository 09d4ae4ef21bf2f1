"""The fast part of the hostile-PDF kit (``tools.eval.hostile_kit.quick_kit``:
a few files of every mutation class) through the CLI's ``main``.

Each file must give exit 0 with a sound output (opens, renders, the leak
gate passes, the planted name and ID gone) or exit 2 with one line on
stderr and no output, and that refusal must be one the product recognised
(not its catch-all for unexpected exceptions).  The whole kit, public
malformed sets included, runs with ``python -m tools.eval.hostile``.
"""

from __future__ import annotations

import json

import pytest

from core import cli
from tools.eval.hostile import judge
from tools.eval.hostile_kit import GENERATORS, quick_kit

KIT = quick_kit()
# Open classes, named so that make test shows them (none now: text under a singular or huge matrix, once
# refused by the leak gate, is removed by core.redaction.unplaceable and listed in FIXED below).
KNOWN_OPEN: dict[str, str] = {}
CASES = [
    pytest.param(f, id=f.name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_OPEN[f.name]))
    if f.name in KNOWN_OPEN
    else pytest.param(f, id=f.name)
    for f in KIT
]


def test_quick_kit_covers_every_class():
    assert {f.klass for f in KIT} == set(GENERATORS) and 30 <= len(KIT) <= 60


@pytest.mark.parametrize("item", CASES)
def test_kit_file_is_processed_soundly_or_refused_in_one_line(item, tmp_path, capsys):
    src, out, meta = tmp_path / "in.pdf", tmp_path / "out.pdf", tmp_path / "case.json"
    src.write_bytes(item.data)
    meta.write_text(
        json.dumps(
            {"patient_name": item.identifiers[0], "id_number": item.identifiers[-1]}
            if item.identifiers
            else {},
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    rc = cli.main(["redact", str(src), "-o", str(out), "--meta", str(meta), "--no-ocr"])
    outcome, detail = judge(rc, capsys.readouterr().err, out, item)
    assert outcome in ("ok", "refused"), f"{outcome}: {detail}"


# Classes the kit found and the product now handles (each failed before: wrong boxes and the leak gate's
# refusal, the CLI's catch-all, or no answer): they stay in make test whatever the sample picks.
FIXED = {
    "rotate-45": "ok",
    "acroform-field-loop": "ok",
    "image-mediabox-1e9": "refused",
    "count-5-no-kids": "refused",
    "count-2147483647": "refused",
    "content-flate-bomb": "refused",
    "content-singular-matrix": "ok",
    "content-huge-matrix": "ok",
    "tj-groups": "ok",  # a number kerned apart in groups was left whole (not in the case index)
    "tc-spacing": "ok",
}


@pytest.fixture(scope="module")
def mutations() -> dict:
    from tools.eval.hostile_kit import mutation_kit

    return {f.name: f for f in mutation_kit()}


@pytest.mark.parametrize("name", sorted(FIXED))
def test_kit_classes_found_and_fixed(name, mutations, tmp_path, capsys):
    item = mutations[name]
    src, out, meta = tmp_path / "in.pdf", tmp_path / "out.pdf", tmp_path / "case.json"
    src.write_bytes(item.data)
    meta.write_text(
        json.dumps(
            {"patient_name": item.identifiers[0], "id_number": item.identifiers[-1]} if item.meta else {},
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    rc = cli.main(["redact", str(src), "-o", str(out), "--meta", str(meta), "--no-ocr"])
    outcome, detail = judge(rc, capsys.readouterr().err, out, item)
    assert outcome == FIXED[name], f"{outcome}: {detail}"
