"""The terminal without its UI: offline cache, validator, outbox, offline policy."""
