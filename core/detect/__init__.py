"""Recognizers: each returns ``Finding``s for a page; registered in ``registry.py``, rules in core/rules/.
Must not import core.store, core.cases, core.export, ui/ or streamlit."""
