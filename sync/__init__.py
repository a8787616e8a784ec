"""The contract both sides share: tokens, money, wire schemas, the sync client and CLI."""
