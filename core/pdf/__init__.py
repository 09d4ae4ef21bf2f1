"""PDF handling: open and validate, text layer, render, geometry, sanitize, merge.
Must not import core.store, core.cases, core.export, ui/ or streamlit."""
