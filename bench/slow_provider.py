"""Gift-card purchases when the payment provider takes its time, as a real one does: how many
a second one worker sells at one business, and spread over several.

    PYTHONPATH=. .venv/bin/python bench/slow_provider.py [--provider-seconds 0.2] [--seconds 5]

The real app (`create_app`) on a fresh PostgreSQL database, in process (Starlette's
TestClient, the app's own threads), its gateway the simulated one behind a wait of
`--provider-seconds` a charge. Buyers (threads, one customer and payment card each, so no
payment card's daily counter is shared) buy £5 cards back to back. The most one worker can
sell is its purchase lane (`TILLPOINT_PURCHASE_THREADS`) ÷ the provider's seconds; a row
every purchase at one business holds while the provider answers makes it 1 ÷ those seconds.

Needs a PostgreSQL it may create databases on (TILLPOINT_BENCH_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import in_process_settings, scratch_engine  # noqa: E402
from server.app import create_app  # noqa: E402
from server.payments.gateway import Charge, SavedCard  # noqa: E402
from sync.money import Money  # noqa: E402
from tests.server.api import Actor, Shop, buy_card, open_shop, sign_up  # noqa: E402


class SlowProvider:
    """Approves every charge after `seconds`; a payment card is known by its number."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def save_card(self, card_number: str) -> SavedCard:
        return SavedCard(f"tok_{card_number}", card_number[-4:])

    def charge(self, amount: Money, card_number: str, idempotency_key: str) -> Charge:
        time.sleep(self.seconds)
        return Charge(f"ch_{idempotency_key}", amount)

    def refund(self, reference: str, amount: Money, idempotency_key: str) -> str:
        return f"re_{idempotency_key}"


def load(buyers: list[tuple[Actor, Shop, str]], seconds: float) -> tuple[float, list[float], int]:
    """Each buyer buys back to back for `seconds`: purchases a second, latencies, failures."""
    stop = time.monotonic() + seconds
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()

    def buy_until_stopped(buyer: tuple[Actor, Shop, str]) -> None:
        nonlocal failures
        customer, shop, number = buyer
        while time.monotonic() < stop:
            started = time.monotonic()
            answer = buy_card(customer, shop, 500, number)
            with lock:
                if answer.status_code == 201:
                    latencies.append(time.monotonic() - started)
                else:
                    failures += 1

    started = time.monotonic()
    with ThreadPoolExecutor(len(buyers)) as pool:
        list(pool.map(buy_until_stopped, buyers))
    return len(latencies) / (time.monotonic() - started), latencies, failures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--provider-seconds", type=float, default=0.2)
    parser.add_argument("--seconds", type=float, default=5, help="length of each load")
    parser.add_argument("--buyers", type=int, default=16)
    parser.add_argument("--lane", type=int, default=8, help="TILLPOINT_PURCHASE_THREADS")
    args = parser.parse_args()
    with scratch_engine("tillpoint_slow") as engine, tempfile.TemporaryDirectory() as data:
        settings = in_process_settings(Path(data), purchase_threads=args.lane)
        app = create_app(settings, engine=engine)
        logging.getLogger("tillpoint.http").disabled = True
        app.state.gateway = SlowProvider(args.provider_seconds)
        with TestClient(app) as client:
            shops = [open_shop(client, f"Shop {n}") for n in range(4)]
            customers = [sign_up(client, "customer") for _ in range(args.buyers)]
            numbers = [f"4000 0000 {n:04} 0000" for n in range(args.buyers)]
            most = args.lane / args.provider_seconds
            print(
                f"Gift-card purchases, 1 worker in process, PostgreSQL; the provider takes "
                f"{args.provider_seconds:.2f} s a charge; a lane of {args.lane}; "
                f"{args.buyers} buyers; at most {most:.0f}/s"
            )
            for name, at in (("one business", shops[:1]), ("4 businesses", shops)):
                buyers = [(c, at[n % len(at)], numbers[n]) for n, c in enumerate(customers)]
                rate, latencies, failures = load(buyers, args.seconds)
                cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else []
                p50, p99 = (cuts[49], cuts[98]) if cuts else (0.0, 0.0)
                print(
                    f"  {name:<14} {rate:6.1f} purchases/s ({rate / most:.2f} of the most), "
                    f"p50 {p50 * 1000:5.0f} ms, p99 {p99 * 1000:5.0f} ms"
                    + (f", {failures} failed" if failures else ""),
                    flush=True,
                )


if __name__ == "__main__":
    main()
