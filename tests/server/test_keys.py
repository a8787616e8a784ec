"""The trust list the server publishes verifies what its keys sign, across rotation."""

from datetime import UTC, datetime, timedelta

from server.keys.keyring import Keyring
from sync.tokens import Kind, TokenClaims, TrustList, Verifier, issue, new_id, new_token_id


def claims(at: datetime) -> TokenClaims:
    expires = at + timedelta(days=365)
    return TokenClaims(
        Kind.GIFT_CARD, new_id(), new_id(), new_token_id(), "GBP",
        int(at.timestamp()), int(expires.timestamp()),
    )  # fmt: skip


def test_first_start_makes_a_key_only_the_owner_can_read(tmp_path):
    keyring = Keyring.open(tmp_path / "keys")
    assert (tmp_path / "keys").stat().st_mode & 0o777 == 0o700
    (private,) = (tmp_path / "keys").glob("*.private.pem")
    assert private.stat().st_mode & 0o777 == 0o600
    assert len(keyring.trust_list()) == 1


def test_published_trust_list_verifies_tokens_across_rotation(client, settings):
    keyring = Keyring.open(settings.effective_keys_dir)
    now = datetime.now(UTC)
    old_token = issue(keyring.current(), claims(now))
    keyring.rotate()
    # The new key is valid from the second it was made: a token it signs is issued then or later.
    new_token = issue(keyring.current(), claims(datetime.now(UTC)))
    published = client.get("/api/v1/trust-list").json()
    assert len(published["keys"]) == 2
    verifier = Verifier(TrustList.from_json(published))
    assert verifier.verify(old_token).tillpoint is not None
    assert verifier.verify(new_token).tillpoint is not None


def test_a_running_server_signs_with_a_key_rotated_by_another_process(tmp_path):
    serving = Keyring.open(tmp_path / "keys")
    first = serving.current()
    assert len(serving.trust_list()) == 1  # read once: what the server holds on to
    rotated = Keyring(tmp_path / "keys").rotate()  # `tillpoint-server rotate-keys`
    assert serving.current().kid == rotated.kid != first.kid
    assert [k.kid for k in serving.trust_list()] == [first.kid, rotated.kid]
