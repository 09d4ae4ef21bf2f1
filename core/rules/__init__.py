"""Rules that are data: YAML files next to this module.

``load_rules("labels")`` reads ``core/rules/labels.yaml``.  A directory named
by ``DEID_RULES_DIR`` may hold overrides with the same file names (a hospital
adds its local hospital list there without touching the code).
Must not import core.store, core.cases, core.export, core.detect, ui/ or streamlit."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import yaml

RULES_DIR = Path(__file__).parent
# libyaml's parser when PyYAML was built with it (same documents, ~15x faster
# at start-up); the pure-Python one otherwise
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def rules_path(name: str) -> Path:
    override = os.environ.get("DEID_RULES_DIR")
    if override and (Path(override) / f"{name}.yaml").is_file():
        return Path(override) / f"{name}.yaml"
    return RULES_DIR / f"{name}.yaml"


@lru_cache(maxsize=None)
def load_rules(name: str):
    with open(rules_path(name), encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_LOADER)  # noqa: S506 - a safe loader
