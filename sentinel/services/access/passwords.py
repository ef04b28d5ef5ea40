"""Passwords: the rules a new one must meet, and salted scrypt hashes (the parameters travel with
the hash, so they can be raised later). Nothing here is stored; the vault keeps the records."""

from __future__ import annotations

import base64
import os
import unicodedata

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from sentinel.errors import SentinelError

# Interactive scrypt parameters (about 16 MiB and 0.1 s per hash on a small PC).
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
KEY_BYTES = 32
MIN_PASSWORD_LEN = 6
MAX_PASSWORD_LEN = 256


class VaultError(SentinelError):
    """The vault cannot be read or written."""


def normalise_password(password: str) -> bytes:
    return unicodedata.normalize("NFC", password).encode("utf-8")


def hash_password(password: str) -> dict:
    """A salted scrypt record; the parameters travel with the hash so they can be raised later."""
    salt = os.urandom(SALT_BYTES)
    key = Scrypt(salt=salt, length=KEY_BYTES, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(normalise_password(password))
    return {
        "alg": "scrypt",
        "n": SCRYPT_N,
        "r": SCRYPT_R,
        "p": SCRYPT_P,
        "length": KEY_BYTES,
        "salt": base64.b64encode(salt).decode("ascii"),
        "hash": base64.b64encode(key).decode("ascii"),
    }


def verify_password(password: str, record: dict) -> bool:
    """Constant-time check through the library's Scrypt.verify."""
    if record.get("alg") != "scrypt":
        raise VaultError(f"unknown password hash algorithm {record.get('alg')!r}")
    kdf = Scrypt(salt=base64.b64decode(record["salt"]), length=int(record["length"]),
                 n=int(record["n"]), r=int(record["r"]), p=int(record["p"]))
    try:
        kdf.verify(normalise_password(password), base64.b64decode(record["hash"]))
        return True
    except InvalidKey:
        return False


def needs_rehash(record: dict) -> bool:
    return (record.get("n"), record.get("r"), record.get("p"), record.get("length")) != (
        SCRYPT_N, SCRYPT_R, SCRYPT_P, KEY_BYTES)


def password_problem(password: str) -> str | None:
    """The rule a single new password breaks, or None."""
    length = len(unicodedata.normalize("NFC", password))
    if length < MIN_PASSWORD_LEN:
        return f"must be at least {MIN_PASSWORD_LEN} characters (got {length})"
    if length > MAX_PASSWORD_LEN:
        return f"must be at most {MAX_PASSWORD_LEN} characters"
    if not password.strip():
        return "must not be only spaces"
    return None
