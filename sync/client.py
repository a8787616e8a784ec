"""The HTTP client terminals and the CLI use to talk to the server. The one module of
`sync/` that imports httpx: tests hand it another transport, or Starlette's TestClient."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from .tokens import KeyFileError, TrustList
from .wire import (
    CHANGES_WAITING,
    READING_ANSWERS,
    BusinessReport,
    ChangesPage,
    ChangesWaiting,
    DeviceCredentials,
    DevicePublic,
    EventResult,
    IncidentPublic,
    IncidentResolve,
    InvoicePayment,
    InvoicePublic,
    OfflineLimitsBody,
    PairingCodeCreate,
    PairingCodePublic,
    PairRequest,
    ProblemAnswer,
    PushResponse,
    RedemptionPublic,
    SnapshotPage,
    StaffPinSet,
    SubscriptionPublic,
    TerminalEvent,
    TerminalRedemption,
    TerminalVoucherRedemption,
    TillStaffPublic,
    VoucherPublic,
)

__all__ = [
    "AnswerLostError",
    "ChangeStream",
    "DeviceAuth",
    "ServerAnswerError",
    "ServerRefusedError",
    "ServerTime",
    "ServerUnreachableError",
    "SyncClient",
    "SyncClientError",
    "server_url_problem",
]

M = TypeVar("M", bound=BaseModel)

API_PREFIX = "/api/v1"
DEFAULT_TIMEOUT = 3.0  # the till falls back to offline after this
# A push of a full batch (500 events) is applied in one transaction: a busy server takes
# seconds, and a push given up on is sent again whole. Nobody waits on it at the counter.
PUSH_TIMEOUT = 60.0
# The server pings its streams every 15 s: this long without a byte, the connection is dead.
STREAM_SILENCE = 45.0


def server_url_problem(url: str) -> str | None:
    """Why `url` cannot be a server's address, in words; None when it can. Without a
    scheme, httpx would take `127.0.0.1` for one and the server would seem not to answer."""
    text = url.strip()
    if not text:
        return "the server's URL is empty: give it as http://HOST:PORT or https://HOST"
    scheme, separator, rest = text.partition("://")
    if not separator:
        return f"the server's URL {text!r} has no scheme: add http:// or https://"
    if scheme.lower() not in ("http", "https"):
        return f"the server's URL {text!r} starts with {scheme}://: use http:// or https://"
    if not rest.split("/", 1)[0]:
        return f"the server's URL {text!r} names no host"
    return None


class SyncClientError(Exception):
    """Talking to the server failed; the message says what to do."""


class ServerUnreachableError(SyncClientError):
    """No answer (network down, server down, or too slow): work offline and retry later.

    `may_have_arrived` is False only when the request surely never reached the server (no
    connection was made: refused, no route, a failed TLS handshake, a connect timeout); a
    request sent and left unanswered (a read timeout, a dropped connection, a gateway's
    error) may have been done there."""

    def __init__(self, message: str, *, may_have_arrived: bool = True) -> None:
        super().__init__(message)
        self.may_have_arrived = may_have_arrived


# Transport errors raised before a byte of the request left: the server cannot have it.
_NEVER_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
)


def _unreachable(base_url: str, exc: httpx.RequestError) -> str:
    """Why no answer came, in words (not the exception's class name)."""
    if isinstance(exc, httpx.ConnectError) and _tls_failed(exc):
        plain = (
            f"; if it serves plain HTTP, give the address as http://{base_url[8:]}"
            if base_url.lower().startswith("https://")
            else ""
        )
        return (
            f"the server at {base_url} could not be reached: something answered there, but "
            f"the secure connection (TLS) failed{plain}"
        )
    if isinstance(exc, httpx.DecodingError):
        why = "its answer came but could not be read"
    elif isinstance(exc, httpx.TimeoutException):
        why = "it took too long to answer"
    elif isinstance(exc, httpx.ConnectError):
        why = "nothing answered there: the server is down or the network is"
    else:
        why = "the connection broke"
    return f"the server at {base_url} did not answer ({why})"


def _tls_failed(exc: BaseException) -> bool:
    """Whether a failed connection failed in its TLS handshake (something did answer)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError) or "SSL" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class AnswerLostError(ServerUnreachableError):
    """An answer came, but not the server's decision: a gateway in front of it (a proxy's
    502, 503 or 504), a page that is not the server's (not JSON), or the server failing
    part-way (its own 5xx). Whether it did what was asked is unknown, so this is a lost
    answer, as when the connection drops: a redemption is decided offline under the same
    attempt key, and the push then finds out (`duplicate` when the server had applied it)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _problem(response: httpx.Response) -> dict[str, Any] | None:
    """The answer's JSON object (the server's problem document), or None when it is not
    one: a gateway's page, or nothing."""
    if "json" not in response.headers.get("content-type", ""):
        return None
    try:
        document = response.json()
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _refusal(base_url: str, response: httpx.Response) -> SyncClientError:
    """What an answer of 400 or more means. The server decided (ServerRefusedError) only
    when it answered a 4xx with its problem document; anything else says nothing of what
    it did (AnswerLostError)."""
    status = response.status_code
    problem = _problem(response)
    if problem is not None and status < 500:
        return ServerRefusedError(status, problem)
    said = f"{status} {response.reason_phrase}".strip()
    if problem is not None:  # the server's own 5xx: it failed before it could decide
        detail = str(problem.get("detail") or problem.get("title") or "")[:200]
        return AnswerLostError(
            f"the server at {base_url} failed before deciding (HTTP {said}"
            + (f": {detail.rstrip('.')})" if detail else ")"),
            status,
        )
    if status in (502, 503, 504):
        why = f"the gateway in front of it answered {said}"
    else:
        why = f"something answered {said} with a page that is not the server's"
    return AnswerLostError(f"the server at {base_url} could not be reached ({why})", status)


