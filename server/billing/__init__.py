"""Vendors' subscriptions: plans, proration, grace periods, dunning, hibernation, currencies."""
