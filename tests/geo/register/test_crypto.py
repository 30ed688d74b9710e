"""AES-GCM field encryption: round trips, binding to the row, tampering, keys, blind indexes."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from geo.register.crypto import (
    KEY_ENV,
    KEY_FILE_ENV,
    DecryptionFailed,
    FieldCipher,
    KeyUnavailable,
    generate_key,
    parse_keys,
)

KEY = bytes(range(32))
KEY_TEXT = base64.b64encode(KEY).decode()
WHERE = {"table": "households.households", "column": "name_ct", "row_id": "row-1"}


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher([KEY])


def test_round_trip_keeps_chinese_text(cipher: FieldCipher) -> None:
    sealed = cipher.encrypt("张伟 · 西宁市城中区", **WHERE)
    assert isinstance(sealed, bytes)
    assert "张伟".encode() not in sealed
    assert cipher.decrypt(sealed, **WHERE) == "张伟 · 西宁市城中区"


def test_format_is_version_key_id_nonce_then_sealed_text(cipher: FieldCipher) -> None:
    sealed = cipher.encrypt("abc", **WHERE)
    assert sealed is not None
    assert sealed[0] == 1
    assert sealed[1:9].hex() == cipher.key_id
    assert len(sealed) == 1 + 8 + 12 + 3 + 16


def test_none_stays_none(cipher: FieldCipher) -> None:
    assert cipher.encrypt(None, **WHERE) is None
    assert cipher.decrypt(None, **WHERE) is None


def test_each_encryption_uses_a_fresh_nonce(cipher: FieldCipher) -> None:
    assert cipher.encrypt("same", **WHERE) != cipher.encrypt("same", **WHERE)


@pytest.mark.parametrize(
    "moved",
    [
        {"row_id": "row-2"},
        {"column": "phone_ct"},
        {"table": "households.visits"},
    ],
)
def test_a_value_moved_to_another_row_column_or_table_does_not_decrypt(
    cipher: FieldCipher, moved: dict[str, str]
) -> None:
    sealed = cipher.encrypt("李娜", **WHERE)
    with pytest.raises(DecryptionFailed, match="fails authentication"):
        cipher.decrypt(sealed, **{**WHERE, **moved})


def test_tampering_is_detected(cipher: FieldCipher) -> None:
    sealed = bytearray(cipher.encrypt("王芳", **WHERE) or b"")
    sealed[-1] ^= 0x01
    with pytest.raises(DecryptionFailed):
        cipher.decrypt(bytes(sealed), **WHERE)


def test_plain_bytes_are_not_mistaken_for_ciphertext(cipher: FieldCipher) -> None:
    with pytest.raises(DecryptionFailed, match="not a sealed value"):
        cipher.decrypt("王芳".encode(), **WHERE)


def test_another_key_cannot_decrypt(cipher: FieldCipher) -> None:
    sealed = cipher.encrypt("王芳", **WHERE)
    with pytest.raises(DecryptionFailed, match="not configured"):
        FieldCipher([os.urandom(32)]).decrypt(sealed, **WHERE)


def test_rotation_decrypts_old_values_and_encrypts_with_the_new_key(cipher: FieldCipher) -> None:
    old_sealed = cipher.encrypt("刘洋", **WHERE)
    rotated = FieldCipher([os.urandom(32), KEY])
    assert rotated.decrypt(old_sealed, **WHERE) == "刘洋"
    assert rotated.needs_rekey(old_sealed)
    assert not rotated.needs_rekey(rotated.encrypt("刘洋", **WHERE))


def test_keys_never_appear_in_repr(cipher: FieldCipher) -> None:
    shown = repr(cipher)
    assert KEY_TEXT not in shown and KEY.hex() not in shown
    assert cipher.key_id in shown


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("not base64!!", "not valid base64"),
        (base64.b64encode(b"short").decode(), "has 5 bytes"),
    ],
)
def test_malformed_keys_are_refused_without_echoing_them(text: str, message: str) -> None:
    with pytest.raises(KeyUnavailable, match=message) as err:
        parse_keys(text)
    if text:
        assert text not in str(err.value)


def test_several_keys_parse_in_order() -> None:
    other = generate_key()
    assert parse_keys(f" {KEY_TEXT} , {other} ") == (KEY, base64.b64decode(other))


def test_key_from_environment_or_file(tmp_path: Path) -> None:
    sealed = FieldCipher.from_env({KEY_ENV: KEY_TEXT}).encrypt("x", **WHERE)
    key_file = tmp_path / "household.key"
    key_file.write_text(KEY_TEXT + "\n")
    from_file = FieldCipher.from_env({KEY_FILE_ENV: str(key_file)})
    assert from_file.decrypt(sealed, **WHERE) == "x"


def test_missing_key_or_unreadable_file_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(KeyUnavailable, match="no household key"):
        FieldCipher.from_env({})
    with pytest.raises(KeyUnavailable, match="cannot be read"):
        FieldCipher.from_env({KEY_FILE_ENV: str(tmp_path / "absent.key")})


def test_blind_index_is_deterministic_keyed_and_per_column(cipher: FieldCipher) -> None:
    first = cipher.blind_index("13800138000", column="phone")
    assert first == cipher.blind_index("13800138000", column="phone")
    assert first is not None and len(first) == 32
    assert first != cipher.blind_index("13800138000", column="id_number")
    assert first != FieldCipher([os.urandom(32)]).blind_index("13800138000", column="phone")
    assert cipher.blind_index(None, column="phone") is None
    assert cipher.blind_index("", column="phone") is None


def test_generated_keys_are_random_32_byte_base64() -> None:
    a, b = generate_key(), generate_key()
    assert a != b and len(base64.b64decode(a)) == 32
