"""The vendor's back-office lists that belong to no one area's routes (DESIGN.md §15)."""
