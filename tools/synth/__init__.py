"""Synthetic (fake) patient records for tests, evaluation and the demo archive.

Nothing here is real: people, numbers, addresses and hospitals are generated
from a seed.  ``corpus.make_record`` / ``corpus.make_corpus`` build PDFs with
ground truth (``truth.RecordTruth``); ``demo_archive`` builds the bundled
folder archive; ``evaluate`` scores a detector against the truth.
"""
