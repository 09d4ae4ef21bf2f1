"""Streamlit-side helpers (may import streamlit; ``core`` never imports ``ui``).
Must not import tools/."""
