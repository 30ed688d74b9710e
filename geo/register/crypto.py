"""Application-side field encryption for the hardship-household register.

Personal fields (name, ID number, phone, address text, visit notes) are
encrypted here, before they reach SQL, with AES-256-GCM from the
``cryptography`` package.  The database, its dumps and its logs only ever see
ciphertext; the key never appears in SQL text because it never leaves Python.

Format of one encrypted value (``bytes``, stored as ``bytea``)::

    0x01 | key id (8 bytes) | nonce (12 bytes) | ciphertext + GCM tag (16 bytes)

- The **associated data** is ``table``, ``column`` and the row's id, so a
  ciphertext copied into another row or column fails to decrypt instead of
  silently showing someone else's name.
- The **key id** (a hash of the key, not the key) lets several keys coexist
  during rotation: encryption uses the first key, decryption finds the key by id.
- **Blind indexes** (HMAC-SHA-256 of a normalised value under a separate
  derived key) make exact-match search on name, ID number and phone possible
  without decrypting the register and without storing anything a dump could
  reverse without the key.

Keys come from ``YITU_HOUSEHOLD_KEY`` (base64 of 32 bytes; several keys may be
given comma-separated, the first encrypts) or from a file named by
``YITU_HOUSEHOLD_KEY_FILE`` holding the same text.  Generate one with
``python -c "import base64,os;print(base64.b64encode(os.urandom(32)).decode())"``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from geo.errors import GeoError, ServiceUnavailable

KEY_ENV = "YITU_HOUSEHOLD_KEY"
KEY_FILE_ENV = "YITU_HOUSEHOLD_KEY_FILE"

_VERSION = b"\x01"
_KEY_ID_LEN = 8
_NONCE_LEN = 12
_HEADER_LEN = 1 + _KEY_ID_LEN + _NONCE_LEN
_TAG_LEN = 16


class KeyUnavailable(ServiceUnavailable):
    """No usable household key is configured; the register cannot be opened."""


class DecryptionFailed(GeoError):
    """A stored value does not decrypt: wrong key, wrong row, or tampered."""


def _derive(master: bytes, purpose: bytes) -> bytes:
    """Derive a 32-byte subkey so encryption and indexing never share a key."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"yitu household " + purpose
    ).derive(master)


def _key_id(master: bytes) -> bytes:
    return hashlib.sha256(b"yitu key id\x00" + master).digest()[:_KEY_ID_LEN]


