"""The business directory: businesses, branches, products, and search."""
