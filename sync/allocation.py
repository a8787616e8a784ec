"""Pausing Python's cyclic garbage collector around a burst of allocations.

A snapshot page is 5,000 cards: rows, then models, then JSON, on both sides of the wire.
Every 700 new containers the collector runs, and as the page's models survive those runs
it promotes them until it walks the whole heap, again and again, for objects that
reference counting frees anyway (a page holds no reference cycles). Measured on the
server, that was about half of a snapshot page's CPU. Inside `cyclic_gc_paused` the
collector waits; reference counting still frees everything at once, and whatever cycles
other threads make meanwhile are collected after.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["cyclic_gc_paused"]

_lock = threading.Lock()
_holders = 0  # threads inside the pause; the collector resumes when the last one leaves
_resume = False  # whether it was running when the first one came in


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Hold the cyclic collector off for the block (safe to nest and to use from several
    threads at once: it resumes, if it was running, when the last block ends)."""
    global _holders, _resume
    with _lock:
        if _holders == 0:
            _resume = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _resume:
                gc.enable()
