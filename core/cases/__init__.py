"""A case's life cycle: import and detection jobs (huey tasks, the app-side writer, the
stateless worker), box review, submission and approval.
Must not import ui/ or streamlit."""
