"""Fraud rules as data: velocity rules evaluated on purchases, redemptions, transfers and
sign-ins; every decision recorded; reviews for people to resolve; the devices people sign
in from."""
