"""`tillpoint token issue|inspect|verify`: sign, take apart and check QR tokens."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..money import Money, MoneyError
from ..tokens import (
    PREFIX,
    Compression,
    IssuerKey,
    KeyFileError,
    Kind,
    TokenClaims,
    TokenError,
    TrustedKey,
    TrustList,
    Verifier,
    decode,
    issue,
    load_public_key,
    new_id,
    new_token_id,
    parse_id,
)
from .common import (
    EXIT_INVALID,
    EXIT_OK,
    CommandError,
    Commands,
    parse_time,
    print_json,
    read_text_argument,
)

VERIFY_HELP = """\
Check a token's prefix, encoding, signature, dates and lists. Prints JSON:
{"valid": true, "header": {...}, "claims": {...}} and exits 0, or
{"valid": false, "error": "<code>", "message": "..."} and exits 1.
Exit 2 means the command itself was wrong (a missing or unreadable file).

Error codes: bad_prefix, bad_base45, bad_compression, bad_cbor, bad_cose,
unsupported_alg, unknown_kid, untrusted_key, bad_signature, bad_claims,
not_yet_valid, expired, wrong_issuer, revoked, blocked.
"""


def register(commands: Commands[argparse.ArgumentParser]) -> None:
    token = commands.add_parser("token", help="sign, inspect and verify QR tokens")
    sub = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)

    issue_p = sub.add_parser(
        "issue",
        help="sign a gift-card or voucher token",
        description="Sign a gift-card or voucher token with an issuer private key and print "
        "its QR text. Ids are URL-safe base64 or hex; missing ones are made at random.",
    )
    issue_p.add_argument("--key", required=True, type=Path, help="issuer private key (PEM)")
    issue_p.add_argument("--kind", choices=["gift-card", "voucher"], default="gift-card")
    issue_p.add_argument("--business", help="business id (the iss claim)")
    issue_p.add_argument("--subject", help="card or voucher id (the sub claim)")
    issue_p.add_argument("--currency", default="GBP", help="ISO 4217 code (default GBP)")
    issue_p.add_argument("--face", help="voucher face value, e.g. 12.50")
    issue_p.add_argument("--deal", help="voucher deal id")
    issue_p.add_argument("--days", type=int, default=365, help="valid for N days (default 365)")
    issue_p.add_argument("--expires", help="expiry as ISO 8601 (overrides --days)")
    issue_p.add_argument("--not-before", help="not valid before this ISO 8601 time")
    issue_p.add_argument("--now", help="issue time as ISO 8601 (default: now)")
    issue_p.set_defaults(handler=issue_token)

    inspect = sub.add_parser(
        "inspect",
        help="decode a token without verifying it",
        description="Decode a token without checking its signature or dates and print "
        'JSON {"header": {...}, "claims": {...}}. Never trust what this shows: use verify.',
    )
    _add_text_options(inspect)
    inspect.set_defaults(handler=inspect_token)

    verify = sub.add_parser(
        "verify",
        help="verify a token",
        description=VERIFY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_text_options(verify)
    verify.add_argument(
        "--trust", type=Path, metavar="FILE", help="trust-list JSON, as the server publishes it"
    )
    verify.add_argument(
        "--key",
        type=Path,
        metavar="FILE",
        action="append",
        default=[],
        help="a public key or X.509 certificate (PEM or DER) trusted for any kid; repeatable",
    )
    verify.add_argument("--now", help="validation clock as ISO 8601 (default: now)")
    verify.add_argument("--issuer", help="refuse tokens of any other business (id)")
    verify.set_defaults(handler=verify_token)


def _add_text_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "text",
        nargs="?",
        metavar="TEXT|-",
        help="the QR text in quotes (base45 has spaces), or - for stdin",
    )
    parser.add_argument("--prefix", default=PREFIX, help=f"text prefix (default {PREFIX})")
    parser.add_argument(
        "--compression",
        choices=[c.value for c in Compression],
        default=Compression.OPTIONAL.value,
        help="zlib: inflate when present (optional), insist on it (required), or never",
    )


def _id(value: str | None, what: str) -> bytes:
    if value is None:
        return new_id()
    try:
        return parse_id(value)
    except ValueError as exc:
        raise CommandError(f"{what}: {exc}") from None


def issue_token(args: argparse.Namespace) -> int:
    try:
        key = IssuerKey.load(args.key)
    except KeyFileError as exc:
        raise CommandError(str(exc)) from None
    now = parse_time(args.now, "--now") if args.now else datetime.now(UTC)
    expires = (
        parse_time(args.expires, "--expires") if args.expires else now + timedelta(days=args.days)
    )
    not_before = parse_time(args.not_before, "--not-before") if args.not_before else None
    kind = Kind.VOUCHER if args.kind == "voucher" else Kind.GIFT_CARD
    face_minor = deal = None
    if kind is Kind.VOUCHER:
        if args.face is None:
            raise CommandError("a voucher needs --face, its value (e.g. --face 12.50)")
        try:
            face_minor = Money.parse(args.face, args.currency).minor
        except MoneyError as exc:
            raise CommandError(f"--face: {exc}") from None
        deal = _id(args.deal, "--deal")
    elif args.face or args.deal:
        raise CommandError("--face and --deal are for vouchers: add --kind voucher")
    try:
        claims = TokenClaims(
            kind=kind,
            issuer=_id(args.business, "--business"),
            subject=_id(args.subject, "--subject"),
            token_id=new_token_id(),
            currency=args.currency.upper(),
            issued_at=int(now.timestamp()),
            expires_at=int(expires.timestamp()),
            not_before=int(not_before.timestamp()) if not_before else None,
            deal_id=deal,
            face_minor=face_minor,
        )
        print(issue(key, claims))
    except TokenError as exc:
        raise CommandError(str(exc)) from None
    return EXIT_OK


def inspect_token(args: argparse.Namespace) -> int:
    text = read_text_argument(args.text)
    try:
        token = decode(text, args.prefix, Compression(args.compression))
    except TokenError as exc:
        print_json({"error": exc.code, "message": exc.message})
        return EXIT_INVALID
    print_json(
        {"header": token.header_json, "claims": token.claims_json, "compressed": token.compressed}
    )
    return EXIT_OK


def _trust_from(args: argparse.Namespace) -> TrustList:
    if args.trust is None and not args.key:
        raise CommandError("say which keys to trust: --trust FILE and/or --key FILE")
    try:
        trust = TrustList.load(args.trust) if args.trust else TrustList()
        extra = []
        for path in args.key:
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise KeyFileError(f"cannot read key {path}: {exc.strerror}") from None
            extra.append(TrustedKey(None, load_public_key(data, str(path))))
    except KeyFileError as exc:
        raise CommandError(str(exc)) from None
    return trust.with_keys(extra)


def verify_token(args: argparse.Namespace) -> int:
    now = parse_time(args.now, "--now") if args.now else None
    verifier = Verifier(
        _trust_from(args),
        prefix=args.prefix,
        compression=Compression(args.compression),
        issuer=_id(args.issuer, "--issuer") if args.issuer else None,
    )
    text = read_text_argument(args.text)
    try:
        token = verifier.verify(text, now)
    except TokenError as exc:
        print_json({"valid": False, "error": exc.code, "message": exc.message})
        return EXIT_INVALID
    print_json({"valid": True, "header": token.header_json, "claims": token.claims_json})
    return EXIT_OK
