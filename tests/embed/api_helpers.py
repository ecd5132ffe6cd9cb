"""Shared pieces of the partner API tests: partners with keys, and a client that sends the key."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.test import Client

from connexportal.accounts.models import ConnexAccount, Merchant, Partner, PartnerApiKey

BASE = "/api/v1"
DOCS = "http://testserver/api/v1/docs"
PASSWORD = "connex-pa55word-never-shown"


def problem_type(slug: str) -> str:
    return f"{DOCS}#problem-{slug}"


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def partner_with_key(name: str) -> tuple[Partner, str]:
    partner = Partner.objects.create(name=name)
    _key, plaintext = PartnerApiKey.issue(partner)
    return partner, plaintext


def merchant_for(
    partner: Partner, external_id: str, *, name: str = "", with_account: bool = True, **fields: Any
) -> Merchant:
    merchant = Merchant.objects.create(partner=partner, external_id=external_id, name=name or external_id, **fields)
    if with_account:
        account = ConnexAccount(merchant=merchant, environment="sandbox", username=f"{external_id}@connex.test")
        account.set_password(PASSWORD)
        account.save()
    return merchant


def merchant_body(merchant: Merchant) -> dict[str, Any]:
    """What the API must answer for ``merchant``, built from the database, independently of the API code."""
    merchant = Merchant.objects.select_related("connex_account").get(pk=merchant.pk)
    account = getattr(merchant, "connex_account", None)
    return {
        "external_id": merchant.external_id,
        "name": merchant.name,
        "timezone": merchant.timezone,
        "currency": merchant.currency,
        "is_active": merchant.is_active,
        "connex": {"environment": account.environment, "username": account.username, "verified": account.is_verified}
        if account
        else None,
        "created_at": iso(merchant.created_at),
        "updated_at": iso(merchant.updated_at),
    }


class Api:
    """The Django test client, speaking to the partner API with one key."""

    def __init__(self, key: str | None, client: Client | None = None):
        self.client = client or Client(enforce_csrf_checks=True)
        self.key = key

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        return {**headers, **(extra or {})}

    def get(self, path: str, headers: dict[str, str] | None = None, **params: Any):
        return self.client.get(BASE + path, params, headers=self.headers(headers))

    def send(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None):
        data = "" if body is None else json.dumps(body)
        return getattr(self.client, method)(
            BASE + path, data=data, content_type="application/json", headers=self.headers(headers)
        )

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None):
        return self.send("post", path, body, headers)

    def patch(self, path: str, body: Any = None, headers: dict[str, str] | None = None):
        return self.send("patch", path, body, headers)