def _server_time(response: httpx.Response) -> datetime | None:
    """When the server says it answered (its `Date` header), or None."""
    try:
        moment = parsedate_to_datetime(response.headers.get("date", ""))
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ServerTime:
    """The server's clock as one answer gave it (its `Date` header, whole seconds), and how
    far this machine's clock was from it when the answer came."""

    at: datetime
    offset: float  # seconds: the server's clock minus this machine's; > 0, this one is behind


class ServerAnswerError(SyncClientError):
    """The server answered, but not with what the contract in `sync.wire` says: a server of
    another version, or something else at that address."""


class ServerRefusedError(SyncClientError):
    """The server answered with a problem (4xx/5xx)."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem  # as answered
        try:
            self.answer = ProblemAnswer.model_validate(problem)
        except ValidationError:
            self.answer = ProblemAnswer(status=status, detail=str(problem)[:200])
        self.kind = self.answer.kind
        super().__init__(self.answer.detail or self.answer.title or f"HTTP {status}")


@dataclass(frozen=True)
class DeviceAuth:
    device_id: str
    secret: str

    @property
    def header(self) -> dict[str, str]:
        return {"Authorization": f"Device {self.device_id}.{self.secret}"}


def _bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


class _SignedIn(BaseModel):
    """What `sign_in` reads of the login answer."""

    access_token: str


class _Me(BaseModel):
    id: str
    email: str
    businesses: list[str] = []  # the businesses the account owns or works for


class _Listed(BaseModel):
    id: str


class _Found(BaseModel):
    """What `find_business_id` reads of the directory's search page."""

    items: list[_Listed]


class _Branches(BaseModel):
    """What `branch_ids` reads of a business's public page."""

    branches: list[_Listed]


