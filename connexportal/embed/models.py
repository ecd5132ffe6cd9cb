"""Embedding state: single-use launch tokens, the embed sessions they are exchanged for, and the
single-use navigation tickets that open one full page inside the frame.

Only hashes of tokens are stored; the plaintext lives in the launch URL (launch tokens), in the
embedded page's memory and request headers (session tokens), or for at most a minute in the
address of one page load (navigation tickets).
"""

from __future__ import annotations

import hashlib
import secrets

from django.db import models
from django.utils import timezone

from connexportal.accounts.models import Merchant, Partner


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


class EmbedLaunch(models.Model):
    """A single-use launch token minted by a partner's backend for one of its merchants."""

    token_hash = models.CharField(max_length=64, unique=True)
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="embed_launches")
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="embed_launches")
    user_email = models.EmailField(blank=True)
    language = models.CharField(max_length=8, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"launch for {self.merchant} (expires {self.expires_at:%Y-%m-%d %H:%M})"


class EmbedSession(models.Model):
    """What a used launch token became: the embedded portal's authority to act for the merchant."""

    token_hash = models.CharField(max_length=64, unique=True)
    launch = models.OneToOneField(EmbedLaunch, on_delete=models.CASCADE, related_name="session")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="embed_sessions")
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="embed_sessions")
    user_email = models.EmailField(blank=True)
    language = models.CharField(max_length=8, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"embed session for {self.merchant}"


class NavigationTicket(models.Model):
    """A single-use pass for one full-page load inside the frame, where no header can be sent.

    ``sealed_session_token`` is the session token encrypted with a key derived from the ticket
    itself (see services), so that the page the ticket opens can carry the session on without the
    database holding anything that opens it: the row alone, like a spent ticket alone, is useless.
    """

    token_hash = models.CharField(max_length=64, unique=True)
    session = models.ForeignKey(EmbedSession, on_delete=models.CASCADE, related_name="navigation_tickets")
    sealed_session_token = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"navigation ticket for embed session {self.session_id}"
