"""Offline OCR (RapidOCR, models inside the wheel): page and crop reading, per-character boxes, cache.
Must not import core.store, core.cases, core.export, ui/ or streamlit."""
