"""The HTTP client terminals and the CLI use to talk to the server. The one module of
`sync/` that imports httpx: tests hand it another transport, or Starlette's TestClient."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from .wire import EventResult, TerminalEvent

__all__ = [
    "DeviceAuth",
    "PairingResult",
    "ServerRefusedError",
    "ServerUnreachableError",
    "SyncClient",
    "SyncClientError",
]

DEFAULT_TIMEOUT = 3.0  # the till falls back to offline after this


class SyncClientError(Exception):
    """Talking to the server failed; the message says what to do."""


class ServerUnreachableError(SyncClientError):
    """No answer (network down, server down, or too slow): work offline and retry later."""


class ServerRefusedError(SyncClientError):
    """The server answered with a problem (4xx/5xx)."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        self.kind = str(problem.get("type", "")).rsplit("/", 1)[-1]
        super().__init__(str(problem.get("detail") or problem.get("title") or f"HTTP {status}"))


@dataclass(frozen=True)
class DeviceAuth:
    device_id: str
    secret: str

    @property
    def header(self) -> dict[str, str]:
        return {"Authorization": f"Device {self.device_id}.{self.secret}"}


@dataclass(frozen=True)
class PairingResult:
    device_id: str
    business_id: str
    secret: str


class SyncClient:
    def __init__(
        self,
        base_url: str,
        *,
        auth: DeviceAuth | None = None,
        http: httpx.Client | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        # An injected client (another transport, Starlette's TestClient) brings its own
        # timeouts; ours gives up after `timeout` so the till can fall back to offline.
        self._http = http or httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        # Headers given for the call (an owner's token) win over the device's own.
        headers = {**(self.auth.header if self.auth else {}), **kwargs.pop("headers", {})}
        try:
            response = self._http.request(
                method, f"{self.base_url}/api/v1{path}", headers=headers, **kwargs
            )
        except httpx.TransportError as exc:
            raise ServerUnreachableError(
                f"the server at {self.base_url} did not answer ({type(exc).__name__})"
            ) from None
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"detail": response.text[:200]}
            raise ServerRefusedError(response.status_code, problem)
        return response.json()

    def pair(self, code: str, public_key: str, name: str) -> PairingResult:
        body = self._call(
            "POST", "/devices/pair", json={"code": code, "public_key": public_key, "name": name}
        )
        return PairingResult(body["device_id"], body["business_id"], body["secret"])

    def trust_list(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/trust-list")
        return result

    def redeem_online(self, token: str, amount_minor: int, key: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "POST",
            "/terminal/redemptions",
            headers={"Idempotency-Key": key},
            json={"token": token, "amount_minor": amount_minor},
        )
        return result

    def redeem_voucher_online(self, token: str, key: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "POST",
            "/terminal/voucher-redemptions",
            headers={"Idempotency-Key": key},
            json={"token": token},
        )
        return result

    def pull(self, cursor: int, limit: int = 500) -> dict[str, Any]:
        """One page of what changed for this terminal's business since `cursor`."""
        result: dict[str, Any] = self._call(
            "GET", "/sync/changes", params={"cursor": cursor, "limit": limit}
        )
        return result

    def snapshot(self, after: str | None, cursor: int | None, limit: int = 5000) -> dict[str, Any]:
        """One page of the first sync: the business's current state."""
        params: dict[str, Any] = {"limit": limit}
        if after is not None:
            params["after"] = after
        if cursor is not None:
            params["cursor"] = cursor
        result: dict[str, Any] = self._call("GET", "/sync/snapshot", params=params)
        return result

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
        body = self._call("POST", "/auth/login", json={"email": email, "password": password})
        return str(body["access_token"])

    def find_business(self, query: str) -> dict[str, Any] | None:
        """The first business the public directory finds for `query`."""
        body = self._call("GET", "/businesses", params={"q": query, "limit": 1})
        items: list[dict[str, Any]] = body["items"]
        return items[0] if items else None

    def create_pairing_code(self, business_id: str, access_token: str) -> str:
        """A one-time pairing code for a business the signed-in owner owns."""
        body = self.owner_call("POST", f"/businesses/{business_id}/pairing-codes", access_token)
        return str(body["code"])

    def owner_call(
        self, method: str, path: str, access_token: str, body: dict[str, Any] | None = None
    ) -> Any:
        """A call as the signed-in owner (devices, incidents, offline limits)."""
        headers = {"Authorization": f"Bearer {access_token}"}
        if body is None:
            return self._call(method, path, headers=headers)
        return self._call(method, path, headers=headers, json=body)

    def push(self, events: list[TerminalEvent]) -> list[EventResult]:
        body = self._call("POST", "/sync/push", json={"events": [e.to_json() for e in events]})
        return [EventResult(r["id"], r["status"], r.get("detail", "")) for r in body["results"]]
