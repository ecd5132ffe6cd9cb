"""Encryption at rest for secrets (Connex passwords), with key rotation.

The first key in FIELD_ENCRYPTION_KEYS encrypts; every key decrypts, so a new
key is rolled out by prepending it and running ``rotate_encryption_keys``.
"""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with any configured key."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(ciphertext: str) -> str:
    try:
        return _current().decrypt(ciphertext.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise SecretUnreadable("stored secret cannot be decrypted with FIELD_ENCRYPTION_KEYS") from None


def rotate(ciphertext: str) -> str:
    """Re-encrypt under the first key (a no-op in meaning, new bytes on disk)."""
    try:
        return _current().rotate(ciphertext.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise SecretUnreadable("stored secret cannot be decrypted with FIELD_ENCRYPTION_KEYS") from None
