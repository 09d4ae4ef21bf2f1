"""The leak gate's matcher (``core.verify.match``), under the name the
export has always used."""

from core.verify.match import Hit, Identifier, Matcher, gate_norm, within_one_edit

__all__ = ["Hit", "Identifier", "Matcher", "gate_norm", "within_one_edit"]
