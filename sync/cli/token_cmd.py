"""`tillpoint token issue|inspect|verify`: sign, take apart and check QR tokens."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..money import Money, MoneyError, currency
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
from ..wire import MAX_AMOUNT
from .common import (
    EXIT_INVALID,
    EXIT_OK,
    CommandError,
    Commands,
    parse_time,
    print_json,
    read_text_argument,
)
from .keys_cmd import TRUST_FILE

ID_BYTES = 8  # a business, card, voucher or deal id (docs/token-format.md, "Claims")

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
        "its QR text. Ids are 8 bytes, as 11 characters of URL-safe base64 (AQIDBAUGBwg) or "
        "16 hex digits; missing ones are made at random.",
    )
    issue_p.add_argument(
        "--key",
        required=True,
        type=Path,
        metavar="FILE|DIR",
        help="the issuer's private key (PEM), or the folder `keys generate` writes to: "
        "then its newest key (the latest in DIR/trust.json), as after a rotation",
    )
    issue_p.add_argument("--kind", choices=["gift-card", "voucher"], default="gift-card")
    issue_p.add_argument("--business", help="business id (the iss claim)")
    issue_p.add_argument("--subject", help="card or voucher id (the sub claim)")
    issue_p.add_argument("--currency", default="GBP", help="ISO 4217 code (default GBP)")
    issue_p.add_argument("--face", help="voucher face value, e.g. 12.50")
    issue_p.add_argument("--deal", help="voucher deal id")
    issue_p.add_argument(
        "--days", type=int, default=365, help="valid for N days, 1 or more (default 365)"
    )
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
    """An id as the claims hold it (8 bytes); a new one when none is given."""
    if value is None:
        return new_id()
    try:
        parsed = parse_id(value)
    except ValueError as exc:
        raise CommandError(f"{what}: {exc}") from None
    if len(parsed) != ID_BYTES:
        raise CommandError(
            f"{what} {value.strip()!r} is not an id: an id is {ID_BYTES} bytes, written as 11 "
            "characters of URL-safe base64 (e.g. AQIDBAUGBwg) or 16 hex digits"
        )
    return parsed


def _issuer_key(path: Path) -> tuple[IssuerKey, Path]:
    """The key at `path`, or, for a folder, its newest: the one trust.json lists as valid
    from the latest date (then the file written last), as `keys generate` rotates them."""
    if not path.is_dir():
        try:
            return IssuerKey.load(path), path
        except KeyFileError as exc:
            raise CommandError(str(exc)) from None
    files = sorted(path.glob("*.private.pem"))
    if not files:
        raise CommandError(
            f"{path} holds no private key (*.private.pem): make one with "
            f"`tillpoint keys generate --out {path}`, or give the key file itself"
        )
    since: dict[bytes | None, datetime] = {}
    trust_path = path / TRUST_FILE
    if trust_path.is_file():
        try:
            since = {k.kid: k.not_before for k in TrustList.load(trust_path) if k.not_before}
        except KeyFileError as exc:
            raise CommandError(f"{exc}; or give the key file itself with --key") from None
    keys = []
    for file in files:
        try:
            key = IssuerKey.load(file)
        except KeyFileError as exc:
            raise CommandError(str(exc)) from None
        oldest = datetime.min.replace(tzinfo=UTC)
        keys.append((since.get(key.kid, oldest), file.stat().st_mtime, key, file))
    _, _, key, file = max(keys, key=lambda k: (k[0], k[1]))
    return key, file


def _valid_window(args: argparse.Namespace, now: datetime) -> tuple[datetime, datetime | None]:
    """(expiry, not before) of the token, refusing a window in which it is never valid."""
    if args.expires:
        expires = parse_time(args.expires, "--expires")
        if expires <= now:
            raise CommandError(
                f"--expires {args.expires} is already past (it is {now:%Y-%m-%d %H:%M} UTC "
                "now): the token would never be valid; give a later date"
            )
    else:
        if args.days < 1:
            raise CommandError(f"--days {args.days}: a token is valid for 1 day or more")
        expires = now + timedelta(days=args.days)
    not_before = parse_time(args.not_before, "--not-before") if args.not_before else None
    if not_before is not None and not_before >= expires:
        raise CommandError(
            f"--not-before {args.not_before} is not before the expiry "
            f"({expires:%Y-%m-%d %H:%M} UTC): the token would never be valid"
        )
    return expires, not_before


def _face_minor(args: argparse.Namespace) -> int:
    """A voucher's face value in minor units, no more than one redemption can take."""
    if args.face is None:
        raise CommandError("a voucher needs --face, its value (e.g. --face 12.50)")
    try:
        face = Money.parse(args.face, args.currency)
    except MoneyError as exc:
        raise CommandError(f"--face: {exc}") from None
    if face.minor < 0:
        raise CommandError(f"--face {args.face}: a face value cannot be negative")
    if face.minor > MAX_AMOUNT:
        most = Money.of(MAX_AMOUNT, face.currency.code).format()
        raise CommandError(
            f"--face {args.face}: {face.format()} is too large for a voucher: its face value "
            f"may be at most {most}, the most one redemption can take"
        )
    return face.minor


def issue_token(args: argparse.Namespace) -> int:
    key, key_file = _issuer_key(args.key)
    try:
        code = currency(args.currency).code
    except MoneyError as exc:
        raise CommandError(f"--currency: {exc}") from None
    now = parse_time(args.now, "--now") if args.now else datetime.now(UTC)
    expires, not_before = _valid_window(args, now)
    kind = Kind.VOUCHER if args.kind == "voucher" else Kind.GIFT_CARD
    face_minor = deal = None
    if kind is Kind.VOUCHER:
        face_minor = _face_minor(args)
        deal = _id(args.deal, "--deal")
    elif args.face or args.deal:
        raise CommandError("--face and --deal are for vouchers: add --kind voucher")
    issuer, subject = _id(args.business, "--business"), _id(args.subject, "--subject")
    if key_file != args.key:
        print(f"signed with {key_file}, the newest key in {args.key}", file=sys.stderr)
    try:
        claims = TokenClaims(
            kind=kind,
            issuer=issuer,
            subject=subject,
            token_id=new_token_id(),
            currency=code,
            issued_at=int(now.timestamp()),
            expires_at=int(expires.timestamp()),
            not_before=int(not_before.timestamp()) if not_before else None,
            deal_id=deal,
            face_minor=face_minor,
        )
        print(issue(key, claims))
    except TokenError as exc:  # what the checks above do not foresee
        raise CommandError(f"the token cannot be issued: {exc.message}") from None
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
