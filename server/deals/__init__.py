"""Deals and their single-use vouchers."""
