"""make bench: speed and memory figures, as ratios to floors measured in the same run.
Development only; no product module imports it."""
