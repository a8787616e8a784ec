"""One till, many processes: a POS script that shells out to `tillpoint redeem` several times
at once, or two apps on one database. Whatever shares the file, the till never approves more
than the card's balance as last synced minus its own unsynced redemptions, nor a voucher
twice, nor more than its limits (audit ops #2)."""

from __future__ import annotations

import json
import multiprocessing
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sync.client import DeviceAuth, SyncClient
from sync.money import Money
from sync.tokens import IssuerKey, id_text, new_id
from sync.wire import EventResult, EventStatus, MoneyPublic
from terminal.core.kinds import CardStatus
from terminal.core.store import Pairing, TerminalStore
from terminal.core.till import Till, VoidRefusedError
from tests.terminal.test_till_offline import (
    BUSINESS,
    card_token,
    page,
    unused_url,
    voucher_token,
)

TILLPOINT = Path(sys.executable).with_name("tillpoint")


def paired_till_file(path: Path, key: IssuerKey, url: str = "", **limits: int) -> None:
    """A till paired to a server that is not there (or `url`), synced with `limits`."""
    store = TerminalStore(path)
    store.save_pairing(
        Pairing(
            url or unused_url(), "dev", id_text(BUSINESS), "secret", Ed25519PrivateKey.generate()
        )
    )
    store.apply_changes(page(key, **limits))
    store.close()


def cache(path: Path, balance_minor: int) -> bytes:
    card = new_id()
    store = TerminalStore(path)
    store.cache_card(id_text(card), "GBP", balance_minor, CardStatus.ACTIVE)
    store.close()
    return card


@contextmanager
def server_that_hangs_up_on(count: int) -> Iterator[str]:
    """A server's address that takes `count` connections, then closes them all at once:
    the tills asking it go offline together, and decide at the same moment."""
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(count)
        listening.settimeout(120)

        def gather() -> None:
            taken = [listening.accept()[0] for _ in range(count)]
            listening.close()  # a second try is refused at once
            for connection in taken:
                connection.close()

        gathering = threading.Thread(target=gather, daemon=True)
        gathering.start()
        yield f"http://127.0.0.1:{listening.getsockname()[1]}"
        gathering.join(timeout=120)


def balance(store: TerminalStore, card: bytes) -> int:
    """What `card` shows at this till."""
    cached = store.card(id_text(card))
    assert cached is not None
    return cached.balance_minor


