"""The wallet: a double-entry ledger, gift cards, holds, and idempotent requests."""
