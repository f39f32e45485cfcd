"""Secrets: argon2 password hashes and random bearer credentials stored as sha256."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

USER_TOKEN_PREFIX = "mamori_"
AGENT_KEY_PREFIX = "mamori_agent_"
SHOWN_SECRET_CHARS = 6  # characters after the kind prefix kept for lists

_hasher = PasswordHasher()
# Verified when the user does not exist, so that unknown and known names take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_secret(kind_prefix: str) -> str:
    """`kind_prefix` + 43 url-safe characters (256 bits)."""
    return kind_prefix + secrets.token_urlsafe(32)


def secret_hash(plaintext: str) -> str:
    """sha256 is enough for high-entropy random secrets (no dictionary to guess from)."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def shown_prefix(plaintext: str, kind_prefix: str) -> str:
    return plaintext[: len(kind_prefix) + SHOWN_SECRET_CHARS]
