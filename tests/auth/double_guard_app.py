"""Test script: app.py-style guard followed by a page guard in the same run."""

import streamlit as st
from ui.auth import require_user

require_user(page="帮助")
u = require_user(page="审计日志")
st.title("double ok")
