"""The cashier and vendor terminal (Textual) over `terminal.core`."""
