"""病历匿名化导出 — de-identification engine (no Streamlit imports here).
Must not import ui/, pages/, tools/ or streamlit."""
