"""OCR engines behind one small interface.

``OcrEngine.recognize(img_rgb)`` returns :class:`OcrLine` objects in *pixel*
coordinates of the image it was given.  Every line carries one box per
character (``char_boxes``) so a redaction can cover just an identifier, not
the whole line.  Mapping pixels to page points is ``core.ocr.page``'s job.

The default engine is RapidOCR (PP-OCRv4 Chinese det + rec ONNX models that
ship inside the ``rapidocr_onnxruntime`` wheel: nothing is downloaded).  It is
built lazily, once per process, under a lock; ``get_engine()`` picks the
engine named by ``DEID_OCR_ENGINE`` (default ``rapidocr``).
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import threading
import unicodedata
from dataclasses import dataclass, field
from importlib import metadata
from typing import Callable, Optional

import cv2
import numpy as np

from core.config import settings

PixelBox = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels
Quad = tuple[tuple[float, float], ...]  # 4 points: tl, tr, br, bl (reading direction)


@dataclass
class OcrLine:
    """One recognised text line.

    ``char_boxes[i]`` is the pixel box of ``text[i]`` (same length as
    ``text``; spaces inserted for wide gaps get the gap as box).
    """

    text: str
    box: PixelBox
    score: float
    quad: Optional[Quad] = None
    char_boxes: list[PixelBox] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "box": list(self.box),
            "score": self.score,
            "quad": [list(p) for p in self.quad] if self.quad else None,
            "char_boxes": [list(b) for b in self.char_boxes],
        }

    @classmethod
    def from_dict(cls, d: dict) -> "OcrLine":
        quad = tuple(tuple(p) for p in d["quad"]) if d.get("quad") else None
        return cls(
            d["text"],
            tuple(d["box"]),
            float(d["score"]),
            quad,
            [tuple(b) for b in d.get("char_boxes", [])],
        )


class OcrEngine:
    """Interface.  ``engine_id`` names engine + version + settings that change
    results; it is part of OCR cache keys."""

    engine_id: str = "abstract"

    def recognize(self, img_rgb: np.ndarray, min_score: float = 0.5) -> list[OcrLine]:  # pragma: no cover
        """Lines read on ``img_rgb`` with confidence >= ``min_score`` (0 gives
        every detected line, which the orientation search uses)."""
        raise NotImplementedError

    def read_crops(
        self, crops_rgb: list[np.ndarray], height: Optional[int] = None
    ) -> list[tuple[str, float]]:  # pragma: no cover
        """Recogniser only (no detection): (text, confidence) of each
        one-line RGB crop, read at ``height`` pixels (None: the engine's)."""
        raise NotImplementedError


# --------------------------------------------------------------------------
# Character widths: the proportional model used to size each character box.


NARROW_UNITS = 0.55  # nominal width of an ASCII character, in CJK widths


def char_units(c: str) -> float:
    """Relative advance width: CJK / full-width ≈ 1, ASCII ≈ 0.5."""
    if c.isspace():
        return 0.5
    if unicodedata.east_asian_width(c) in ("W", "F"):
        return 1.0
    return NARROW_UNITS


CHAR_MARGIN = 0.15  # of a CJK character width, added on both sides of each character box
FLIP_RETRY_SCORE = 0.8  # vertical lines read with less confidence are also read turned 180°
PADDED_RATIO = 320 / 48  # RapidOCR's minimum recogniser input width / height
CJK_WIDTH_PER_HEIGHT = 0.7  # a CJK character's width / the height of its detected line crop
GAP_REACH = 0.25  # how far (CJK widths) boxes next to a gap extend into it
GAP_UNITS = 0.5  # an unexplained gap this wide (in CJK widths) between two characters is a space


def split_proportional(x0: float, x1: float, text: str) -> list[tuple[float, float]]:
    """Split the span [x0, x1] among the characters of ``text`` by their
    unit widths (fallback when the recogniser gives no character positions)."""
    units = [char_units(c) for c in text]
    total = sum(units) or 1.0
    out, pos = [], x0
    for u in units:
        w = (x1 - x0) * u / total
        out.append((pos, pos + w))
        pos += w
    return out


def line_widths(centers: list[float], text: str, width: float) -> list[float]:
    """Advance width of each character on this line, in crop pixels.

    Wide (CJK / full-width) and narrow (ASCII) characters are measured
    separately: the median distance between neighbouring centres of the
    same kind (gaps are outliers).  Fonts differ — some CJK fonts draw
    digits as wide as a hanzi — so the nominal 1 : 0.55 ratio is only the
    fallback when one kind has no measurable pair.
    """
    units = [char_units(c) for c in text]
    wide = [u == 1.0 for u in units]
    dist: dict[bool, list[float]] = {True: [], False: []}
    for i in range(len(text) - 1):
        if wide[i] == wide[i + 1] and centers[i + 1] > centers[i]:
            dist[wide[i]].append(centers[i + 1] - centers[i])
    nominal = width / (sum(units) or 1.0)  # width of 1 unit if spread evenly
    w_wide = float(np.median(dist[True])) if dist[True] else None
    w_narrow = float(np.median(dist[False])) if dist[False] else None
    if w_wide is None:
        w_wide = w_narrow / NARROW_UNITS if w_narrow is not None else nominal
    if w_narrow is None:
        w_narrow = w_wide * NARROW_UNITS
    w_wide, w_narrow = min(w_wide, nominal * 1.5), min(w_narrow, nominal * 1.5)
    return [w_wide if w else w_narrow for w in wide]


def layout_chars(
    centers: list[float], text: str, width: float, min_gap_units: float = GAP_UNITS
) -> tuple[str, list[tuple[float, float]]]:
    """Character extents along a line of length ``width`` from the centre of
    each character (CTC column positions).

    Neighbours that touch split the space between their centres in
    proportion to their widths (``line_widths``), so a run of characters is
    covered without holes even where the recogniser mislabels a glyph's
    width.  Where two neighbours are further apart than their widths
    explain by ``min_gap_units`` CJK widths or more, each keeps only its own
    width and a space is inserted between them (OCR drops the spaces that
    separate table cells and ``姓名：张三    性别：女`` style fields).
    """
    n = len(text)
    if n == 0:
        return text, []
    widths = line_widths(centers, text, width)
    half = [w / 2 for w in widths]
    unit = max(widths)
    margin = CHAR_MARGIN * unit
    # boundary between i and i+1: (right edge of i, left edge of i+1, is a gap)
    cuts: list[tuple[float, float, bool]] = []
    for i in range(n - 1):
        d = centers[i + 1] - centers[i]
        extra = d - half[i] - half[i + 1]
        is_gap = extra >= min_gap_units * unit and not text[i].isspace() and not text[i + 1].isspace()
        if is_gap:
            # reach a little into the gap (it is blank): CTC centres of
            # narrow glyphs wobble, and an isolated digit must be covered
            mid = (centers[i] + centers[i + 1]) / 2
            reach = GAP_REACH * unit
            cuts.append(
                (min(mid, centers[i] + half[i] + reach), max(mid, centers[i + 1] - half[i + 1] - reach), True)
            )
        else:
            mid = (
                centers[i] + d * half[i] / (half[i] + half[i + 1])
                if half[i] + half[i + 1] > 0
                else centers[i]
            )
            cuts.append((mid, mid, False))
    out_t: list[str] = []
    out_s: list[tuple[float, float]] = []
    for i in range(n):
        # line ends reach the detected box edge: the last digit of a number
        # must not peek out, and a character the recogniser dropped at the
        # start or end of a line (rare surnames in table cells) is then
        # still under its neighbour's box
        lo = cuts[i - 1][1] if i > 0 else 0.0
        hi = cuts[i][0] if i < n - 1 else width
        # a small margin: CTC centres wobble by a pixel or two, and a box
        # that shaves a neighbour's side bearing is better than one that
        # leaves an identifier's edge visible
        lo, hi = max(0.0, lo - margin), min(width, hi + margin)
        if i > 0 and cuts[i - 1][2]:
            out_t.append(" ")
            out_s.append((out_s[-1][1], lo))
        out_t.append(text[i])
        out_s.append((lo, max(hi, lo + 1e-3)))
    return "".join(out_t), out_s


def quad_point(quad: np.ndarray, fx: float, fy: float) -> tuple[float, float]:
    """Bilinear point inside a quad (tl, tr, br, bl) at fractions (fx, fy)."""
    top = quad[0] + (quad[1] - quad[0]) * fx
    bottom = quad[3] + (quad[2] - quad[3]) * fx
    p = top + (bottom - top) * fy
    return float(p[0]), float(p[1])


def sub_quad_box(quad: np.ndarray, f0: float, f1: float, vertical: bool) -> PixelBox:
    """Axis-aligned box of the part of ``quad`` between fractions f0..f1 of
    its reading direction (left->right, or top->bottom for vertical crops)."""
    if vertical:
        # rapidocr rotates tall crops 90° counter-clockwise: crop x runs down the quad (tl->bl)
        pts = [quad_point(quad, fx, fy) for fy in (f0, f1) for fx in (0.0, 1.0)]
    else:
        pts = [quad_point(quad, fx, fy) for fx in (f0, f1) for fy in (0.0, 1.0)]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return (min(xs), min(ys), max(xs), max(ys))


# --------------------------------------------------------------------------
# RapidOCR

# Line crops read in one recogniser call at most, whose widths differ by at
# most REC_BATCH_SPREAD (padding is wasted work).  On CPU one crop per call is
# the fastest: measured on a dense A4 scan (34 lines, 1 thread) batches of
# 1/2/4/8 cost 3.7/4.2/5.6/6.3 CPU-s; on a GPU (CUDA provider) batches pay.
# a page's worth of line batches before extra recognisers are built and shared out (the trust check's few
# sample runs and a seal's arc text are read in one thread: building two more sessions costs more)
PARALLEL_MIN_BATCHES = 8
REC_BATCH = {"cpu": 1, "cuda": 8}
REC_BATCH_SPREAD = 1.15


def _onnx_providers() -> list[str]:
    try:
        import onnxruntime

        return list(onnxruntime.get_available_providers())
    except Exception:  # pragma: no cover - onnxruntime is a hard dependency
        return []


def cuda_available() -> bool:
    return "CUDAExecutionProvider" in _onnx_providers()


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


@functools.lru_cache(maxsize=1)
def _lazy_rapidocr_class():
    """RapidOCR's own pipeline class (``rapidocr_onnxruntime.RapidOCR``: its
    config file, parameters, pre-processing, cropping and box mapping) with
    each model built the first time it is used.  ``RapidOCR.__init__``
    builds the detector, the angle classifier and the recogniser at once; a
    born-digital record needs only the recogniser (text-layer cross-check)
    and the classifier is never used here."""
    from rapidocr_onnxruntime import RapidOCR
    from rapidocr_onnxruntime.ch_ppocr_cls import TextClassifier
    from rapidocr_onnxruntime.ch_ppocr_det import TextDetector
    from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer
    from rapidocr_onnxruntime.main import DEFAULT_CFG_PATH
    from rapidocr_onnxruntime.utils import UpdateParameters, read_yaml, update_model_path

    def lazy(name: str, section: str, cls):
        def get(self):
            model = self.__dict__.get("_lazy_" + name)
            if model is None:
                with self._build_lock:
                    model = self.__dict__.get("_lazy_" + name)
                    if model is None:
                        with _quiet_sessions():
                            model = cls(self._config[section])
                        self._configure(name, model)
                        self.built.append(name)
                        self.__dict__["_lazy_" + name] = model
            return model

        return property(get)

    class LazyRapidOCR(RapidOCR):
        text_det = lazy("text_det", "Det", TextDetector)
        text_cls = lazy("text_cls", "Cls", TextClassifier)
        text_rec = lazy("text_rec", "Rec", TextRecognizer)

        def __init__(self, params: dict, configure):
            """``configure(name, model)`` runs once per model built."""
            config = UpdateParameters()(update_model_path(read_yaml(str(DEFAULT_CFG_PATH))), **params)
            g = config["Global"]
            self.print_verbose, self.text_score = g["print_verbose"], g["text_score"]
            self.min_height, self.width_height_ratio = g["min_height"], g["width_height_ratio"]
            self.use_det, self.use_cls, self.use_rec = g["use_det"], g["use_cls"], g["use_rec"]
            self.max_side_len, self.min_side_len = g["max_side_len"], g["min_side_len"]
            self._config, self._configure = config, configure
            self._build_lock = threading.RLock()
            self.built: list[str] = []

    return LazyRapidOCR


class RapidOcrEngine(OcrEngine):
    """PP-OCRv4 det + rec through rapidocr_onnxruntime, with per-character
    boxes from the CTC column positions of the recogniser.

    The pipeline steps of ``RapidOCR`` are driven one by one (rather than
    ``RapidOCR.__call__``) so that each character keeps its recognised
    column: its box is then placed along the detected line quad, which
    follows skewed and vertical lines too.
    """

    # Detection runs on the image scaled so its longer side is at most this
    # many pixels (an A4 page at 150 dpi is 1754 px high).  Recognition
    # always reads crops from the full-resolution image.
    DET_MAX_SIDE = 960
    # Detected boxes are grown by this ratio (RapidOCR default 1.6).  Tighter
    # crops put more of the recogniser's input height on the glyphs, so a
    # lower input height reads as well: measured on 7-12 pt synthetic scans
    # with noise, unclip 1.25-1.3 + height 40 read 295/295 identifiers, the
    # same as the default 1.6 + 48, at 0.72x the recognition time.
    UNCLIP_RATIO = 1.3
    REC_HEIGHT = 40  # PP-OCRv4 rec was trained at 48; DEID_OCR_REC_HEIGHT overrides
    # Mean detector score a line box needs (RapidOCR default 0.5).  A printed
    # line that sits on a long underline scores 0.4-0.5 (a prescription's
    # "地址/电话：…" line was never read); a box that is no text still has to
    # be read with MIN_SCORE confidence to count.
    BOX_THRESH = 0.4

    def __init__(self, threads: Optional[int] = None, det_max_side: Optional[int] = None):
        self.threads = threads or settings().ocr_threads
        self.det_max_side = det_max_side or self.DET_MAX_SIDE
        self.rec_height = int(os.environ.get("DEID_OCR_REC_HEIGHT", "") or self.REC_HEIGHT)
        self.use_cuda = cuda_available()
        self._ocr = None
        self._build_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self.engine_id = (
            f"rapidocr_onnxruntime-{_version('rapidocr_onnxruntime')}"
            f"/ppocrv4/det{self.det_max_side}u{self.UNCLIP_RATIO}/rec{self.rec_height}/cls0/tight3/chars5/box40"
        )

    @property
    def ocr(self):
        """RapidOCR's pipeline object; each model is built on first use
        (``_lazy_rapidocr_class``): the text-layer cross-check needs only the
        recogniser, and the angle classifier is never used."""
        if self._ocr is None:
            with self._build_lock:
                if self._ocr is None:
                    threads = max(1, min(self.threads, os.cpu_count() or 1))
                    self._ocr = _lazy_rapidocr_class()(self._settings(threads), self._configure)
        return self._ocr

    def _settings(self, threads: int) -> dict:
        return dict(
            intra_op_num_threads=threads,
            inter_op_num_threads=1,
            det_limit_side_len=self.det_max_side,
            det_limit_type="max",
            det_use_cuda=self.use_cuda,
            rec_use_cuda=self.use_cuda,
            cls_use_cuda=self.use_cuda,
            rec_batch_num=1,  # crops are read one by one (``_read_crop``)
            use_cls=False,  # orientation is handled per page (core.ocr.page)
            print_verbose=False,
        )

    def _configure(self, name: str, model) -> None:
        """Settings RapidOCR 1.4.4 does not take from its config, applied to
        each model when it is built."""
        if name == "text_det":
            self._limit_detection_size(model)
        elif name == "text_rec":
            h = self.rec_height
            model.rec_image_shape = [3, h, int(round(h * 320 / 48))]

    def _limit_detection_size(self, det) -> None:
        """RapidOCR 1.4.4 ignores ``det_limit_side_len`` for ``limit_type
        "max"`` on images over 960 px (it picks 1500/2000 itself); detection
        at full 150-dpi resolution costs 3x more and finds the same lines."""
        from rapidocr_onnxruntime.ch_ppocr_det.utils import DetPreProcess

        side = self.det_max_side

        def preprocess(max_wh):
            pp = DetPreProcess(side, "max", det.mean, det.std)
            # float32 throughout (the float64 mean/std doubled normalisation time)
            pp.mean = np.asarray(pp.mean, dtype=np.float32)
            pp.std = np.asarray(pp.std, dtype=np.float32)
            pp.scale = np.float32(pp.scale)
            return pp

        det.get_preprocess = preprocess
        det.postprocess_op.unclip_ratio = self.UNCLIP_RATIO
        det.postprocess_op.box_thresh = self.BOX_THRESH

    def recognize(self, img_rgb: np.ndarray, min_score: float = 0.5) -> list[OcrLine]:
        if img_rgb is None or img_rgb.size == 0 or min(img_rgb.shape[:2]) < 8:
            return []
        img = np.ascontiguousarray(img_rgb[:, :, :3])
        # PP-OCR models were trained on BGR input (cv2.imread)
        img = img[:, :, ::-1].copy()
        with self._run_lock:
            return self._recognize(img, min_score)

    def _recognize(self, img: np.ndarray, min_score: float) -> list[OcrLine]:
        ocr = self.ocr
        raw_h, raw_w = img.shape[:2]
        op_record: dict = {}
        proc, ratio_h, ratio_w = ocr.preprocess(img)
        op_record["preprocess"] = {"ratio_h": ratio_h, "ratio_w": ratio_w}
        proc, op_record = ocr.maybe_add_letterbox(proc, op_record)
        dt_boxes, _ = ocr.auto_text_det(proc)
        if dt_boxes is None or len(dt_boxes) == 0:
            return []
        crops = ocr.get_crop_img_list(proc, dt_boxes)
        rec_res = self._read_crops(crops)

        gray = np.minimum(np.minimum(img[:, :, 0], img[:, :, 1]), img[:, :, 2])  # min(axis=2) is ~20x slower
        lines: list[OcrLine] = []
        for quad, crop, res in zip(dt_boxes, crops, rec_res):
            vertical = _is_vertical(quad)
            flipped = False
            if vertical and float(res[1]) < FLIP_RETRY_SCORE:
                # RapidOCR turns tall crops counter-clockwise, which suits
                # text running down the page; text running up reads upside
                # down that way: try the crop turned half round too
                crop2 = np.ascontiguousarray(np.rot90(crop, 2))
                res2 = self._read_crop(crop2)
                if float(res2[1]) > float(res[1]):
                    crop, res, flipped = crop2, res2, True
            text, score = res[0], float(res[1])
            if score < min_score or not text.strip():
                continue
            text, char_boxes = self._char_boxes(
                quad, crop, text, res[2] if len(res) > 2 else None, vertical, flipped
            )
            # map everything from the processed image back to the input image
            pts = np.array([quad] + [_box_quad(b) for b in char_boxes], dtype=np.float32)
            pts = ocr._get_origin_points(pts, op_record, raw_h, raw_w)
            q = pts[0]
            boxes = [_quad_box(p) for p in pts[1:]]
            if not vertical:
                boxes = fit_rows_to_ink(gray, q, boxes)
                boxes = align_cuts_to_ink(gray, text, boxes)
            lines.append(
                OcrLine(
                    text=text,
                    box=_quad_box(q),
                    score=score,
                    quad=tuple((float(x), float(y)) for x, y in q),
                    char_boxes=boxes,
                )
            )
        return lines

    def _read_crop(self, crop: np.ndarray):
        """Recognise one line crop: (text, score, CTC word info)."""
        return self._read_crops([crop])[0]

    def _read_crops(self, crops: list[np.ndarray]) -> list:
        """Recognise line crops: (text, score, CTC word info) each, in
        batches of crops of about the same width (``_run_rec_batch``).

        RapidOCR pads every crop to at least 320/48 of its height; table
        cells of one or two characters then cost as much as a line of ten.
        Here the input is the crop's own width plus half a character of
        blank (the right edge reads badly without it): on a table-heavy page
        recognition took 0.57x the time with the same text.  Short crops
        whose reading leaves a character's width unexplained (the first
        character of a cell is sometimes dropped that way) are read again
        padded the RapidOCR way, and the reading that explains the crop
        better is kept."""
        res = self._run_rec_batch(crops, min_ratio=0.0)
        retry = [
            i for i, (crop, r) in enumerate(zip(crops, res)) if self._short_reading_gap(crop, r) is not None
        ]
        if retry:
            padded = self._run_rec_batch([crops[i] for i in retry], min_ratio=PADDED_RATIO)
            for i, res2 in zip(retry, padded):
                gap = self._short_reading_gap(crops[i], res[i], always=True)
                gap2 = self._short_reading_gap(crops[i], res2, always=True)
                if float(res2[1]) >= 0.5 and gap is not None and gap2 is not None and abs(gap2) < abs(gap):
                    res[i] = res2
        return res

    @staticmethod
    def _short_reading_gap(crop: np.ndarray, res, always: bool = False) -> Optional[float]:
        """Characters' worth of a short crop's width its reading leaves
        unexplained (None: not a short crop, or explained well enough)."""
        h, w = crop.shape[:2]
        if w / max(h, 1) >= PADDED_RATIO and not always:
            return None
        expected = w / (CJK_WIDTH_PER_HEIGHT * max(h, 1))
        gap = expected - sum(char_units(c) for c in res[0] if not c.isspace())
        return gap if always or gap > 0.8 else None

    def read_crops(
        self, crops_rgb: list[np.ndarray], height: Optional[int] = None
    ) -> list[tuple[str, float]]:
        """Recogniser only, all crops in one batch (padded to the widest), read
        at ``height`` pixels (default: the engine's recogniser height; the
        model takes any height, cost grows with it)."""
        if not crops_rgb:
            return []
        if any(min(c.shape[:2]) == 0 for c in crops_rgb):  # nothing to read in an empty crop
            keep = [i for i, c in enumerate(crops_rgb) if min(c.shape[:2]) > 0]
            read = iter(self.read_crops([crops_rgb[i] for i in keep], height))
            return [next(read) if min(c.shape[:2]) > 0 else ("", 0.0) for c in crops_rgb]
        H = int(height or self.rec_height)
        sized = []
        for crop in crops_rgb:
            h, w = crop.shape[:2]
            content_w = max(1, int(math.ceil(H * w / float(max(h, 1)))))
            sized.append(
                cv2.resize(np.ascontiguousarray(crop[:, :, 2::-1]), (content_w, H)).astype(np.float32)
            )
        width = int(math.ceil((max(s.shape[1] for s in sized) + 0.5 * H) / 8.0) * 8)
        x = np.zeros((len(sized), 3, H, width), dtype=np.float32)
        for i, img in enumerate(sized):
            x[i, :, :, : img.shape[1]] = (img.transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
        with self._run_lock:
            rec = self.ocr.text_rec
            preds = rec.session(x)[0]
            res = rec.postprocess_op(
                preds, True, wh_ratio_list=[s.shape[1] / H for s in sized], max_wh_ratio=width / H
            )
        return [(r[0], float(r[1])) for r in res]

    def _run_rec(self, crop: np.ndarray, min_ratio: float):
        return self._run_rec_batch([crop], min_ratio)[0]

    def _run_rec_batch(self, crops: list[np.ndarray], min_ratio: float) -> list:
        """The recogniser over line crops, each resized to the recogniser
        height at its own aspect; crops sorted by width and read in batches
        of up to ``REC_BATCH`` (1 on CPU) whose widths differ by at most
        ``REC_BATCH_SPREAD``.  On CPU with several threads the batches are
        shared out among one-thread recognisers, one per thread
        (``_line_readers``)."""
        H = self.rec_height
        widths = [max(1, int(math.ceil(H * c.shape[1] / float(max(c.shape[0], 1))))) for c in crops]
        order = sorted(range(len(crops)), key=widths.__getitem__)
        batch = REC_BATCH["cuda" if self.use_cuda else "cpu"]
        groups: list[list[int]] = []
        k = 0
        while k < len(order):
            group = [order[k]]
            limit = widths[order[k]] * REC_BATCH_SPREAD + 0.25 * H
            while (
                k + len(group) < len(order) and len(group) < batch and widths[order[k + len(group)]] <= limit
            ):
                group.append(order[k + len(group)])
            groups.append(group)
            k += len(group)
        out: list = [None] * len(crops)

        def read(group: list[int], rec) -> None:
            width = int(math.ceil(max(max(widths[i] for i in group) + 0.5 * H, min_ratio * H) / 8.0) * 8)
            x = np.zeros((len(group), 3, H, width), dtype=np.float32)
            for row, i in enumerate(group):
                resized = cv2.resize(crops[i], (widths[i], H)).astype(np.float32)
                x[row, :, :, : widths[i]] = (resized.transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
            preds = rec.session(x)[0]
            results = rec.postprocess_op(
                preds, True, wh_ratio_list=[widths[i] / H for i in group], max_wh_ratio=width / H
            )
            for i, r in zip(group, results):
                out[i] = r

        readers = self._line_readers() if len(groups) >= PARALLEL_MIN_BATCHES else []
        if len(readers) < 2:
            for group in groups:
                read(group, self.ocr.text_rec)
            return out
        todo = list(reversed(groups))  # widest first: the last batches taken are the short ones
        lock = threading.Lock()

        def work(rec) -> None:
            while True:
                with lock:
                    if not todo:
                        return
                    group = todo.pop(0)
                read(group, rec)

        futures = [self._reader_pool().submit(work, rec) for rec in readers[1:]]
        work(readers[0])
        for f in futures:
            f.result()
        return out

    def _line_readers(self) -> list:
        """One-thread recognisers, one per OCR thread, built once (CPU only;
        with one thread or on a GPU: none).  Several line crops read at once
        keep both cores busy; one recogniser with two intra-op threads on a
        single line crop idles one of them much of the time (measured on a
        dense A4 scan: recognition CPU 1.44 -> 1.35 s, two crops at a time)."""
        if self.use_cuda or self.threads < 2:
            return []
        readers = self.__dict__.get("_readers")
        if readers is None:
            ocr = self.ocr  # built first: it takes the same lock
            with self._build_lock:
                readers = self.__dict__.get("_readers")
                if readers is None:
                    from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer

                    config = dict(ocr._config["Rec"], intra_op_num_threads=1)
                    readers = []
                    for _ in range(max(1, min(self.threads, os.cpu_count() or 1))):
                        with _quiet_sessions():
                            rec = TextRecognizer(config)
                        self._configure("text_rec", rec)
                        readers.append(rec)
                    self.__dict__["_readers"] = readers
        return readers

    def _reader_pool(self):
        pool = self.__dict__.get("_pool")
        if pool is None:
            from concurrent.futures import ThreadPoolExecutor

            pool = self.__dict__["_pool"] = ThreadPoolExecutor(
                max(1, len(self._line_readers()) - 1), thread_name_prefix="ocr-rec"
            )
        return pool

    @staticmethod
    def _char_boxes(
        quad, crop, text: str, word_info, vertical: bool, flipped: bool = False
    ) -> tuple[str, list[PixelBox]]:
        """Per-character boxes in the (processed) image from CTC columns;
        ``text`` may come back with spaces inserted at wide gaps.
        ``flipped``: the crop was read turned half round (x runs backwards)."""
        n = len(text)
        crop_w = float(crop.shape[1])
        centers: Optional[list[float]] = None
        if word_info:
            col_num, _words, word_cols, _states, _conf = word_info
            cols = [c for wc in word_cols for c in wc]
            if len(cols) == n and col_num > 0:
                cell = crop_w / float(col_num)
                centers = [(c + 0.5) * cell for c in cols]
        if centers is not None:
            text, spans = layout_chars(centers, text, crop_w)
        else:
            spans = split_proportional(0.0, crop_w, text)
        if flipped:
            spans = [(crop_w - s1, crop_w - s0) for s0, s1 in spans]
        return text, [sub_quad_box(quad, s0 / crop_w, s1 / crop_w, vertical) for s0, s1 in spans]


def align_cuts_to_ink(gray: np.ndarray, text: str, boxes: list[PixelBox]) -> list[PixelBox]:
    """Move the cuts between neighbouring characters of a horizontal line
    onto blank columns.

    CTC column positions drift: on some lines every character comes out
    a third to half a character to one side (measured on synthetic scans),
    which leaves the edge of a name visible.  Each cut between two touching
    characters is shifted by the offset (within ±0.45 of a character) that
    puts the cuts of its neighbourhood (±3 cuts) on the least ink; a run
    of cuts agreeing is robust to the blank columns inside characters like
    刘 or 川.  Line ends only ever grow.
    """
    n = len(boxes)
    if n < 3 or len(text) != n:
        return boxes
    x0 = int(max(0, np.floor(min(b[0] for b in boxes))))
    x1 = int(min(gray.shape[1], np.ceil(max(b[2] for b in boxes))))
    y0 = int(max(0, np.floor(min(b[1] for b in boxes))))
    y1 = int(min(gray.shape[0], np.ceil(max(b[3] for b in boxes))))
    if x1 - x0 < 8 or y1 - y0 < 4:
        return boxes
    band = gray[y0:y1, x0:x1]
    p5, p95 = np.percentile(band, 5), np.percentile(band, 95)
    if p95 - p5 < 40:
        return boxes
    profile = (band < (p5 + p95) / 2).sum(axis=0).astype(np.float64) / (y1 - y0)
    # cuts between touching, non-space neighbours: index i = cut after char i
    cut_idx = [
        i
        for i in range(n - 1)
        if not text[i].isspace() and not text[i + 1].isspace() and boxes[i + 1][0] - boxes[i][2] < 1.0
    ]
    if len(cut_idx) < 2:
        return boxes
    cuts = np.array([(boxes[i][2] + boxes[i + 1][0]) / 2 - x0 for i in cut_idx])
    widths = [b[2] - b[0] for b, c in zip(boxes, text) if char_units(c) == 1.0] or [
        b[2] - b[0] for b in boxes
    ]
    unit = float(np.median(widths)) / (1 + 2 * CHAR_MARGIN)  # boxes carry a margin on both sides
    reach = int(max(1, round(0.45 * unit)))
    shifts = np.arange(-reach, reach + 1)
    # ink under every cut for every shift: (n_cuts, n_shifts)
    pos = np.clip(np.rint(cuts[:, None] + shifts[None, :]).astype(int), 0, len(profile) - 1)
    ink = profile[pos]
    penalty = 0.002 * np.abs(shifts)[None, :]
    best = np.zeros(len(cut_idx))
    zero = reach  # index of shift 0
    for k in range(len(cut_idx)):
        lo, hi = max(0, k - 3), min(len(cut_idx), k + 4)
        cost = ink[lo:hi].sum(axis=0) + penalty[0] * (hi - lo)
        j = int(np.argmin(cost))
        # move only when the neighbourhood clearly prefers it
        if cost[j] < 0.5 * cost[zero] - 1e-9:
            best[k] = shifts[j]
    # a character squeezed under 60 % of its width means the cuts disagree:
    # keep the recogniser's cuts there
    new_cuts = cuts + best
    for k in range(1, len(cut_idx)):
        i_prev, i = cut_idx[k - 1], cut_idx[k]
        if i == i_prev + 1:
            expect = char_units(text[i]) * unit
            if new_cuts[k] - new_cuts[k - 1] < 0.6 * expect:
                best[k - 1] = best[k] = 0.0
    out = [list(b) for b in boxes]
    drift = best
    for k, i in enumerate(cut_idx):
        c = x0 + cuts[k] + best[k]
        margin = CHAR_MARGIN * unit
        out[i][2] = c + margin
        out[i + 1][0] = c - margin
    # line ends follow the nearest cut's shift, but only outwards
    first, last = cut_idx[0], cut_idx[-1]
    if first == 0 or all(text[j].isspace() for j in range(first)):
        out[0][0] = min(boxes[0][0], boxes[0][0] + drift[0])
    if last == n - 2:
        out[-1][2] = max(boxes[-1][2], boxes[-1][2] + drift[-1])
    return [tuple(b) for b in out]  # type: ignore[misc]


RULE_COLUMN_FILL = 0.85  # a column of a line band dark on this share of its rows is a ruling line, not glyphs


def fit_rows_to_ink(gray: np.ndarray, quad: np.ndarray, boxes: list[PixelBox]) -> list[PixelBox]:
    """Give the character boxes of a horizontal line the vertical extent of
    the line's ink.

    Detection runs on a downscaled image and its boxes sit a few pixels low
    (they cut the tops of glyphs and hang below the baseline); a redaction
    box must cover the whole glyph.  Rows of the line band are searched for
    ink: starting from the ink rows inside the box, the extent grows while
    neighbouring rows carry ink (at most 40 % of the line height up, 20 %
    down) and shrinks to the last ink row.  Lines that are skewed or where
    no clear ink is found keep their boxes.
    """
    if not boxes:
        return boxes
    q = np.asarray(quad, dtype=np.float64)
    x0, x1 = int(max(0, q[:, 0].min())), int(min(gray.shape[1], q[:, 0].max()))
    y0, y1 = float(q[:, 1].min()), float(q[:, 1].max())
    h = y1 - y0
    skew = abs((q[1, 1] - q[0, 1])) + abs((q[2, 1] - q[3, 1]))
    if h < 4 or x1 - x0 < 4 or skew > 0.3 * h:
        return boxes
    lo = int(max(0, np.floor(y0 - 0.4 * h)))
    hi = int(min(gray.shape[0], np.ceil(y1 + 0.2 * h)))
    band = gray[lo:hi, x0:x1]
    p5, p95 = np.percentile(band, 5), np.percentile(band, 95)
    if p95 - p5 < 40:
        return boxes
    dark = band < (p5 + p95) / 2
    # a table's vertical rule crossing the band puts ink on every row: its
    # columns say nothing about where the line's glyphs end
    rule = dark.mean(axis=0) >= RULE_COLUMN_FILL
    rule[1:] |= rule[:-1].copy()  # with the anti-aliased columns beside it
    rule[:-1] |= rule[1:].copy()
    dark = dark[:, ~rule]
    if dark.shape[1] == 0:  # rules only: no glyph rows to fit to
        return boxes
    # and a horizontal rule (a cell border just above or below the text)
    # is no row of glyphs either: the box must not grow over it
    rows = (dark.sum(axis=1) >= max(2, 0.004 * (x1 - x0))) & (dark.mean(axis=1) < RULE_COLUMN_FILL)
    top_in, bot_in = int(np.ceil(y0)) - lo, int(np.floor(y1)) - lo
    inside = np.nonzero(rows[max(0, top_in) : max(0, bot_in)])[0]
    if len(inside) == 0:
        return boxes
    top = max(0, top_in) + int(inside[0])
    bottom = max(0, top_in) + int(inside[-1])
    while top > 0 and rows[top - 1]:
        top -= 1
    while bottom < len(rows) - 1 and rows[bottom + 1] and bottom + 1 < bot_in + 0.2 * h:
        bottom += 1
    pad = 0.08 * h
    new_y0, new_y1 = lo + top - pad, lo + bottom + 1 + pad
    if new_y1 - new_y0 < 0.4 * h:  # e.g. a line of dashes: keep the detector's box
        return boxes
    return [(b[0], new_y0, b[2], new_y1) for b in boxes]


@contextlib.contextmanager
def _quiet_sessions():
    """Build ONNX Runtime sessions whose idle worker threads sleep instead
    of spinning: on a 2-core machine shared with the web app and a worker,
    spinning threads burn the CPU the other side needs (measured: 2-3x the
    CPU time for the same recognition under load)."""
    from rapidocr_onnxruntime.utils import infer_engine

    cls = infer_engine.OrtInferSession
    original = cls.__dict__["_init_sess_opts"]

    def init_opts(config):
        opts = original.__func__(config)
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
        opts.enable_cpu_mem_arena = (
            False  # variable-size inputs: an arena only grows (measured -80 MB, same speed)
        )
        return opts

    cls._init_sess_opts = staticmethod(init_opts)
    try:
        yield
    finally:
        cls._init_sess_opts = original


def _is_vertical(quad) -> bool:
    """Same rule as RapidOCR's crop step: crops at least 1.5x taller than
    wide are turned 90° counter-clockwise before recognition."""
    w = int(max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[2] - quad[3])))
    h = int(max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2])))
    return w > 0 and h * 1.0 / w >= 1.5


def _box_quad(b: PixelBox) -> list[list[float]]:
    return [[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]]]


def _quad_box(q) -> PixelBox:
    q = np.asarray(q, dtype=np.float64)
    return (float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()), float(q[:, 1].max()))


# --------------------------------------------------------------------------
# Registry of engines (``DEID_OCR_ENGINE``)

ENGINES: dict[str, Callable[[], OcrEngine]] = {"rapidocr": RapidOcrEngine}
_instances: dict[str, OcrEngine] = {}
_instances_lock = threading.Lock()


def engine_name() -> str:
    return os.environ.get("DEID_OCR_ENGINE", "rapidocr").strip().lower() or "rapidocr"


def get_engine(name: Optional[str] = None) -> OcrEngine:
    """The process-wide engine named ``name`` (default: ``DEID_OCR_ENGINE``)."""
    name = (name or engine_name()).lower()
    if name not in ENGINES:
        raise ValueError(f"unknown OCR engine {name!r}; known: {', '.join(sorted(ENGINES))}")
    with _instances_lock:
        eng = _instances.get(name)
        if eng is None:
            eng = _instances[name] = ENGINES[name]()
        return eng
