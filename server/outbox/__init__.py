"""What the event log's readers with an outbox share (notifications, webhooks): a cursor
per business, locked while that business's new events are turned into outbox rows; outbox
rows claimed by leases (FOR UPDATE SKIP LOCKED on PostgreSQL), each try its row's alone
(`try_once`); a worker's rounds on a thread of their own; and the workers' metrics."""

from .claims import (
    Backlog,
    Delivery,
    Leased,
    backlog,
    claim_due,
    lease_for,
    release,
    still_held,
)
from .cursors import LogCursor, businesses_behind, insert_for, read_new_events, start_at_head
from .metrics import RoundMetrics
from .rounds import DeliveryRound, Round, Rounds
from .tries import SendRefused, try_once

__all__ = [
    "Backlog",
    "Delivery",
    "DeliveryRound",
    "Leased",
    "LogCursor",
    "Round",
    "RoundMetrics",
    "Rounds",
    "SendRefused",
    "backlog",
    "businesses_behind",
    "claim_due",
    "insert_for",
    "lease_for",
    "read_new_events",
    "release",
    "start_at_head",
    "still_held",
    "try_once",
]
