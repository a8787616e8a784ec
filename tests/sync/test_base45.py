import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.tokens import b45decode, b45encode
from sync.tokens.base45 import ALPHABET
from sync.tokens.errors import BadBase45Error
from tests.conftest import require_shared


def rfc_vectors():
    return json.loads((require_shared("vectors/base45") / "rfc9285_vectors.json").read_text())


def test_rfc_9285_encode_vectors():
    for case in rfc_vectors()["encode"]:
        assert b45encode(bytes.fromhex(case["hex"])) == case["base45"], case["ref"]
        assert b45decode(case["base45"]) == bytes.fromhex(case["hex"]), case["ref"]


def test_rfc_9285_decode_vectors():
    for case in rfc_vectors()["decode"]:
        assert b45decode(case["base45"]) == bytes.fromhex(case["hex"]), case["ref"]


def test_rfc_9285_rejects():
    cases = rfc_vectors()["must_reject"]
    assert cases
    for case in cases:
        with pytest.raises(BadBase45Error):
            b45decode(case["base45"])


@pytest.mark.parametrize("text", ["ZZ", "é00", "::Z"])
def test_out_of_range_pairs_and_non_ascii_are_rejected(text):
    with pytest.raises(BadBase45Error):
        b45decode(text)


@given(st.binary(max_size=300))
def test_round_trip(data):
    encoded = b45encode(data)
    assert set(encoded) <= set(ALPHABET)
    assert len(encoded) == len(data) // 2 * 3 + len(data) % 2 * 2
    assert b45decode(encoded) == data


@given(st.text(max_size=60))
def test_any_text_decodes_or_raises_the_typed_error(text):
    with contextlib.suppress(BadBase45Error):
        b45decode(text)
