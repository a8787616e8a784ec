"""Webhooks for vendors (DESIGN.md §14)."""
