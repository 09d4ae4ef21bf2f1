"""PDF handling: open and validate, text layer, render, geometry, sanitize, merge."""
