"""Community: clubs of customers around a business or a neighbourhood (docs/community.md)."""