def _server_sent(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(event name, data) of each event in a text/event-stream; comments (pings) skipped."""
    name, data = "message", list[str]()
    for line in lines:
        if not line:
            if data:
                yield name, "\n".join(data)
            name, data = "message", list[str]()
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)


class ChangeStream:
    """A terminal's open event stream: iterate it for `ChangesWaiting`; it ends when the
    server ends it, raises ServerUnreachableError when the connection drops, and `close()`
    (from any thread) ends it at once."""

    def __init__(self, response: httpx.Response, base_url: str) -> None:
        self._response = response
        self._base_url = base_url
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[ChangesWaiting]:
        try:
            for name, data in _server_sent(self._response.iter_lines()):
                if name == CHANGES_WAITING:
                    yield ChangesWaiting.model_validate_json(data)
        except (httpx.TransportError, httpx.StreamError) as exc:
            if not self._closed.is_set():
                raise ServerUnreachableError(
                    f"the stream from {self._base_url} dropped ({type(exc).__name__})"
                ) from None
        except ValidationError as exc:
            raise ServerAnswerError(f"the server's stream said something else: {exc}") from None
        finally:
            self.close()

    def close(self) -> None:
        self._closed.set()
        # Closing the response does not wake a read blocked on its socket in another thread:
        # that read would wait for the server's next keep-alive (an app quitting, a browser
        # tab handing over, for seconds). Shutting the socket down ends it now.
        network = self._response.extensions.get("network_stream")
        connection = network.get_extra_info("socket") if network is not None else None
        if isinstance(connection, socket.socket):
            with contextlib.suppress(OSError):  # closed already
                connection.shutdown(socket.SHUT_RDWR)
        self._response.close()


class SyncClient:
    page_size = 100  # items asked for per page of a list

    def __init__(
        self,
        base_url: str,
        *,
        auth: DeviceAuth | None = None,
        http: httpx.Client | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        # The server's address; the API's own prefix, often pasted with it, is added per call.
        self.base_url = base_url.strip().rstrip("/").removesuffix(API_PREFIX).rstrip("/")
        self.auth = auth
        # An injected client (another transport, Starlette's TestClient) brings its own
        # timeouts; ours gives up after `timeout` so the till can fall back to offline.
        self._http = http or httpx.Client(timeout=timeout)
        # The server's clock minus this machine's, in seconds, as of the last answer that
        # had a `Date` header (None before one): a till's clock that is off shows here.
        self.clock_offset: float | None = None
        # The last answer's time by the server's clock: what a sync's stamp keeps beside the
        # till's own, so a till clock moved since cannot make an old sync look new. None
        # when that answer had no `Date` header: an earlier answer's time is not this one's.
        self.server_time: ServerTime | None = None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _response(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        # Headers given for the call (an owner's token) win over the device's own.
        headers = {**(self.auth.header if self.auth else {}), **kwargs.pop("headers", {})}
        try:
            response = self._http.request(
                method, f"{self.base_url}{API_PREFIX}{path}", headers=headers, **kwargs
            )
        # Any failure of the request, not only the transport's: an answer that cannot be
        # decoded (a broken gzip body) came after the server may have done it.
        except httpx.RequestError as exc:
            raise ServerUnreachableError(
                _unreachable(self.base_url, exc), may_have_arrived=not isinstance(exc, _NEVER_SENT)
            ) from None
        said_at = _server_time(response)
        if said_at is None:
            self.server_time = None
        else:
            self.clock_offset = (said_at - datetime.now(UTC)).total_seconds()
            self.server_time = ServerTime(said_at, self.clock_offset)
        if response.status_code >= 400:
            raise _refusal(self.base_url, response)
        return response

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._response(method, path, **kwargs).json()

    def _typed(
        self, answer: type[M], method: str, path: str, body: BaseModel | None = None, **kwargs: Any
    ) -> M:
        """The call's answer as the contract's model for it; a value of an open set this
        version does not know (a newer server's) is kept as a `NewerValue`."""
        if body is not None:
            kwargs["json"] = body.model_dump(mode="json")
        response = self._response(method, path, **kwargs)
        try:
            return answer.model_validate_json(response.content, context=READING_ANSWERS)
        except ValidationError as exc:
            try:
                json.loads(response.content)
            except ValueError:  # not even JSON: not the server's answer (a proxy's page)
                raise AnswerLostError(
                    f"the server at {self.base_url} could not be reached (something answered "
                    f"{method} {path} with a page that is not the server's)",
                    response.status_code,
                ) from None
            raise ServerAnswerError(
                f"the server's answer to {method} {path} is not a {answer.__name__}: {exc}"
            ) from None

    def _paged(self, answer: type[M], path: str, **kwargs: Any) -> list[M]:
        """Every item of a paged list (`items`, `total`, `next_offset`), page after page."""
        items: list[M] = []
        offset: int | None = 0
        asked = kwargs.pop("params", {})
        while offset is not None:
            params = {**asked, "offset": offset, "limit": self.page_size}
            response = self._response("GET", path, params=params, **kwargs)
            try:
                page = response.json()
                items.extend(
                    answer.model_validate(item, context=READING_ANSWERS) for item in page["items"]
                )
                offset = page["next_offset"]
            except (TypeError, KeyError, ValueError) as exc:  # ValueError: not JSON, or invalid
                raise ServerAnswerError(
                    f"the server's answer to GET {path} is not a page of {answer.__name__}: {exc}"
                ) from None
        return items

    def pair(self, code: str, public_key: str, name: str) -> DeviceCredentials:
        request = PairRequest(code=code, public_key=public_key, name=name)
        return self._typed(DeviceCredentials, "POST", "/devices/pair", request)

    def trust_list(self) -> TrustList:
        """The keys that sign this business's tokens."""
        try:
            return TrustList.from_json(self._call("GET", "/trust-list"))
        except KeyFileError as exc:
            raise ServerAnswerError(f"the server's trust list cannot be read: {exc}") from None

    def redeem_online(
        self, token: str, amount_minor: int, key: str, cashier_id: str | None = None
    ) -> RedemptionPublic:
        return self._typed(
            RedemptionPublic,
            "POST",
            "/terminal/redemptions",
            TerminalRedemption(token=token, amount_minor=amount_minor, cashier_id=cashier_id),
            headers={"Idempotency-Key": key},
        )

    def redeem_voucher_online(
        self, token: str, key: str, cashier_id: str | None = None
    ) -> VoucherPublic:
        return self._typed(
            VoucherPublic,
            "POST",
            "/terminal/voucher-redemptions",
            TerminalVoucherRedemption(token=token, cashier_id=cashier_id),
            headers={"Idempotency-Key": key},
        )

    def pull(self, cursor: int, limit: int = 500, mark: str | None = None) -> ChangesPage:
        """One page of what changed for this terminal's business since `cursor`; with the
        cursor's `mark`, a log restored from an older backup is told (`cursor_ahead`) even
        once it has grown past the cursor."""
        params: dict[str, str | int] = {"cursor": cursor, "limit": limit}
        if mark is not None:
            params["mark"] = mark
        return self._typed(ChangesPage, "GET", "/sync/changes", params=params)

    def open_stream(self, after: int | None) -> ChangeStream:
        """Listen for "changes are waiting" (`GET /sync/stream`), resuming after position
        `after` (the pull cursor: an event comes at once when the log moved past it)."""
        headers = {**(self.auth.header if self.auth else {}), "Accept": "text/event-stream"}
        if after is not None:
            headers["Last-Event-ID"] = str(after)
        request = self._http.build_request(
            "GET",
            f"{self.base_url}{API_PREFIX}/sync/stream",
            headers=headers,
            timeout=httpx.Timeout(DEFAULT_TIMEOUT, read=STREAM_SILENCE),
        )
        try:
            response = self._http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise ServerUnreachableError(_unreachable(self.base_url, exc)) from None
        if response.status_code >= 400:
            response.read()
            response.close()
            raise _refusal(self.base_url, response)
        return ChangeStream(response, self.base_url)

    def snapshot(self, after: str | None, cursor: int | None, limit: int = 5000) -> SnapshotPage:
        """One page of the first sync: the business's current state."""
        params: dict[str, str | int] = {"limit": limit}
        if after is not None:
            params["after"] = after
        if cursor is not None:
            params["cursor"] = cursor
        return self._typed(SnapshotPage, "GET", "/sync/snapshot", params=params)

    # -- what an owner does from the terminal (signed in, not as the device) ------------

    def healthy(self) -> bool:
        """The server answers its health check."""
        try:
            response = self._http.get(f"{self.base_url}/healthz")
        except httpx.TransportError:
            return False
        return response.status_code == 200

    def sign_in(self, email: str, password: str) -> str:
        """An access token for an account."""
        body = {"email": email, "password": password}
        return self._typed(_SignedIn, "POST", "/auth/login", json=body).access_token

    def account_id(self, access_token: str) -> str:
        """The id of the account `access_token` belongs to."""
        return self._typed(_Me, "GET", "/me", headers=_bearer(access_token)).id

    def account_businesses(self, access_token: str) -> list[str]:
        """The ids of the businesses the account of `access_token` owns or works for."""
        return self._typed(_Me, "GET", "/me", headers=_bearer(access_token)).businesses

    def find_business_id(self, query: str) -> str | None:
        """The id of the first business the public directory finds for `query`."""
        found = self._typed(_Found, "GET", "/businesses", params={"q": query, "limit": 1})
        return found.items[0].id if found.items else None

    def branch_ids(self, business_id: str) -> list[str]:
        """The ids of a business's branches, as its public page lists them."""
        page = self._typed(_Branches, "GET", f"/businesses/{business_id}")
        return [branch.id for branch in page.branches]

    def create_pairing_code(self, business_id: str, access_token: str) -> str:
        """A one-time pairing code for a business the signed-in owner owns."""
        return self.pairing_code(business_id, access_token).code

    def pairing_code(
        self, business_id: str, access_token: str, branch_id: str | None = None
    ) -> PairingCodePublic:
        """A one-time pairing code, with its QR text and expiry; the till it pairs serves
        `branch_id` when given."""
        path = f"/businesses/{business_id}/pairing-codes"
        body = PairingCodeCreate(branch_id=branch_id)
        return self._typed(PairingCodePublic, "POST", path, body, headers=_bearer(access_token))

    # Each call below is made as the signed-in owner of `business_id`, with their access token.

    def devices(self, business_id: str, access_token: str) -> list[DevicePublic]:
        """The business's paired terminals, oldest first."""
        path = f"/businesses/{business_id}/devices"
        return self._paged(DevicePublic, path, headers=_bearer(access_token))

    def revoke_device(self, business_id: str, device_id: str, access_token: str) -> DevicePublic:
        """Stop one of the business's terminals from syncing, for good."""
        path = f"/businesses/{business_id}/devices/{device_id}/revoke"
        return self._typed(DevicePublic, "POST", path, headers=_bearer(access_token))

    def incidents(self, business_id: str, access_token: str) -> list[IncidentPublic]:
        """What sync flagged for the owner, resolved or not."""
        path = f"/businesses/{business_id}/incidents"
        return self._paged(IncidentPublic, path, headers=_bearer(access_token))

    def resolve_incident(
        self, business_id: str, incident_id: str, resolution: str, access_token: str
    ) -> IncidentPublic:
        path = f"/businesses/{business_id}/incidents/{incident_id}/resolve"
        body = IncidentResolve(resolution=resolution)
        return self._typed(IncidentPublic, "POST", path, body, headers=_bearer(access_token))

    def report(
        self, business_id: str, first: date, time_zone: str, access_token: str
    ) -> BusinessReport:
        """The business's report for the day `first` in `time_zone` (all its tills)."""
        path = f"/businesses/{business_id}/reports"
        params = {"from": first.isoformat(), "tz": time_zone}
        return self._typed(
            BusinessReport, "GET", path, params=params, headers=_bearer(access_token)
        )

    def offline_limits(self, business_id: str, access_token: str) -> OfflineLimitsBody:
        path = f"/businesses/{business_id}/offline-limits"
        return self._typed(OfflineLimitsBody, "GET", path, headers=_bearer(access_token))

    def set_offline_limits(
        self, business_id: str, limits: OfflineLimitsBody, access_token: str
    ) -> OfflineLimitsBody:
        path = f"/businesses/{business_id}/offline-limits"
        return self._typed(OfflineLimitsBody, "PUT", path, limits, headers=_bearer(access_token))

    def subscription(self, business_id: str, access_token: str) -> SubscriptionPublic:
        """The business's plan and how it stands; refused (404, `no-subscription`) when it
        has none."""
        path = f"/businesses/{business_id}/subscription"
        return self._typed(SubscriptionPublic, "GET", path, headers=_bearer(access_token))

    def invoices(self, business_id: str, access_token: str) -> list[InvoicePublic]:
        """The business's invoices, newest first."""
        path = f"/businesses/{business_id}/invoices"
        return self._paged(InvoicePublic, path, headers=_bearer(access_token))

    def pay_invoice(
        self,
        business_id: str,
        invoice_id: str,
        card_number: str | None,
        access_token: str,
        key: str | None = None,
    ) -> InvoicePublic:
        """Pay an unpaid invoice with `card_number` (kept on file), or, given None, the card
        on file. `key` is the payment's Idempotency-Key (the same to retry it); a new one
        when left out."""
        path = f"/businesses/{business_id}/invoices/{invoice_id}/pay"
        body = InvoicePayment(card_number=card_number)
        headers = {**_bearer(access_token), "Idempotency-Key": key or str(uuid.uuid4())}
        return self._typed(InvoicePublic, "POST", path, body, headers=headers)

    def till_staff(self, business_id: str, access_token: str) -> list[TillStaffPublic]:
        """The owner and each staff account, with their till role and whether a PIN is set."""
        path = f"/businesses/{business_id}/till-staff"
        return self._paged(TillStaffPublic, path, headers=_bearer(access_token))

    def set_till_pin(
        self, business_id: str, user_id: str, body: StaffPinSet, access_token: str
    ) -> TillStaffPublic:
        path = f"/businesses/{business_id}/till-staff/{user_id}"
        return self._typed(TillStaffPublic, "PUT", path, body, headers=_bearer(access_token))

    def clear_till_pin(self, business_id: str, user_id: str, access_token: str) -> None:
        path = f"/businesses/{business_id}/till-staff/{user_id}"
        self._response("DELETE", path, headers=_bearer(access_token))

    def push(self, events: list[TerminalEvent]) -> list[EventResult]:
        # The events as signed, not re-serialised through a model: the signature covers them.
        body = {"events": [e.to_json() for e in events]}
        # The request's own timeout, as httpx reads it from the extensions (Starlette's
        # test client refuses a `timeout` argument).
        timeout = httpx.Timeout(max(PUSH_TIMEOUT, self._http.timeout.read or 0.0))
        extensions = {"timeout": timeout.as_dict()}
        return self._typed(
            PushResponse, "POST", "/sync/push", json=body, extensions=extensions
        ).results
