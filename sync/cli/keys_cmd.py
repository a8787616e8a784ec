"""`tillpoint keys generate`: a new issuer key pair, added to the folder's trust list."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

from ..tokens import IssuerKey, KeyFileError, TrustedKey, TrustList
from .common import EXIT_OK, CommandError, Commands

TRUST_FILE = "trust.json"


def register(commands: Commands[argparse.ArgumentParser]) -> None:
    keys = commands.add_parser("keys", help="issuer signing keys")
    sub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    generate = sub.add_parser(
        "generate",
        help="make a new Ed25519 issuer key pair",
        description="Make a new Ed25519 issuer key pair in DIR: <kid>.private.pem (mode 0600) "
        "and <kid>.public.pem, and add the public key to DIR/trust.json (keys already "
        "there stay trusted, so rotating keeps old tokens valid). Prints the kid.",
    )
    generate.add_argument("--out", required=True, type=Path, metavar="DIR")
    generate.set_defaults(handler=generate_key)


def generate_key(args: argparse.Namespace) -> int:
    out: Path = args.out
    trust_path = out / TRUST_FILE
    try:
        trust = TrustList.load(trust_path) if trust_path.exists() else TrustList()
    except KeyFileError as exc:
        raise CommandError(f"{exc}; move it away or fix it, then run this again") from None
    key = IssuerKey.generate()
    try:
        private_path, public_path = key.save(out)
    except OSError as exc:
        raise CommandError(f"cannot write keys to {out}: {exc.strerror}") from None
    trust = trust.with_keys(
        [TrustedKey(key.kid, key.public_key, datetime.now(UTC).replace(microsecond=0))]
    )
    trust_path.write_text(json.dumps(trust.to_json(), indent=2) + "\n", encoding="utf-8")
    print(f"kid:         {key.kid_text}")
    print(f"private key: {private_path}  (keep it secret)")
    print(f"public key:  {public_path}")
    print(f"trust list:  {trust_path}  ({len(trust)} key{'s' if len(trust) != 1 else ''})")
    return EXIT_OK
