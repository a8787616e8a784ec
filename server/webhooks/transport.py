"""Sending one attempt over HTTP (the server's only outbound HTTP client).

The host is resolved once and checked (`addresses.resolve`), and the request goes to that
very address — the Host header and TLS name are the URL's own — so a name cannot resolve to
a public address for the check and a private one for the connection. Redirects are never
followed: a 3xx is a failed attempt. The timeout bounds connecting and each read; only the
first `BODY_KEPT` bytes of an answer are read. Each attempt opens its own connection."""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from .addresses import RefusedAddress, resolve, split
from .models import BODY_KEPT, AttemptOutcome

__all__ = ["Answer", "HttpSender", "Sender"]

USER_AGENT = "Tillpoint-Webhooks/1"


@dataclass(frozen=True, slots=True)
class Answer:
    """What one attempt came to."""

    outcome: AttemptOutcome
    status_code: int | None
    body: str
    error: str
    duration_ms: int


class Sender(Protocol):
    def send(self, url: str, headers: dict[str, str], body: str) -> Answer: ...


class HttpSender:
    def __init__(
        self, timeout: float, *, allow_private: bool, verify: ssl.SSLContext | bool = True
    ) -> None:
        """`verify` is how certificates are checked (tests trust their own CA)."""
        self.timeout, self.allow_private = timeout, allow_private
        # No proxies from the environment: they would connect where the check never looked.
        # No connection kept for another request: connections are pooled by address, and one
        # opened (and its certificate checked) for one name must not carry another's.
        self.client = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            verify=verify,
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    def close(self) -> None:
        self.client.close()

    def send(self, url: str, headers: dict[str, str], body: str) -> Answer:
        started = time.perf_counter()

        def answer(
            outcome: AttemptOutcome, error: str, code: int | None = None, text: str = ""
        ) -> Answer:
            elapsed = round((time.perf_counter() - started) * 1000)
            return Answer(outcome, code, text, error, elapsed)

        host, port = split(url)
        try:
            address = resolve(host, port, allow_private=self.allow_private)
        except RefusedAddress as exc:
            return answer(AttemptOutcome.REFUSED, f"not sent: {exc}")
        except (OSError, UnicodeError) as exc:
            return answer(AttemptOutcome.FAILED, f"{host} did not resolve: {exc}")
        parts = urlsplit(url)
        pinned = f"[{address}]" if address.version == 6 else str(address)
        target = parts._replace(netloc=f"{pinned}:{port}").geturl()
        try:
            with self.client.stream(
                "POST",
                target,
                content=body.encode(),
                headers={
                    **headers,
                    "content-type": "application/json",
                    "user-agent": USER_AGENT,
                    "host": parts.netloc,
                },
                extensions={"sni_hostname": host},
            ) as response:
                text = _first_bytes(response)
        except httpx.TimeoutException:
            return answer(AttemptOutcome.FAILED, f"no answer within {self.timeout:g} s")
        except httpx.HTTPError as exc:
            return answer(AttemptOutcome.FAILED, f"could not reach {host}:{port}: {exc}")
        code = response.status_code
        if 200 <= code < 300:
            return answer(AttemptOutcome.SUCCEEDED, "", code, text)
        if 300 <= code < 400:
            where = response.headers.get("location", "elsewhere")
            error = f"answered {code}, a redirect to {where}: redirects are not followed"
            return answer(AttemptOutcome.FAILED, error, code, text)
        return answer(AttemptOutcome.FAILED, f"answered {code}", code, text)


def _first_bytes(response: httpx.Response) -> str:
    kept = bytearray()
    for chunk in response.iter_bytes():
        kept += chunk
        if len(kept) >= BODY_KEPT:
            break
    return kept[:BODY_KEPT].decode(errors="replace")
