"""Gifting (DESIGN.md §14): a card bought for someone else, emailed to them at a chosen
time by the notifications worker, and claimed into their account by its code."""
