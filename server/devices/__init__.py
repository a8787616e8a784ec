"""Terminals: pairing, device credentials, the sync push, and incidents from reconciliation."""
