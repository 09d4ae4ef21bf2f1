"""病历匿名化导出 — de-identification engine (no Streamlit imports here)."""
