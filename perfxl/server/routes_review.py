"""Reviewer pages (filled in below)."""
routes: list = []
