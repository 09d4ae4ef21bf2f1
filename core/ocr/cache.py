"""OCR result cache, keyed by what was recognised.

The key is a SHA-256 over the rendered pixels (shape + bytes), the DPI,
the clip and the engine id, so the same page rendered the same way hits
the cache wherever it comes from (re-runs, the same scan in two
documents), and any change of engine, models or settings misses it.

Entries hold recognised page text, which is sensitive: each file is
sealed with ``core.crypto.seal`` (SM4-GCM, key outside the data folder);
JSON inside.  A file that fails to unseal (other key, damaged) is treated
as a miss and rewritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from core.config import settings
from core.crypto import KeyError_, seal, unseal
from core.ocr.engine import OcrLine

FORMAT = 1


def cache_enabled() -> bool:
    return os.environ.get("DEID_OCR_CACHE", "1").strip().lower() not in ("0", "false", "no", "off")


def cache_key(img: np.ndarray, engine_id: str, dpi: int, clip: Optional[Sequence[float]] = None) -> str:
    h = hashlib.sha256()
    clip_s = ",".join(f"{v:.2f}" for v in clip) if clip is not None else "page"
    h.update(f"ocr{FORMAT}|{engine_id}|{dpi}|{clip_s}|{img.shape}|{img.dtype}|".encode())
    h.update(np.ascontiguousarray(img).data)
    return h.hexdigest()


def _path(key: str, root: Optional[Path] = None) -> Path:
    root = Path(root or settings().ocr_cache_dir)
    return root / key[:2] / f"{key}.ocr"


def load(key: str, root: Optional[Path] = None) -> Optional[list[OcrLine]]:
    p = _path(key, root)
    try:
        blob = p.read_bytes()
    except OSError:
        return None
    try:
        data = json.loads(unseal(blob, aad=key.encode(), v1_aad=key.encode()).decode("utf-8"))
        if data.get("format") != FORMAT:
            return None
        return [OcrLine.from_dict(d) for d in data["lines"]]
    except (ValueError, KeyError, TypeError, KeyError_):  # unreadable (other key, damaged): a miss
        return None


def store(key: str, lines: list[OcrLine], root: Optional[Path] = None) -> None:
    p = _path(key, root)
    p.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps(
        {"format": FORMAT, "lines": [ln.to_dict() for ln in lines]}, ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")
    blob = seal(payload, aad=key.encode())
    # atomic write: concurrent workers never read half a file
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
