"""Issuer keys: kept on disk outside the database, published as the trust list."""
