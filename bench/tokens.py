"""Token sign/s and verify/s on one core, against raw Ed25519 verify/s from the same run.

    .venv/bin/python bench/tokens.py [--seconds 2]

The full verify goes from QR text to claims: prefix, base45, COSE, signature, claims,
dates, lists. The ceiling is `cryptography`'s Ed25519 verify of the same signature over the
same bytes. Goal (issue 1/5): full verify at ≥ 50% of the raw rate.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sync.tokens import (
    IssuerKey,
    Kind,
    TokenClaims,
    TrustedKey,
    TrustList,
    Verifier,
    b45decode,
    issue,
    new_id,
    new_token_id,
)
from sync.tokens.cose import decode_sign1

ROUNDS = 5


def once(work: Callable[[], object], seconds: float) -> float:
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(100):
            work()
        count += 100
    return count / (time.perf_counter() - start)


def rates(works: dict[str, Callable[[], object]], seconds: float) -> dict[str, float]:
    """Median rate of each, measured in interleaved rounds so drift hits all alike."""
    for work in works.values():
        once(work, 0.1)  # warm up
    samples: dict[str, list[float]] = {label: [] for label in works}
    for _ in range(ROUNDS):
        for label, work in works.items():
            samples[label].append(once(work, seconds / ROUNDS))
    medians = {label: statistics.median(values) for label, values in samples.items()}
    for label, per_second in medians.items():
        print(f"  {label:<34} {per_second:>10,.0f} /s  ({1e6 / per_second:,.1f} µs each)")
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="time per round")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    key = IssuerKey.generate()
    now = int(datetime.now(UTC).timestamp())
    claims = TokenClaims(Kind.VOUCHER, new_id(), new_id(), new_token_id(), "GBP", now - 60,
                         now + 86400, deal_id=new_id(), face_minor=1250)  # fmt: skip
    text = issue(key, claims)
    verifier = Verifier(TrustList((TrustedKey(key.kid, key.public_key),)))
    message = decode_sign1(b45decode(text[4:]))
    signed_bytes, signature = message.to_be_signed(), message.signature
    public_key = key.public_key

    print(f"Tillpoint token benchmark — {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}, one core")  # fmt: skip
    print(f"  token: voucher, {len(text)} characters")
    measured = rates(
        {
            "sign (claims → QR text)": lambda: issue(key, claims),
            "verify (QR text → claims)": lambda: verifier.verify(text),
            "raw Ed25519 verify (ceiling)": lambda: public_key.verify(signature, signed_bytes),
        },
        args.seconds * ROUNDS,
    )
    full, raw = measured["verify (QR text → claims)"], measured["raw Ed25519 verify (ceiling)"]
    print(f"  full verify / raw verify = {full / raw:.2f}  (goal ≥ 0.50)")


if __name__ == "__main__":
    main()
