"""Vendor reports: what moved through a business's ledger in a range of days."""