def redeem_cli(data: Path, token: str, amount: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            str(TILLPOINT),
            "redeem",
            "-",
            "--amount",
            amount,
            "--data",
            str(data),
            "--json",
            "--timeout",
            "60",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_all(processes: list[subprocess.Popen[str]], token: str) -> list[dict[str, Any]]:
    for process in processes:  # all of them have the code before any is waited for
        assert process.stdin is not None
        process.stdin.write(token)
        process.stdin.close()
    answers = []
    for process in processes:
        assert process.stdout is not None
        assert process.stderr is not None
        with process.stdout, process.stderr:
            out, err = process.stdout.read(), process.stderr.read()
        process.wait(timeout=120)
        assert err == "", err
        answers.append(json.loads(out))
    return answers


def test_the_real_cli_run_at_once_never_spends_a_card_twice(tmp_path, key):
    """The audit's case: four £30 redemptions at once on a £44.89 card (and a few more)."""
    data = tmp_path / "till.db"
    with server_that_hangs_up_on(6) as url:
        paired_till_file(data, key, url)
        card = cache(data, 4489)
        token = card_token(key, card)
        answers = run_all([redeem_cli(data, token, "30.00") for _ in range(6)], token)
    approved = [a for a in answers if a["approved"]]
    assert len(approved) == 1, answers
    assert approved[0]["balance_after"]["minor"] == 1489
    store = TerminalStore(data)
    assert balance(store, card) == 1489
    # The server took each request before it hung up, so it may have applied them: each
    # one declined offline is withdrawn (`attempt_withdrawn`), the approval is a redemption.
    queued = sorted(event.type for event in store.pending())
    assert queued == ["attempt_withdrawn"] * 5 + ["gift_card_redemption"]
    store.close()


def test_the_real_cli_run_at_once_gives_each_approval_its_own_balance(tmp_path, key):
    data = tmp_path / "till.db"
    with server_that_hangs_up_on(8) as url:
        paired_till_file(data, key, url)
        card = cache(data, 1000)
        token = card_token(key, card)
        answers = run_all([redeem_cli(data, token, "1.50") for _ in range(8)], token)
    after = sorted(a["balance_after"]["minor"] for a in answers if a["approved"])
    assert after == [1000 - 150 * n for n in range(len(after), 0, -1)]
    assert len(after) == 6  # £10.00 takes six of £1.50
    store = TerminalStore(data)
    assert balance(store, card) == 100
    store.close()


# -- processes of the core, started together ----------------------------------------------


def _redeem_many(data: str, tokens: list[str], amount: int, start: object, results: object) -> None:
    """In a process of its own: wait for the others, then redeem each token once."""
    store = TerminalStore(Path(data))
    with SyncClient(unused_url(), auth=DeviceAuth("dev", "secret"), timeout=0.5) as client:
        till = Till(store, client)
        start.wait()  # type: ignore[attr-defined]
        for token in tokens:
            verdict = till.redeem(token, amount) if amount else till.redeem_voucher(token)
            after = None if verdict.balance_after is None else verdict.balance_after.minor
            results.put((verdict.approved, verdict.subject_id, after))  # type: ignore[attr-defined]
    store.close()


def run_processes(
    data: Path, tokens: list[list[str]], amount: int
) -> list[tuple[bool, str | None, int | None]]:
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(len(tokens))
    results = context.Queue()
    processes = [
        context.Process(target=_redeem_many, args=(str(data), mine, amount, start, results))
        for mine in tokens
    ]
    for process in processes:
        process.start()
    found = [results.get(timeout=120) for _ in range(sum(len(mine) for mine in tokens))]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    return found


def test_processes_at_once_never_approve_more_than_the_card_holds(tmp_path, key):
    data = tmp_path / "till.db"
    paired_till_file(data, key, max_per_card_minor=12000)
    card = cache(data, 2000)
    token = card_token(key, card)
    found = run_processes(data, [[token] * 10 for _ in range(4)], amount=70)
    after = sorted(a or 0 for approved, _, a in found if approved)
    assert after == [2000 - 70 * n for n in range(28, 0, -1)]  # 28 × 70p fit in £20.00
    store = TerminalStore(data)
    assert balance(store, card) == 40
    store.close()


def test_processes_at_once_accept_a_voucher_once(tmp_path, key):
    data = tmp_path / "till.db"
    paired_till_file(data, key)
    tokens = [voucher_token(key, new_id()) for _ in range(5)]
    found = run_processes(data, [tokens for _ in range(4)], amount=0)
    accepted = [subject for approved, subject, _ in found if approved]
    assert len(accepted) == len(set(accepted)) == 5


def test_processes_at_once_keep_to_the_per_card_limit(tmp_path, key):
    data = tmp_path / "till.db"
    paired_till_file(data, key, max_per_card_minor=1000)
    card = cache(data, 20000)
    token = card_token(key, card)
    found = run_processes(data, [[token] * 6 for _ in range(4)], amount=300)
    assert sum(approved for approved, _, _ in found) == 3  # 3 × £3 within £10


def test_processes_at_once_keep_to_the_unsynced_limit(tmp_path, key):
    data = tmp_path / "till.db"
    paired_till_file(data, key, max_unsynced_minor=2000, max_per_card_minor=2000)
    tokens = [[card_token(key, cache(data, 5000)) for _ in range(5)] for _ in range(4)]
    found = run_processes(data, tokens, amount=300)
    assert sum(approved for approved, _, _ in found) == 6  # 6 × £3 within £20
    store = TerminalStore(data)
    assert store.pending_minor() == 1800
    store.close()


# -- the interleaving made certain: two connections, one paused in the middle -------------


def test_a_second_till_on_the_file_waits_for_the_first_ones_decision(tmp_path, key):
    """Till A has read the card and is about to write when till B (another connection, as
    another process would be) redeems: B must see A's redemption, not the old balance."""
    data = tmp_path / "till.db"
    paired_till_file(data, key)
    card = cache(data, 4489)
    token = card_token(key, card)
    first, second = TerminalStore(data), TerminalStore(data)
    b_done = threading.Event()
    writing = first.record_offline_redemption

    def slow_write(*args: object, **kwargs: object):  # A pauses between check and write
        b_done.wait(timeout=1.0)  # B finishes first, unless it has to wait for A
        return writing(*args, **kwargs)  # type: ignore[arg-type]

    first.record_offline_redemption = slow_write  # type: ignore[method-assign]
    with (
        SyncClient(unused_url(), auth=DeviceAuth("dev", "secret"), timeout=0.5) as one,
        SyncClient(unused_url(), auth=DeviceAuth("dev", "secret"), timeout=0.5) as two,
        ThreadPoolExecutor(2) as pool,
    ):
        a = pool.submit(Till(first, one).redeem, token, 3000)

        def b_redeems():
            try:
                return Till(second, two).redeem(token, 3000)
            finally:
                b_done.set()

        b = pool.submit(b_redeems)
        verdicts = [a.result(timeout=60), b.result(timeout=60)]
    assert [v.approved for v in verdicts].count(True) == 1, [v.reason for v in verdicts]
    assert balance(second, card) == 1489
    first.close()
    second.close()


# -- what a sync already pushed counts until the pull says the new balance -------------------


def test_a_push_answered_without_a_pull_keeps_the_card_spent(tmp_path, key):
    """The server applied the push, then stopped answering before the pull: the till must
    not offer the pushed amount again."""
    data = tmp_path / "till.db"
    paired_till_file(data, key)
    card = cache(data, 4489)
    token = card_token(key, card)
    store = TerminalStore(data)
    with SyncClient(unused_url(), auth=DeviceAuth("dev", "secret"), timeout=0.5) as client:
        till = Till(store, client)
        assert till.redeem(token, 3000).approved
        [redemption] = store.pending()
        store.acknowledge([EventResult(redemption.id, EventStatus.APPLIED, "")])
        assert balance(store, card) == 1489
        assert not till.redeem(token, 3000).approved
        entry = store.journal_entry(redemption.payload["attempt_key"])
        assert entry is not None
        store.record_void(entry)
        [void] = store.pending()
        store.acknowledge([EventResult(void.id, EventStatus.APPLIED, "")])
        assert balance(store, card) == 4489
    store.close()


def test_a_rejected_push_gives_the_amount_back(tmp_path, key):
    data = tmp_path / "till.db"
    paired_till_file(data, key)
    card = cache(data, 4489)
    store = TerminalStore(data)
    with SyncClient(unused_url(), auth=DeviceAuth("dev", "secret"), timeout=0.5) as client:
        assert Till(store, client).redeem(card_token(key, card), 3000).approved
    [redemption] = store.pending()
    store.acknowledge([EventResult(redemption.id, EventStatus.REJECTED, "bad signature")])
    assert balance(store, card) == 4489
    store.close()


def test_a_void_already_made_by_another_process_is_not_made_again(tmp_path, key):
    data = tmp_path / "till.db"
    paired_till_file(data, key)
    card = cache(data, 4489)
    first, second = TerminalStore(data), TerminalStore(data)
    with SyncClient(unused_url(), auth=DeviceAuth("dev", "secret"), timeout=0.5) as client:
        verdict = Till(first, client).redeem(card_token(key, card), 3000)
        assert verdict.reference is not None
        seen_by_first = first.journal_entry(verdict.reference)
        assert seen_by_first is not None
        Till(second, client).void(second.journal_entry(verdict.reference))  # type: ignore[arg-type]
        with pytest.raises(VoidRefusedError, match="already voided"):
            Till(first, client).void(seen_by_first)
    assert balance(first, card) == 4489
    first.close()
    second.close()


# -- online: answers that cross on the way ---------------------------------------------------


def test_online_answers_that_cross_leave_the_lower_balance_cached(tmp_path, key):
    """A's request is applied first on the server (£10 → £7), B's second (→ £4), but B's
    answer arrives first: A's late answer must not put £7 back in the cache."""
    data = tmp_path / "till.db"
    paired_till_file(data, key)
    card = cache(data, 1000)
    token = card_token(key, card)
    held = [1000]
    first, second = TerminalStore(data), TerminalStore(data)

    def server(request: httpx.Request) -> httpx.Response:
        held[0] -= 300
        return httpx.Response(200, json=answer(held[0]))

    def answer(balance: int) -> dict[str, object]:
        return {
            "id": new_id().hex(),
            "card_id": id_text(card),
            "amount": MoneyPublic.of(Money.of(300, "GBP")).model_dump(mode="json"),
            "balance_after": MoneyPublic.of(Money.of(balance, "GBP")).model_dump(mode="json"),
        }

    def server_answering_late(request: httpx.Request) -> httpx.Response:
        held[0] -= 300
        mine = answer(held[0])
        assert Till(second, client(server)).redeem(token, 300).approved  # B, meanwhile
        return httpx.Response(200, json=mine)

    def client(handler: object) -> SyncClient:
        http = httpx.Client(transport=httpx.MockTransport(handler))  # type: ignore[arg-type]
        return SyncClient(unused_url(), auth=DeviceAuth("dev", "secret"), http=http)

    verdict = Till(first, client(server_answering_late)).redeem(token, 300)
    assert (verdict.approved, verdict.mode) == (True, "online")
    assert balance(first, card) == 400
    first.close()
    second.close()
