"""make eval: detection figures on corpora nobody here designed (eval-dev, real layouts, public codes,
hostile PDFs) beside the own generator.  Development only; no product module imports it."""
