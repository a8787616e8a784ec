"""Tillpoint's server: the business directory, wallet and sync API (FastAPI)."""