def parse_keys(text: str) -> tuple[bytes, ...]:
    """Decode a comma-separated list of base64 keys, each 32 bytes.

    Parameters
    ----------
    text : str
        ``"<base64>[,<base64>...]"``; whitespace around keys is ignored.

    Returns
    -------
    tuple of bytes
        The raw keys, the encrypting key first.

    Raises
    ------
    KeyUnavailable
        The text is empty, not base64, or a key is not 32 bytes long.  The
        message never contains the key material.
    """
    keys = []
    for position, part in enumerate(p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            raw = base64.b64decode(part, validate=True)
        except (binascii.Error, ValueError):
            raise KeyUnavailable(f"household key #{position + 1} is not valid base64") from None
        if len(raw) != 32:
            raise KeyUnavailable(
                f"household key #{position + 1} has {len(raw)} bytes; AES-256 needs 32"
            )
        keys.append(raw)
    if not keys:
        raise KeyUnavailable("the household key is empty")
    return tuple(keys)


class FieldCipher:
    """Encrypt, decrypt and blind-index personal fields with AES-256-GCM.

    Parameters
    ----------
    keys : sequence of bytes
        32-byte master keys; the first encrypts, all may decrypt.
    """

    __slots__ = ("_aeads", "_active_id", "_index_key", "_index_keys")

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise KeyUnavailable("no household key given")
        self._aeads: dict[bytes, AESGCM] = {}
        for key in keys:
            if len(key) != 32:
                raise KeyUnavailable("a household key must be 32 bytes")
            self._aeads[_key_id(key)] = AESGCM(_derive(key, b"field encryption v1"))
        self._active_id = _key_id(keys[0])
        self._index_key = _derive(keys[0], b"blind index v1")
        # Every key's index key: during a rotation, rows not yet rekeyed still
        # carry blind indexes under an old key, and a search must find them.
        self._index_keys = tuple(_derive(key, b"blind index v1") for key in keys)

    def __repr__(self) -> str:
        # Never show key material, not even derived keys, in logs or tracebacks.
        return f"FieldCipher(key_id={self.key_id}, keys={len(self._aeads)})"

    @property
    def key_id(self) -> str:
        """Return the hex id of the encrypting key (safe to log)."""
        return self._active_id.hex()

    @classmethod
    def from_sources(
        cls,
        *,
        key: str | None = None,
        key_file: str | os.PathLike[str] | None = None,
    ) -> FieldCipher:
        """Build a cipher from key text or a key file (the text wins if both are set).

        Raises
        ------
        KeyUnavailable
            Neither is set, the file cannot be read, or a key is malformed.
        """
        if key:
            return cls(parse_keys(key))
        if key_file:
            try:
                text = Path(key_file).read_text(encoding="ascii")
            except (OSError, UnicodeDecodeError):
                raise KeyUnavailable("the household key file cannot be read") from None
            return cls(parse_keys(text))
        raise KeyUnavailable(f"no household key: set {KEY_ENV} or {KEY_FILE_ENV}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FieldCipher:
        """Build a cipher from ``YITU_HOUSEHOLD_KEY`` or ``YITU_HOUSEHOLD_KEY_FILE``."""
        env = os.environ if environ is None else environ
        return cls.from_sources(key=env.get(KEY_ENV), key_file=env.get(KEY_FILE_ENV))

    @staticmethod
    def _aad(table: str, column: str, row_id: str) -> bytes:
        for part in (table, column, row_id):
            if "\x00" in part:
                raise ValueError("table, column and row id must not contain NUL")
        return b"yitu/v1\x00" + "\x00".join((table, column, row_id)).encode()

    def encrypt(
        self, plaintext: str | None, *, table: str, column: str, row_id: str
    ) -> bytes | None:
        """Encrypt one field value bound to its table, column and row.

        Parameters
        ----------
        plaintext : str or None
            The value; ``None`` stays ``None`` (a missing phone is not secret).
        table, column, row_id : str, keyword-only
            Where the value is stored; they are the associated data.

        Returns
        -------
        bytes or None
        """
        if plaintext is None:
            return None
        nonce = os.urandom(_NONCE_LEN)
        sealed = self._aeads[self._active_id].encrypt(
            nonce, plaintext.encode("utf-8"), self._aad(table, column, row_id)
        )
        return _VERSION + self._active_id + nonce + sealed

    def decrypt(
        self, blob: bytes | memoryview | None, *, table: str, column: str, row_id: str
    ) -> str | None:
        """Decrypt a value written by :meth:`encrypt` for the same table, column and row.

        Raises
        ------
        DecryptionFailed
            Unknown format or key, tampering, or a value moved from another row.
        """
        if blob is None:
            return None
        data = bytes(blob)
        if len(data) < _HEADER_LEN + _TAG_LEN or data[:1] != _VERSION:
            raise DecryptionFailed(f"{table}.{column} of row {row_id} is not a sealed value")
        aead = self._aeads.get(data[1 : 1 + _KEY_ID_LEN])
        if aead is None:
            raise DecryptionFailed(
                f"{table}.{column} of row {row_id} was sealed with a key that is not configured"
            )
        nonce = data[1 + _KEY_ID_LEN : _HEADER_LEN]
        try:
            plain = aead.decrypt(nonce, data[_HEADER_LEN:], self._aad(table, column, row_id))
        except InvalidTag:
            raise DecryptionFailed(
                f"{table}.{column} of row {row_id} fails authentication"
            ) from None
        return plain.decode("utf-8")

    def blind_index(self, normalized: str | None, *, column: str) -> bytes | None:
        """Return a 32-byte keyed hash of an already normalised value, for equality search.

        The column name is part of the message so equal values in different
        columns (a phone number typed as an ID) do not share an index value.
        """
        if normalized is None or normalized == "":
            return None
        return hmac.new(
            self._index_key, column.encode() + b"\x00" + normalized.encode("utf-8"), hashlib.sha256
        ).digest()

    def blind_indexes(self, normalized: str | None, *, column: str) -> tuple[bytes, ...]:
        """Return the blind index of a value under every configured key, the active one first.

        Search compares with all of them, so rows sealed before a rotation
        stay findable until ``yitu households rekey`` has rewritten them.
        """
        if normalized is None or normalized == "":
            return ()
        message = column.encode() + b"\x00" + normalized.encode("utf-8")
        return tuple(hmac.new(key, message, hashlib.sha256).digest() for key in self._index_keys)

    @property
    def active_key_id(self) -> bytes:
        """Return the raw 8-byte id of the encrypting key, as stored in each sealed value."""
        return self._active_id

    def needs_rekey(self, blob: bytes | memoryview | None) -> bool:
        """Return whether a stored value was sealed with a key other than the active one."""
        if blob is None:
            return False
        return bytes(blob)[1 : 1 + _KEY_ID_LEN] != self._active_id


def generate_key() -> str:
    """Return a new random key as base64 text (32 bytes from the OS CSPRNG)."""
    return base64.b64encode(os.urandom(32)).decode("ascii")
