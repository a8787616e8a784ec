"""What the event log's readers with an outbox share (notifications, webhooks): a cursor
per business, locked while that business's new events are turned into outbox rows; outbox
rows claimed by leases (FOR UPDATE SKIP LOCKED on PostgreSQL); and a worker's rounds on a
thread of their own."""

from .claims import Delivery, Leased, claim_due, release, still_held
from .cursors import LogCursor, businesses_behind, insert_for, read_new_events, start_at_head
from .rounds import DeliveryRound, Round, Rounds

__all__ = [
    "Delivery",
    "DeliveryRound",
    "Leased",
    "LogCursor",
    "Round",
    "Rounds",
    "businesses_behind",
    "claim_due",
    "insert_for",
    "read_new_events",
    "release",
    "start_at_head",
    "still_held",
]
