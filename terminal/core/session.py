"""One terminal at work: its store, till and server connection, safe to use from the UI's
worker threads, and what the status line shows.

The store gives each thread its own SQLite connection (a connection shared between threads
would let the background sync's transaction swallow a redemption's statements), and each
thread its own HTTP client, so sync and redemptions run side by side. A worker thread calls
`release()` when it is done, handing its connection on to the next worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hardware import Receipt
from sync.client import (
    DeviceAuth,
    ServerAnswerError,
    ServerRefusedError,
    ServerUnreachableError,
    SyncClient,
    server_url_problem,
)
from sync.engine import Listening, PushSummary, sync_once
from sync.money import Money
from sync.wire import MAX_AMOUNT, StaffRole, public_key_text

from .kinds import Mode
from .presented import Presented
from .receipts import Shop, receipt_for, receipt_from_json, receipt_json, reprint, shop_of
from .revocation import REVOKED, note_refusal
from .staff import Person, SignInRefusedError
from .staff import sign_in as check_pin
from .store import JournalEntry, Pairing, TerminalStore
from .till import Till, Verdict
from .words import clause, refusal, synced

__all__ = ["OwnerError", "PairingFailedError", "Status", "TerminalSession"]

T = TypeVar("T")

# How long a sync asked for while another runs waits for it to end before giving up (the
# running one is bounded by its requests' time-outs; this only keeps a stuck one from
# holding every later one).
SYNC_WAIT = 60.0
# How long closing waits for the listening thread to be out of the database (a stream
# being opened ends at its timeout).
LISTEN_STOP_SECONDS = 10.0


class OwnerError(Exception):
    """Signing in as the owner, or an owner's call, did not work; the message says why, as
    a clause without a closing full stop (the screens say `Not saved: {exc}.`)."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable  # the server did not answer: the till is offline


