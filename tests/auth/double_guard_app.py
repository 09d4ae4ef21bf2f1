"""Test script: app.py-style guard followed by a page guard in the same run."""
import streamlit as st
from ui.auth import require_user
require_user()
u = require_user(("auditor", "supervisor"))
st.title("double ok")
