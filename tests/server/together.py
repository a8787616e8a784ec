"""Several workers' rounds at once, for the tests that show workers never send one row twice."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from server.outbox import Round, Rounds


def rounds_together(workers: Sequence[Rounds], rounds: int) -> list[Round]:
    """Each worker runs `rounds` rounds on a thread of its own, all starting together;
    every round's outcome."""
    start = threading.Barrier(len(workers))
    done: list[Round] = []

    def work(worker: Rounds) -> None:
        start.wait()
        for _ in range(rounds):
            outcome = worker.run_once()
            assert isinstance(outcome, Round)
            done.append(outcome)

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return done
