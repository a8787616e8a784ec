"""Contests between customers and clubs: docs/community.md, "Contests"."""
