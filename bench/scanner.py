"""The scanner: frame-to-verdict latency, and reading the real photos.

    .venv/bin/python bench/scanner.py [--frames 200]

1. Frame to verdict, at 640x480 and 1280x720: a rendered camera frame holding a voucher goes
   into the scanner (the webcam's code path: Scanner.poll on a frame source), the code is
   presented and the till decides — offline, with the server unreachable, so the figure is the
   terminal's own work. Each frame holds a different voucher, so every verdict is an approval
   written to the outbox. p50/p95 in ms; goal p95 ≤ 33 ms (one frame at 30 fps). The decode
   alone, on the same frames, is printed next to it.
2. The real photos in shared/qr-samples: photos read and misreads for plain pyzbar, plain
   zxing-cpp and Tillpoint's decoder (zxing-cpp, then pyzbar with preprocessing, ASCII only),
   measured in the same run. Goal: read more than either alone, 0 misreads.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pyzbar import pyzbar

from hardware import QrDecoder, Scanner, ScriptedSource
from hardware.camera import IMAGE_SUFFIXES
from hardware.synthetic import Look, frame_with_codes
from sync.client import DeviceAuth, SyncClient
from sync.tokens import (
    IssuerKey,
    Kind,
    TokenClaims,
    TrustedKey,
    TrustList,
    id_text,
    issue,
    new_id,
    new_token_id,
)
from sync.wire import ChangesPage
from terminal.core.presented import present
from terminal.core.store import Pairing, TerminalStore
from terminal.core.till import Till

SAMPLES = Path(os.environ.get("TILLPOINT_SHARED", Path(__file__).parents[2] / "shared"))
LOOK = Look(angle=10, noise=6, size=0.45)


def unused_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def offline_till(folder: Path, key: IssuerKey, business: bytes) -> tuple[TerminalStore, Till]:
    store = TerminalStore(folder / "till.db")
    store.save_pairing(
        Pairing(unused_url(), "dev", id_text(business), "secret", Ed25519PrivateKey.generate())
    )
    big = 10**9
    store.apply_changes(
        ChangesPage.model_validate(
            {
                "cursor": 1,
                "more": False,
                **{kind: [] for kind in ("cards", "products", "deals", "branches", "vouchers")},
                "revoked_token_ids": [],
                "trust_list": TrustList((TrustedKey(key.kid, key.public_key),)).to_json(),
                "offline_limits": {
                    "max_single_minor": big,
                    "max_per_card_minor": big,
                    "max_unsynced_minor": big,
                    "max_cache_age_seconds": 86400,
                    "stale_cache_max_minor": 0,
                },
            }
        )
    )
    client = SyncClient(store.pairing().server_url, auth=DeviceAuth("dev", "s"), timeout=0.5)  # type: ignore[union-attr]
    return store, Till(store, client)


def voucher(key: IssuerKey, business: bytes) -> str:
    now = datetime.now(UTC)
    claims = TokenClaims(
        Kind.VOUCHER,
        business,
        new_id(),
        new_token_id(),
        "GBP",
        int(now.timestamp()) - 60,
        int((now + timedelta(days=30)).timestamp()),
        deal_id=new_id(),
        face_minor=340,
    )
    return issue(key, claims)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def frame_to_verdict(width: int, height: int, frames: int) -> None:
    key, business = IssuerKey.generate(), new_id()
    tokens = [voucher(key, business) for _ in range(frames)]
    rendered = [frame_with_codes([t], width, height, LOOK) for t in tokens]
    with tempfile.TemporaryDirectory() as folder:
        store, till = offline_till(Path(folder), key, business)
        scanner = Scanner(ScriptedSource(rendered))
        total: list[float] = []
        decode: list[float] = []
        approved = 0
        for _ in range(frames):
            started = time.perf_counter()
            sighting = scanner.poll()
            assert sighting is not None
            for code in sighting.new_codes:
                verdict = till.redeem_voucher(present(code, store).token)
                approved += verdict.approved
            total.append((time.perf_counter() - started) * 1000)
            decode.append(sighting.ms)
        till.client.close()
        store.close()
    print(
        f"  {width}x{height}: frame to verdict p50 {statistics.median(total):5.1f} ms, "
        f"p95 {percentile(total, 0.95):5.1f} ms (goal p95 <= 33)   decode alone p50 "
        f"{statistics.median(decode):4.1f} ms, p95 {percentile(decode, 0.95):4.1f} ms   "
        f"approved {approved}/{frames}"
    )


def photos() -> list[tuple[Path, str]]:
    root = SAMPLES / "qr-samples"
    found = []
    for folder in sorted(root.glob("*/qrcode-*")):
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                found.append((path, path.with_suffix(".txt").read_bytes().decode("utf-8")))
    return found


def plain_pyzbar(image: object) -> list[str]:
    found = pyzbar.decode(image, symbols=[pyzbar.ZBarSymbol.QRCODE])
    return [symbol.data.decode("utf-8", errors="replace") for symbol in found]


def plain_zxing(image: object) -> list[str]:
    qr = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    return [r.text for r in zxingcpp.read_barcodes(image, formats=qr)]  # type: ignore[arg-type]


def read_rates() -> None:
    samples = photos()
    if not samples:
        print(f"  no photos in {SAMPLES / 'qr-samples'}: set TILLPOINT_SHARED")
        return
    ours = QrDecoder()
    decoders = {
        "pyzbar alone (grey)": plain_pyzbar,
        "zxing-cpp alone": plain_zxing,
        "Tillpoint (zxing-cpp, then pyzbar)": lambda image: list(ours.decode(image).codes),
    }
    images = [(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), text) for path, text in samples]
    for name, decode in decoders.items():
        read = misread = 0
        times = []
        for image, expected in images:
            started = time.perf_counter()
            codes = decode(image)
            times.append((time.perf_counter() - started) * 1000)
            read += expected in codes
            misread += bool(codes) and expected not in codes
        print(
            f"  {name:<36} read {read:3d}/{len(images)}   misreads {misread:2d}   "
            f"median {statistics.median(times):5.2f} ms/photo"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=200)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    print("frame to verdict (rendered voucher frames, offline till):")
    for width, height in ((640, 480), (1280, 720)):
        frame_to_verdict(width, height, args.frames)
    print(f"real photos ({SAMPLES / 'qr-samples'}):")
    read_rates()


if __name__ == "__main__":
    main()
