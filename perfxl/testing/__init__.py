"""Helpers for perfxl's own tests (not used at run time)."""
