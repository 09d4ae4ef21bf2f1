"""Registry of recognizers: the engine asks it, no if-chains.

Recognizers register with the :func:`register` decorator in their own
module; :func:`load_default_recognizers` imports the modules listed in
``core/rules/recognizers.yaml`` so adding one is a new file + one line.
"""

from __future__ import annotations

import importlib
from typing import Iterable, Type

from core.detect.base import Recognizer
from core.rules import load_rules

_REGISTRY: dict[str, Type[Recognizer]] = {}


def register(cls: Type[Recognizer]) -> Type[Recognizer]:
    _REGISTRY[cls.name] = cls
    return cls


def load_default_recognizers(names: Iterable[str] | None = None) -> list[Recognizer]:
    """Instantiate the enabled recognizers, sorted by ``order``."""
    cfg = load_rules("recognizers")
    for module in cfg["modules"]:
        importlib.import_module(module)
    wanted = list(names) if names is not None else [n for n in cfg["enabled"]]
    missing = [n for n in wanted if n not in _REGISTRY]
    if missing:
        raise KeyError(f"unknown recognizers: {missing}")
    return sorted((_REGISTRY[n]() for n in wanted), key=lambda r: r.order)


def registered() -> dict[str, Type[Recognizer]]:
    return dict(_REGISTRY)
