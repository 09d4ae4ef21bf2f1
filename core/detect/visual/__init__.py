"""Visual recognizers: signatures, red seals, logos, barcodes/QR codes,
ID-card copies and faces (one recognizer per module, thresholds in
``core/rules/visual.yaml``).
Must not import core.store, core.cases, core.export, ui/ or streamlit."""
