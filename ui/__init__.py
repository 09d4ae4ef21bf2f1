"""Streamlit-side helpers (may import streamlit; ``core`` never imports ``ui``)."""
