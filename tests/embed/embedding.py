"""Shared pieces of the embedding tests: the demo partner and merchants on the in-process sandbox
(the portal tests' ``sandbox`` fixture seeds them), and embed sessions on them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from django.test import Client

from tests.portal.conftest import DEMO_ACCOUNT, OTHER_ACCOUNT, sandbox_connections

PARTNER_ORIGINS = ("https://app.partner.example", "http://localhost:8001")
EMBED_HEADER = "HTTP_X_CONNEX_EMBED"
# What a browser sends with a page it loads into an iframe.
IN_FRAME = {"HTTP_SEC_FETCH_DEST": "iframe"}


@dataclass
class Demo:
    partner: object
    merchant: object
    other_merchant: object
    connections: list
    other_connections: list

    @property
    def runnable(self):
        """The merchant's first connection that syncs orders (task type 0), which Run now starts."""
        return next(c for c in self.connections if c.scheduled_tasks.filter(task_type=0).exists())

    @property
    def connection_links(self) -> list[str]:
        return [f"/connections/{connection.id}/settings/" for connection in self.connections]

    @property
    def other_connection_links(self) -> list[str]:
        return [f"/connections/{connection.id}/settings/" for connection in self.other_connections]


def demo_data() -> Demo:
    """The seeded demo, its partner allowing PARTNER_ORIGINS to embed the portal."""
    from connexportal.accounts.models import Merchant, Partner
    from connexportal.core.management.commands.seed_demo import DEMO_PARTNER_NAME

    partner = Partner.objects.get(name=DEMO_PARTNER_NAME)
    partner.embed_origins = "\n".join(PARTNER_ORIGINS)
    partner.save()
    return Demo(
        partner=partner,
        merchant=Merchant.objects.get(partner=partner, external_id="demo-merchant-1"),
        other_merchant=Merchant.objects.get(partner=partner, external_id="demo-merchant-2"),
        connections=sandbox_connections(DEMO_ACCOUNT),
        other_connections=sandbox_connections(OTHER_ACCOUNT),
    )


def launch_path(merchant, **options) -> str:
    from connexportal.embed.services import launch_create

    path, _expires_at = launch_create(partner=merchant.partner, merchant=merchant, **options)
    return path


def open_session(merchant, **options) -> str:
    """Launch the portal for ``merchant`` as the iframe would; returns the session token."""
    response = Client().get(launch_path(merchant, **options))
    assert response.status_code == 302, response.status_code
    return session_token_from(Client().get(response["Location"], **IN_FRAME))


def ticket_from(location: str) -> str:
    """The navigation ticket in a URL (the launch redirect's, a minted one)."""
    return parse_qs(urlsplit(location).query)["ticket"][0]


def session_token_from(page) -> str:
    """The session token a page hands its frame script (and htmx) to send in the header."""
    assert page.status_code == 200, page.status_code
    return frame_config(page.content.decode())["token"]


def csp_directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    directives = {}
    for part in policy.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def expected_config(*, origins, token=None, event=None) -> dict:
    """The frame script's settings on a page (see frame_config) with these origins, token and event."""
    return {
        "origins": list(origins),
        "token": token,
        "event": event,
        "tickets": "/embed/navigation-tickets",
        "ticket_param": "ticket",
    }


def frame_config(html: str) -> dict | None:
    """What the page hands the frame script (see templates/embed/_frame.html), or None."""
    import json

    match = re.search(r'<script id="connex-embed" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(match.group(1)) if match else None