class PairingFailedError(Exception):
    """Pairing did not work; the message says why and what to try."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable  # the server did not answer: try again later


@dataclass(frozen=True)
class Status:
    paired: bool
    online: bool | None  # None until the server has been tried
    last_sync: datetime | None
    waiting: int  # events in the outbox
    last_error: str | None  # why the last sync failed, in words
    said: str | None = None  # what the last sync did, in words ("Synced: 2 sent, …"); in a
    # thread that synced (until it calls `release()`), what its own sync did
    refused_as: str | None = None  # the problem's kind when the server refused the last sync
    # (`device-revoked`: the owner revoked this till), which does not change with its words
    revoked: bool = False  # the server once said the owner revoked this till: kept in its
    # database, so after a restart too (offline), until it is paired anew


class TerminalSession:
    def __init__(
        self,
        data: Path,
        *,
        server_url: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        timeout: float = 3.0,
    ) -> None:
        self.data = data
        self.clock = clock
        self.timeout = timeout
        self._server_url = server_url
        self._local = threading.local()
        self._store: TerminalStore | None = None
        self._lock = threading.Lock()
        self._syncing = threading.Lock()
        self._sync_runs = 0  # syncs started so far (each `sync_once`)
        self._last_run: tuple[PushSummary | None, str] = (None, "")  # the last one's result
        self._listening: Listening | None = None
        # Set while no thread is inside `listen`: `close` waits for it before it closes the
        # database, which the listening thread reads (its cursor) until it is out.
        self._not_listening = threading.Event()
        self._not_listening.set()
        self._closed = False
        self._online: bool | None = None
        self._last_error: str | None = None
        self._refused_as: str | None = None
        self._said: str | None = None
        self._person: Person | None = None
        self._owner_token: str | None = None  # the owner's, signed in with their account
        self._receipt_kept = False  # once True, stays: receipts are kept for good

    def open(self) -> None:
        """Open the database now rather than on first use; raises SchemaTooNewError when
        a newer Tillpoint wrote it."""
        self.store.paired()

    # -- per-thread parts ---------------------------------------------------------------

    @property
    def store(self) -> TerminalStore:
        """The terminal's database, opened (and brought up to date) on first use."""
        with self._lock:
            if self._store is None:
                self._store = TerminalStore(self.data)
            return self._store

    def _client(self) -> SyncClient:
        client: SyncClient | None = getattr(self._local, "client", None)
        if client is None:
            pairing = self.store.pairing()
            if pairing is None:
                raise PairingFailedError("this terminal is not paired yet")
            auth = DeviceAuth(pairing.device_id, pairing.secret)
            client = SyncClient(pairing.server_url, auth=auth, timeout=self.timeout)
            self._local.client = client
        return client

    @property
    def server_url(self) -> str | None:
        pairing = self.store.pairing()
        return pairing.server_url if pairing else self._server_url

    def shop(self) -> Shop:
        """Who and where this till is, and who is at it, for its receipts."""
        person = self.signed_in
        return shop_of(self.store, None if person is None else person.name)

    # -- who is at the till ---------------------------------------------------------------

    @property
    def signed_in(self) -> Person | None:
        with self._lock:
            return self._person

    def sign_in(self, staff_id: str, pin: str) -> Person:
        """Check the PIN offline against the synced hash (throttled; see core.staff) and
        sign that person in; SignInRefusedError says why not."""
        person = check_pin(self.store, staff_id, pin, self.clock())
        with self._lock:
            self._person, self._owner_token = person, None
        return person

    def sign_in_with_account(self, email: str, password: str) -> Person:
        """The business's owner, signed in with their account (online): the way in before
        anyone has a till PIN. OwnerError says why not."""
        token = self.sign_in_owner(email, password)
        try:
            account_id = self._client().account_id(token)
        except (ServerUnreachableError, ServerRefusedError, ServerAnswerError) as exc:
            raise OwnerError(f"{clause(str(exc))}: try again") from None
        known = self.store.staff_member(account_id)
        name = known.name if known else email.partition("@")[0]
        person = Person(account_id, name, StaffRole.OWNER)
        with self._lock:
            self._person, self._owner_token = person, token
        return person

    @property
    def owner_token(self) -> str | None:
        """The owner's access token while they are signed in with their account (memory
        only; gone at sign-out): what the owner's own calls from this till use."""
        with self._lock:
            return self._owner_token

    def sign_out(self) -> Person | None:
        """No one is at the till now; who was."""
        with self._lock:
            person, self._person, self._owner_token = self._person, None, None
        return person

    def recheck_signed_in(self) -> Person | None:
        """After a pull: the signed-in person as the owner now has them (a new role), or
        signed out when their PIN was cleared or their role is one this till does not know.
        Who is signed in afterwards."""
        person = self.signed_in
        if person is None:
            return None
        member = self.store.staff_member(person.id)
        try:
            now = None if member is None else Person.of(member)
        except SignInRefusedError:
            now = None
        with self._lock:
            # The owner signed in with their account is the owner, PIN or not.
            if self._person == person and self._owner_token is None:
                self._person = now
            return self._person

    def keep_receipt(self, verdict: Verdict, presented: Presented, amount: Money) -> Receipt:
        """The receipt of an approval, as the screen said it, kept for reprints; not
        printed yet (`receipt_printed` says when it is)."""
        receipt = receipt_for(verdict, presented, amount, self.shop(), self.clock())
        if verdict.reference is not None:
            self.store.save_receipt(verdict.reference, receipt_json(receipt))
        return receipt

    def has_kept_receipt(self) -> bool:
        """Whether an approval here has kept a receipt (F8 shows from then on). Receipts are
        never forgotten, so once one is kept the answer is remembered, not asked again each
        time the screen's keys are checked."""
        if not self._receipt_kept:
            self._receipt_kept = self.store.kept_receipt() is not None
        return self._receipt_kept

    def receipt_printed(self, reference: str) -> None:
        """The receipt kept for `reference` has been printed: from now on it prints as a
        copy, after a restart too."""
        self.store.receipt_printed(reference)

    def unprinted(self, reference: str | None = None) -> tuple[str, Receipt] | None:
        """The receipt kept for `reference` (given None, the latest one kept), with its
        reference, when it was never printed (the receipt step was skipped or moved on
        from, or the till closed first): printed now, it is the original. None otherwise:
        print `reprint`'s copy."""
        kept = self.store.kept_receipt(reference)
        if kept is None or kept.printed:
            return None
        return kept.reference, receipt_from_json(kept.document)

    def reprint(self, reference: str | None = None) -> Receipt | None:
        """A copy of the receipt kept for `reference` (a history row's), or of the latest
        one; None when none was kept."""
        kept = self.store.receipt_document(reference)
        return None if kept is None else reprint(receipt_from_json(kept), self.clock())

    # -- pairing ---------------------------------------------------------------------

    def pair(self, server_url: str, code: str, name: str) -> Pairing:
        """Pair with the owner's code, then take the first sync so the till can work
        offline from the start."""
        if self.store.pairing() is not None:
            raise PairingFailedError("this terminal is already paired")
        problem = server_url_problem(server_url)
        if problem is not None:
            raise PairingFailedError(problem)
        key = Ed25519PrivateKey.generate()
        try:
            with SyncClient(server_url, timeout=self.timeout) as client:
                result = client.pair(code.strip().upper(), public_key_text(key.public_key()), name)
                trust = client.trust_list()
        except ServerUnreachableError as exc:
            raise PairingFailedError(
                f"{exc}: check the address and the connection", unreachable=True
            ) from None
        except ServerRefusedError as exc:
            raise PairingFailedError(refusal(exc)) from None
        pairing = Pairing(server_url, result.device_id, result.business_id, result.secret, key)
        self.store.save_pairing(pairing)
        self.store.save_trust_list(trust.to_json())
        self.store.save_till_name(name)
        if result.branch_id is not None:
            self.store.save_till_branch(result.branch_id)
        self._server_url = server_url
        return pairing

    def pair_with_account(self, server_url: str, email: str, password: str, name: str) -> Pairing:
        """The first till of a business, paired by its owner's account (no other till to
        make a code on yet): a code is made for the business the account owns, for its
        branch when it has just one, and the till pairs with it."""
        problem = server_url_problem(server_url)
        if problem is not None:
            raise PairingFailedError(problem)
        try:
            with SyncClient(server_url, timeout=self.timeout) as client:
                token = client.sign_in(email, password)
                owned = [
                    business
                    for business in client.account_businesses(token)
                    if _owns(client, business, token)
                ]
                if not owned:
                    raise PairingFailedError(
                        "this account owns no business: list yours first, then pair"
                    )
                if len(owned) > 1:
                    raise PairingFailedError(several_businesses(owned))
                branches = client.branch_ids(owned[0])
                branch = branches[0] if len(branches) == 1 else None
                code = client.pairing_code(owned[0], token, branch).code
        except ServerUnreachableError as exc:
            raise PairingFailedError(
                f"{exc}: check the address and the connection", unreachable=True
            ) from None
        except ServerRefusedError as exc:
            raise PairingFailedError(refusal(exc)) from None
        except ServerAnswerError as exc:
            raise PairingFailedError(f"{exc}: update this terminal") from None
        return self.pair(server_url, code, name)

    # -- redeeming --------------------------------------------------------------------

    def _till(self, cashier: Person | None = None) -> Till:
        return Till(self.store, self._client(), self.clock, cashier or self.signed_in)

    # `cashier` names who redeems when no one signs in here (the headless till names its
    # own, per request); otherwise it is whoever is signed in, or no one (the till itself).

    def redeem(self, token: str, amount_minor: int, cashier: Person | None = None) -> Verdict:
        verdict = self._till(cashier).redeem(token, amount_minor)
        if amount_minor > MAX_AMOUNT:
            return verdict  # refused here without asking the server: says nothing of it
        return self._watched(verdict)

    def redeem_voucher(self, token: str, cashier: Person | None = None) -> Verdict:
        return self._watched(self._till(cashier).redeem_voucher(token))

    def void(self, entry: JournalEntry) -> Money:
        """Void a recent gift-card redemption (see Till.void); it syncs with the next push."""
        return self._till().void(entry)

    def _watched(self, verdict: Verdict) -> Verdict:
        self._set_online(verdict.mode is Mode.ONLINE)
        return verdict

    # -- the owner, signed in at the terminal ----------------------------------------------

    def sign_in_owner(self, email: str, password: str) -> str:
        """An access token for the owner of this terminal's business (kept in memory only).
        Raises OwnerError with the reason when it cannot be had."""
        pairing = self.store.pairing()
        if pairing is None:
            raise OwnerError("pair the terminal first")
        try:
            token = self._client().sign_in(email, password)
            # Only the owner may list the business's terminals: that tells an owner from staff.
            self._client().devices(pairing.business_id, token)
        except ServerUnreachableError as exc:
            raise OwnerError(f"{exc}: signing in needs the server") from None
        except ServerRefusedError as exc:
            if exc.status == 403:
                raise OwnerError("only the business's owner can manage it here") from None
            raise OwnerError(clause(refusal(exc))) from None
        except ServerAnswerError as exc:
            raise OwnerError(f"{exc}: update this terminal") from None
        return token

    def as_owner(self, call: Callable[[SyncClient, str], T]) -> T:
        """`call(client, business_id)` for this terminal's business, made with the signed-in
        owner's token; OwnerError, saying why, when the server cannot be asked or refuses."""
        pairing = self.store.pairing()
        if pairing is None:
            raise OwnerError("pair the terminal first")
        try:
            return call(self._client(), pairing.business_id)
        except ServerUnreachableError as exc:
            raise OwnerError(
                f"{exc}: this needs the server; try again when online", unreachable=True
            ) from None
        except ServerRefusedError as exc:
            raise OwnerError(clause(refusal(exc))) from None
        except ServerAnswerError as exc:
            raise OwnerError(f"{exc}: update this terminal") from None

    # -- sync --------------------------------------------------------------------------

    def sync(self) -> PushSummary | None:
        """Push and pull once; None when the server could not be reached (nothing lost).
        `status().said`, read in the same thread, tells what happened.

        Asked for while another sync runs (F5 during the timer's, a change announced, a
        void to push), it waits for that one to end, then syncs: what it was asked for is
        in what it did, and the result it says is that sync's. Calls that waited together
        share one sync: the first to get its turn runs it; the others say its result, and
        return a summary of nothing moved (they moved nothing themselves), so that what
        moved is told once."""
        with self._lock:
            seen = self._sync_runs
        if not self._wait_for_sync():
            self._say("The last sync has not finished yet: try again in a moment")
            return None
        try:
            if self._closed:
                return None
            with self._lock:
                shared = self._sync_runs > seen  # one started since this call: it will do
                self._sync_runs += 0 if shared else 1
                summary, words = self._last_run
            if shared:
                self._local.said = words
                return None if summary is None else PushSummary(cursor=summary.cursor)
            summary, words = self._sync_once()
            with self._lock:
                self._last_run = (summary, words)
        finally:
            self._syncing.release()
        self._say(words)
        return summary

    def _sync_once(self) -> tuple[PushSummary | None, str]:
        """One push and pull (the sync lock held): its summary (None when it did not get
        through) and what it did, in words."""
        try:
            summary = sync_once(self._client(), self.store)
        except ServerUnreachableError as exc:
            self._set_online(False, f"{exc}; will retry")
            return None, "Could not reach the server: working offline"
        except ServerRefusedError as exc:
            if note_refusal(self.store, exc):
                self._set_online(True, f"the server refused the sync: {REVOKED}", exc.kind)
                return None, f"The server refused the sync. {REVOKED}"
            self._set_online(True, f"the server refused the sync: {refusal(exc)}", exc.kind)
            return None, f"The server refused the sync: {refusal(exc)}"
        self._set_online(True)
        return summary, synced(summary)

    def _wait_for_sync(self) -> bool:
        """Hold the sync lock, waiting for a running sync to end; False when it has not
        within SYNC_WAIT, or the session closed meanwhile."""
        deadline = time.monotonic() + SYNC_WAIT
        while not self._syncing.acquire(timeout=0.25):
            if self._closed or time.monotonic() > deadline:
                return False
        return True

    def _say(self, words: str) -> None:
        self._local.said = words  # this thread's sync's words, whatever others say meanwhile
        with self._lock:
            self._said = words

    def listen(self, on_change: Callable[[], None]) -> None:
        """Hear the server's stream until `close()`, calling `on_change` (from this thread)
        whenever changes wait to be pulled. Run it in a worker thread of its own; while
        the stream is down, the caller's timer is what syncs."""
        pairing = self.store.pairing()
        if pairing is None:
            raise PairingFailedError("this terminal is not paired yet")
        auth = DeviceAuth(pairing.device_id, pairing.secret)
        client = SyncClient(pairing.server_url, auth=auth, timeout=self.timeout)
        listening = Listening(client, self.store.cursor, on_change)
        with self._lock:
            if self._closed:
                return
            self._listening = listening
            self._not_listening.clear()
        try:
            listening.run()
        finally:
            client.close()
            self.release()
            self._not_listening.set()

    @property
    def listening(self) -> bool:
        """The stream is connected: a change reaches this terminal within a second."""
        with self._lock:
            listening = self._listening
        return listening is not None and listening.connected

    def _set_online(
        self, online: bool, error: str | None = None, refused_as: str | None = None
    ) -> None:
        with self._lock:
            self._online = online
            self._last_error = error
            self._refused_as = refused_as

    def status(self) -> Status:
        store = self.store
        synced = store.synced_at()
        with self._lock:
            online, error, said = self._online, self._last_error, self._said
            refused_as = self._refused_as
        said = getattr(self._local, "said", said)
        return Status(
            paired=store.paired(),
            online=online,
            last_sync=datetime.fromisoformat(synced) if synced else None,
            waiting=store.pending_count(),
            last_error=error,
            said=said,
            refused_as=refused_as,
            revoked=store.revoked_at() is not None,
        )

    def release(self) -> None:
        """This thread is done: close its HTTP client, hand its connection on."""
        self._local.__dict__.pop("said", None)
        client: SyncClient | None = self._local.__dict__.pop("client", None)
        if client is not None:
            client.close()
        if self._store is not None:
            self._store.release()

    def close(self) -> None:
        """Stop listening; close this thread's client and every database connection."""
        with self._lock:
            self._closed = True
            listening, self._listening = self._listening, None
        if listening is not None:
            listening.stop()
        # A stopped stream ends its read at once; the wait is for a thread caught between
        # two reads of the cursor, which a database closed under it could crash.
        self._not_listening.wait(LISTEN_STOP_SECONDS)
        self.release()
        with self._lock:
            store, self._store = self._store, None
        if store is not None:
            store.close()


def _owns(client: SyncClient, business_id: str, token: str) -> bool:
    """Whether the account of `token` owns `business_id`: only its owner may list its
    tills (staff are refused)."""
    try:
        client.devices(business_id, token)
    except ServerRefusedError as exc:
        if exc.status in (403, 404):
            return False
        raise
    return True


def several_businesses(owned: list[str]) -> str:
    """Why an account that owns several businesses does not pair a till itself (the till
    cannot tell which one it joins), and how to pair it: with a code for the right one."""
    return (
        f"this account owns {len(owned)} businesses: make a pairing code for the one this "
        "till serves with the API, `POST /api/v1/businesses/{id}/pairing-codes` signed in "
        f"as the owner (its businesses: {', '.join(owned)}), or on a till of that business "
        "(F3, Owner, Tills, N), then pair with the code"
    )
