"""SecretBox: AES-256-GCM round trip, format, and every failure mode."""

from __future__ import annotations

import uuid

import pytest
from comradarr_crypto import (
    FORMAT_VERSION,
    CryptoError,
    SecretBox,
    TamperedError,
    UnsupportedVersionError,
    WrongKeyError,
    aad_for,
)

pytestmark = pytest.mark.unit

AAD = aad_for(table="connectors", column="api_key", row_id=42)
HEADER_LEN = 1 + 8 + 12


@pytest.fixture
def box() -> SecretBox:
    return SecretBox("correct horse battery staple")


def test_round_trip(box: SecretBox) -> None:
    token = box.encrypt("s3cr3t-ÄPI-kéy", aad=AAD)
    assert box.decrypt(token, aad=AAD) == "s3cr3t-ÄPI-kéy"


def test_empty_plaintext_round_trips(box: SecretBox) -> None:
    assert box.decrypt(box.encrypt("", aad=AAD), aad=AAD) == ""


def test_same_secret_key_derives_same_box() -> None:
    token = SecretBox("k").encrypt("x", aad=AAD)
    assert SecretBox("k").decrypt(token, aad=AAD) == "x"


def test_format_layout(box: SecretBox) -> None:
    token = box.encrypt("abc", aad=AAD)
    assert token[0] == FORMAT_VERSION == 1
    assert token[1:9] == box.key_id
    assert len(box.key_id) == 8
    # header + ciphertext (same length as plaintext) + 16-byte tag
    assert len(token) == HEADER_LEN + 3 + 16
    assert b"abc" not in token


def test_random_nonce(box: SecretBox) -> None:
    a = box.encrypt("same", aad=AAD)
    b = box.encrypt("same", aad=AAD)
    assert a != b
    assert a[9:HEADER_LEN] != b[9:HEADER_LEN]


def test_flipping_any_body_byte_is_detected(box: SecretBox) -> None:
    token = box.encrypt("a secret value", aad=AAD)
    # Nonce, ciphertext and tag: every byte is covered by the GCM tag.
    for i in range(1 + 8, len(token)):
        tampered = bytearray(token)
        tampered[i] ^= 0x01
        with pytest.raises(TamperedError):
            box.decrypt(bytes(tampered), aad=AAD)


def test_flipping_header_bytes_is_rejected(box: SecretBox) -> None:
    token = box.encrypt("a secret value", aad=AAD)
    # The version byte and key id are checked before decrypting, so a flip
    # there surfaces as the more specific error; both are CryptoErrors.
    for i in range(9):
        tampered = bytearray(token)
        tampered[i] ^= 0x01
        with pytest.raises(UnsupportedVersionError if i == 0 else WrongKeyError):
            box.decrypt(bytes(tampered), aad=AAD)


def test_truncated_token(box: SecretBox) -> None:
    token = box.encrypt("abc", aad=AAD)
    for cut in (1, 9, HEADER_LEN, HEADER_LEN + 15):
        with pytest.raises(TamperedError):
            box.decrypt(token[:cut], aad=AAD)


def test_wrong_aad(box: SecretBox) -> None:
    token = box.encrypt("abc", aad=AAD)
    other_row = aad_for(table="connectors", column="api_key", row_id=43)
    other_col = aad_for(table="connectors", column="password", row_id=42)
    for aad in (other_row, other_col, b""):
        with pytest.raises(TamperedError):
            box.decrypt(token, aad=aad)


def test_wrong_key_is_detected_before_decrypting(box: SecretBox) -> None:
    token = box.encrypt("abc", aad=AAD)
    other = SecretBox("another key")
    with pytest.raises(WrongKeyError) as info:
        other.decrypt(token, aad=AAD)
    message = str(info.value)
    assert "different SECRET_KEY" in message
    assert box.key_id.hex() in message
    assert other.key_id.hex() in message
    assert "restore the previous key or re-enter the secret" in message
    assert info.value.found_key_id == box.key_id
    assert info.value.expected_key_id == other.key_id


@pytest.mark.parametrize("version", [0, 2, 255])
def test_unknown_version(box: SecretBox, version: int) -> None:
    token = bytearray(box.encrypt("abc", aad=AAD))
    token[0] = version
    with pytest.raises(UnsupportedVersionError) as info:
        box.decrypt(bytes(token), aad=AAD)
    assert info.value.version == version
    assert str(version) in str(info.value)


def test_empty_token(box: SecretBox) -> None:
    with pytest.raises(UnsupportedVersionError):
        box.decrypt(b"", aad=AAD)


def test_errors_share_a_base() -> None:
    for cls in (WrongKeyError, TamperedError, UnsupportedVersionError):
        assert issubclass(cls, CryptoError)


def test_accepts_bytearray(box: SecretBox) -> None:
    token = box.encrypt("abc", aad=AAD)
    assert box.decrypt(bytearray(token), aad=AAD) == "abc"


def test_empty_secret_key_rejected() -> None:
    with pytest.raises(ValueError, match="SECRET_KEY"):
        SecretBox("")


def test_repr_hides_key(box: SecretBox) -> None:
    assert "correct horse" not in repr(box)
    assert box.key_id.hex() in repr(box)


def test_aad_for_is_unambiguous_and_stable() -> None:
    assert aad_for(table="a", column="b", row_id=1) == aad_for(table="a", column="b", row_id="1")
    assert aad_for(table="a.b", column="c", row_id=1) != aad_for(table="a", column="b.c", row_id=1)
    rid = uuid.UUID(int=7)
    assert aad_for(table="t", column="c", row_id=rid) == aad_for(
        table="t", column="c", row_id=str(rid)
    )
    assert aad_for(table="t", column="c", row_id=1) != aad_for(table="t", column="c", row_id=2)
