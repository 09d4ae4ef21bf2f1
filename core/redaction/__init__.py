"""The one redaction path's pieces: the plan and applying it to a page.
Must not import core.store, core.cases, ui/ or streamlit."""
