"""Webhook targets (SSRF): internal addresses are refused when the URL is saved and again when
each attempt is sent, and the attempt connects to exactly the address that was checked."""

from __future__ import annotations

import ipaddress
import re
import ssl

import httpcore
import httpx
import pytest
import trustme
from django.core.exceptions import ValidationError

from connexportal import events
from connexportal.accounts.models import Merchant, Partner, validate_webhook_url
from connexportal.webhooks import delivery, targets
from connexportal.webhooks.delivery import deliver
from connexportal.webhooks.models import DeliveryState, EventType, WebhookEndpoint
from tests.embed.webhooks import SECRET, Receiver, verify_request

HOST = "hooks.partner.example"
HOOK_URL = f"https://{HOST}/connex"
PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"
FINDING_URLS = {
    "metadata": ("https://169.254.169.254/latest/meta-data/", "a cloud metadata address"),
    "rfc1918": ("https://10.0.0.1/", "a private address"),
    "ipv6-loopback": ("https://[::1]/", "a loopback address"),
    "redis": ("https://127.0.0.1:6379/", "a loopback address"),
}


class FakeDNS:
    """Stands in for targets.resolve: each name answers from a queue of address lists, the last
    answer repeating, so a test can change the answer between save and delivery."""

    def __init__(self) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []

    def set(self, host: str, *answers: list[str]) -> None:
        self.answers[host] = list(answers)

    def __call__(self, host: str, port: int) -> list[targets.IPAddress]:
        self.lookups.append(host)
        queue = self.answers.get(host)
        if not queue:
            raise targets.TargetUnresolved(
                "%(host)s cannot be resolved (%(reason)s).", {"host": host, "reason": "NXDOMAIN"}
            )
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return [ipaddress.ip_address(address) for address in answer]


@pytest.fixture(autouse=True)
def production_policy(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = False


@pytest.fixture
def dns(monkeypatch):
    fake = FakeDNS()
    monkeypatch.setattr(targets, "resolve", fake)
    return fake


class RecordingBackend(httpcore.NetworkBackend):
    """The network under the guarded transport: records where it was asked to connect and which
    server name TLS was started for, then fails the connection (nothing leaves the test)."""

    def __init__(self) -> None:
        self.connects: list[tuple[str, int]] = []
        self.server_names: list[str] = []

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.connects.append((host, port))
        return RecordingStream(self)


class RecordingStream(httpcore.NetworkStream):
    def __init__(self, backend: RecordingBackend) -> None:
        self.backend = backend

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        self.backend.server_names.append(server_hostname)
        raise httpcore.ConnectError("test network: no TLS peer")

    def close(self) -> None:
        pass


# --- the address policy ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("169.254.169.254", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("168.63.129.16", "a cloud metadata address"),
        ("169.254.1.1", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("10.0.0.1", "a private address"),
        ("172.16.5.4", "a private address"),
        ("192.168.1.1", "a private address"),
        ("fd12:3456::1", "a private address"),
        ("127.0.0.1", "a loopback address"),
        ("127.8.9.10", "a loopback address"),
        ("::1", "a loopback address"),
        ("::ffff:10.0.0.1", "an IPv4-mapped address"),
        ("::ffff:127.0.0.1", "an IPv4-mapped address"),
        ("::ffff:93.184.215.14", "an IPv4-mapped address"),
        ("100.64.0.1", "a carrier-grade NAT address"),
        ("100.127.255.254", "a carrier-grade NAT address"),
        ("224.0.0.1", "a multicast address"),
        ("239.255.255.250", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("0.0.0.0", "an unspecified address"),
        ("::", "an unspecified address"),
        ("fec0::1", "a site-local address"),
        ("240.0.0.1", "a reserved address"),
        ("255.255.255.255", "a reserved address"),
        ("::10.0.0.1", "a reserved address"),
        ("2002:a00:1::", "a 6to4 or NAT64 form of 10.0.0.1, a private address"),
        ("64:ff9b::a9fe:a9fe", "a 6to4 or NAT64 form of 169.254.169.254, a cloud metadata address"),
        ("64:ff9b::7f00:1", "a 6to4 or NAT64 form of 127.0.0.1, a loopback address"),
        ("2002:5db8:d70e::", "an address that is not publicly routable"),
        ("2001::1", "an address that is not publicly routable"),
        ("0.1.2.3", "an address that is not publicly routable"),
        ("192.0.2.1", "an address that is not publicly routable"),
        ("2001:db8::1", "an address that is not publicly routable"),
    ],
)
def test_internal_addresses_are_refused_with_their_reason(address, reason):
    assert targets.address_problem(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", [PUBLIC_V4, PUBLIC_V6, "64:ff9b::5db8:d70e"])
def test_public_addresses_are_allowed(address):
    assert targets.address_problem(ipaddress.ip_address(address)) is None


def test_loopback_is_allowed_only_with_the_setting(settings):
    assert targets.address_problem(ipaddress.ip_address("127.0.0.1")) == "a loopback address"
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    for address in ("127.0.0.1", "::1"):
        assert targets.address_problem(ipaddress.ip_address(address)) is None
    # The setting allows loopback, not everything else that is local.
    for address in ("::ffff:127.0.0.1", "10.0.0.1", "169.254.169.254", "0.0.0.0"):
        assert targets.address_problem(ipaddress.ip_address(address)) is not None


def test_every_resolved_address_must_be_allowed(dns):
    dns.set(HOST, [PUBLIC_V4, PUBLIC_V6, "10.0.0.1"])
    with pytest.raises(targets.TargetRefused) as caught:
        targets.check_target(HOOK_URL)
    assert str(caught.value) == f"{HOST} resolves to 10.0.0.1, a private address."
    dns.set(HOST, [PUBLIC_V4, PUBLIC_V6])
    assert targets.check_target(HOOK_URL) == [ipaddress.ip_address(PUBLIC_V4), ipaddress.ip_address(PUBLIC_V6)]


def test_a_name_for_an_internal_address_is_refused_like_the_address(dns):
    dns.set("metadata.google.internal", ["169.254.169.254"])
    with pytest.raises(targets.TargetRefused, match=re.escape("resolves to 169.254.169.254, a cloud metadata address")):
        targets.check_target("https://metadata.google.internal/computeMetadata/v1/")


def test_the_real_resolver_reads_numeric_forms_as_the_socket_layer_does():
    # Decimal and short forms reach 127.0.0.1 through getaddrinfo without any DNS server.
    for host in ("2130706433", "127.1"):
        with pytest.raises(targets.TargetRefused, match=re.escape("resolves to 127.0.0.1, a loopback address")):
            targets.check_target(f"https://{host}/")


# --- the URL -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.partner.example/connex", "only sent over https"),
        ("http://localhost:8001/hooks", "only sent over https"),
        ("ftp://hooks.partner.example/", "is not an https:// URL"),
        ("https:///connex", "is not an https:// URL"),
        ("https://user:pw@hooks.partner.example/", "must not contain a user name or password"),
        ("https://hooks.partner.example:0/", "0 is not a valid port"),
        ("https://hooks.partner.example:99999/", "99999 is not a valid port"),
        ("https://[::1", "is not a valid URL"),
    ],
)
def test_url_rules(url, message):
    with pytest.raises(targets.TargetRefused, match=message):
        targets.check_url(url)


def test_plain_http_only_to_loopback_and_only_with_the_setting(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    for url in ("http://localhost:8001/hooks", "http://127.0.0.1:8001/hooks", "http://[::1]:8001/hooks"):
        targets.check_url(url)
    with pytest.raises(targets.TargetRefused, match="only sent over https"):
        targets.check_url("http://hooks.partner.example/connex")


# --- at save -----------------------------------------------------------------------------


def partner_form(webhook_url=HOOK_URL):
    """The partner's admin page with one endpoint in its webhook endpoints inline."""
    return {
        "name": "Acme",
        "primary_color": "#112233",
        "accent_color": "#445566",
        "theme": "light",
        "default_language": "en",
        "service_name": "Connex",
        "embed_chrome": "none",
        "embed_origins": "",
        "allow_run_now": "on",
        "is_active": "on",
        "api_keys-TOTAL_FORMS": "0",
        "api_keys-INITIAL_FORMS": "0",
        "api_keys-MIN_NUM_FORMS": "0",
        "api_keys-MAX_NUM_FORMS": "1000",
        "webhook_endpoints-TOTAL_FORMS": "1",
        "webhook_endpoints-INITIAL_FORMS": "0",
        "webhook_endpoints-MIN_NUM_FORMS": "0",
        "webhook_endpoints-MAX_NUM_FORMS": "1000",
        "webhook_endpoints-0-url": webhook_url,
        "webhook_endpoints-0-description": "",
        "webhook_endpoints-0-is_active": "on",
    }


def webhook_url_errors(response) -> list[str]:
    assert response.status_code == 200, "the form was expected to be refused"
    (endpoints,) = [
        inline for inline in response.context["inline_admin_formsets"] if inline.opts.model is WebhookEndpoint
    ]
    return endpoints.formset.errors[0]["url"]


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "reason"), FINDING_URLS.values(), ids=FINDING_URLS.keys())
def test_admin_refuses_the_findings_internal_urls(admin_client, dns, url, reason):
    response = admin_client.post("/admin/accounts/partner/add/", partner_form(webhook_url=url))
    (error,) = webhook_url_errors(response)
    assert reason in error
    assert not Partner.objects.filter(name="Acme").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (["::ffff:10.0.0.1"], f"{HOST} resolves to ::ffff:10.0.0.1, an IPv4-mapped address."),
        (["100.64.0.1"], f"{HOST} resolves to 100.64.0.1, a carrier-grade NAT address."),
        (["224.0.0.251"], f"{HOST} resolves to 224.0.0.251, a multicast address."),
        (["0.0.0.0"], f"{HOST} resolves to 0.0.0.0, an unspecified address."),
        ([PUBLIC_V4, "192.168.0.10"], f"{HOST} resolves to 192.168.0.10, a private address."),
    ],
    ids=["ipv4-mapped", "cgnat", "multicast", "unspecified", "public-and-private"],
)
def test_admin_refuses_a_host_name_that_resolves_inside(admin_client, dns, answer, message):
    dns.set(HOST, answer)
    response = admin_client.post("/admin/accounts/partner/add/", partner_form())
    assert webhook_url_errors(response) == [message]


@pytest.mark.django_db
def test_admin_reports_a_host_that_does_not_resolve(admin_client, dns):
    response = admin_client.post("/admin/accounts/partner/add/", partner_form())
    assert webhook_url_errors(response) == [f"{HOST} cannot be resolved (NXDOMAIN)."]


@pytest.mark.django_db
def test_admin_saves_a_public_https_url(admin_client, dns):
    dns.set(HOST, [PUBLIC_V4, PUBLIC_V6])
    response = admin_client.post("/admin/accounts/partner/add/", partner_form())
    assert response.status_code == 302
    (endpoint,) = Partner.objects.get(name="Acme").webhook_endpoints.all()
    assert endpoint.url == HOOK_URL


@pytest.mark.django_db
def test_admin_takes_plain_http_to_localhost_only_with_the_setting(admin_client, dns, settings):
    dns.set("localhost", ["127.0.0.1", "::1"])
    data = partner_form(webhook_url="http://localhost:8001/hooks")
    assert "only sent over https" in webhook_url_errors(admin_client.post("/admin/accounts/partner/add/", data))[0]
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    assert admin_client.post("/admin/accounts/partner/add/", data).status_code == 302


def test_the_model_validator_refuses_with_a_field_error(dns):
    dns.set(HOST, ["10.1.2.3"])
    endpoint = WebhookEndpoint(url=HOOK_URL)
    with pytest.raises(ValidationError) as caught:
        endpoint.clean_fields(exclude=["partner", "secret_encrypted"])
    assert caught.value.message_dict["url"] == [f"{HOST} resolves to 10.1.2.3, a private address."]
    with pytest.raises(ValidationError) as caught:
        validate_webhook_url("https://169.254.169.254/")
    assert caught.value.code == "webhook_target"


# --- at delivery -------------------------------------------------------------------------


@pytest.fixture
def partner(db, dns):
    dns.set(HOST, [PUBLIC_V4])
    partner = Partner.objects.create(name="Acme Software")
    endpoint = WebhookEndpoint(partner=partner, url=HOOK_URL)
    endpoint.set_secret(SECRET)
    endpoint.full_clean()
    endpoint.save()
    return partner


@pytest.fixture
def event(partner):
    merchant = Merchant.objects.create(name="Trail & Co", partner=partner, external_id="acme-42")
    return events.emit(EventType.SETTINGS_SAVED, merchant=merchant, data={"connection_id": 7, "changed_settings": []})


def send(event, transport: httpx.BaseTransport):
    attempt = event.deliveries.get(state=DeliveryState.PENDING)
    with delivery.transport_override(transport):
        deliver.call(attempt.pk)
    attempt.refresh_from_db()
    return attempt


def assert_refused(attempt, reason):
    assert attempt.state == DeliveryState.REFUSED
    assert reason in attempt.error
    assert "Nothing was sent." in attempt.error
    assert attempt.status_code is None
    assert attempt.response_excerpt == ""
    assert attempt.next_retry_at is None
    assert attempt.event.deliveries.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "reason"), FINDING_URLS.values(), ids=FINDING_URLS.keys())
def test_delivery_refuses_the_findings_urls_saved_before_the_check(event, partner, url, reason):
    # Saved without validation, as rows stored before this check existed were.
    WebhookEndpoint.objects.filter(partner=partner).update(url=url)
    network = RecordingBackend()
    attempt = send(event, targets.GuardedTransport(network_backend=network))
    assert_refused(attempt, reason)
    assert network.connects == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (["10.0.0.1"], "resolves to 10.0.0.1, a private address"),
        (["169.254.169.254"], "resolves to 169.254.169.254, a cloud metadata address"),
        (["127.0.0.1"], "resolves to 127.0.0.1, a loopback address"),
        (["::1"], "resolves to ::1, a loopback address"),
        (["::ffff:10.0.0.1"], "resolves to ::ffff:10.0.0.1, an IPv4-mapped address"),
        (["100.64.0.1"], "resolves to 100.64.0.1, a carrier-grade NAT address"),
        (["ff05::1:3"], "resolves to ff05::1:3, a multicast address"),
        (["0.0.0.0"], "resolves to 0.0.0.0, an unspecified address"),
        ([PUBLIC_V4, "10.0.0.1"], "resolves to 10.0.0.1, a private address"),
    ],
    ids=[
        "private",
        "metadata",
        "loopback",
        "ipv6-loopback",
        "ipv4-mapped",
        "cgnat",
        "multicast",
        "unspecified",
        "mixed",
    ],
)
def test_delivery_refuses_a_name_rebound_after_it_was_saved(event, dns, answer, reason):
    dns.set(HOST, answer)
    network = RecordingBackend()
    attempt = send(event, targets.GuardedTransport(network_backend=network))
    assert_refused(attempt, f"{HOST} {reason}")
    assert network.connects == []
    assert dns.lookups == [HOST, HOST], "resolved once at save and once at delivery"


@pytest.mark.django_db
def test_delivery_connects_to_the_checked_address_with_tls_for_the_host_name(event, dns):
    dns.set(HOST, [PUBLIC_V6, PUBLIC_V4])
    network = RecordingBackend()
    attempt = send(event, targets.GuardedTransport(network_backend=network))
    # By address, never by name (no second lookup to rebind); TLS is for the name in the URL.
    assert network.connects == [(PUBLIC_V6, 443)]
    assert network.server_names == [HOST]
    assert attempt.state == DeliveryState.FAILED
    assert attempt.next_retry_at is not None, "a connection failure is retried"


@pytest.mark.django_db
def test_delivery_tries_the_next_checked_address_when_one_does_not_connect(event, dns):
    dns.set(HOST, [PUBLIC_V6, PUBLIC_V4])

    class FirstAddressDown(RecordingBackend):
        def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
            self.connects.append((host, port))
            if host == PUBLIC_V6:
                raise httpcore.ConnectError("unreachable")
            return RecordingStream(self)

    network = FirstAddressDown()
    send(event, targets.GuardedTransport(network_backend=network))
    assert network.connects == [(PUBLIC_V6, 443), (PUBLIC_V4, 443)]
    assert network.server_names == [HOST]


@pytest.mark.django_db
def test_a_dns_failure_at_delivery_is_a_retried_connection_error(event, dns):
    dns.answers.pop(HOST)
    network = RecordingBackend()
    attempt = send(event, targets.GuardedTransport(network_backend=network))
    assert attempt.state == DeliveryState.FAILED
    assert "ConnectError" in attempt.error and "cannot be resolved" in attempt.error
    assert attempt.next_retry_at is not None
    assert network.connects == []


@pytest.mark.django_db
def test_the_portals_own_client_guards_its_connections(event, partner, monkeypatch):
    # No override: the client every worker uses. A loopback target must not get a connection.
    monkeypatch.setattr(delivery, "_override_client", None)
    with Receiver() as internal:
        WebhookEndpoint.objects.filter(partner=partner).update(url=internal.url.replace("http:", "https:"))
        attempt = event.deliveries.get()
        deliver.call(attempt.pk)
    attempt.refresh_from_db()
    assert_refused(attempt, "127.0.0.1 is a loopback address")
    assert internal.received == []


# --- end to end over TLS, through a real socket ------------------------------------------


@pytest.fixture
def tls():
    """A CA the test trusts and a server certificate for HOST, served on 127.0.0.1."""
    authority = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(HOST).configure_cert(server)
    client = ssl.create_default_context()
    authority.configure_trust(client)
    return server, client


@pytest.mark.django_db
def test_tls_delivery_reaches_the_checked_address_under_the_host_name(event, partner, dns, settings, tls):
    server_context, client_context = tls
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    with Receiver(tls=server_context, host=HOST) as receiver:
        WebhookEndpoint.objects.filter(partner=partner).update(url=receiver.url)
        dns.set(HOST, ["127.0.0.1"])
        attempt = send(event, targets.GuardedTransport(verify=client_context))
    assert attempt.state == DeliveryState.SUCCEEDED, attempt.error
    ((headers, body),) = receiver.received
    assert headers["host"] == f"{HOST}:{receiver.server.server_port}"
    assert receiver.server_names == [HOST]
    assert verify_request(SECRET, headers, body)


@pytest.mark.django_db
def test_tls_delivery_refuses_loopback_without_the_setting(event, partner, dns, tls):
    server_context, client_context = tls
    with Receiver(tls=server_context, host=HOST) as receiver:
        WebhookEndpoint.objects.filter(partner=partner).update(url=receiver.url)
        dns.set(HOST, ["127.0.0.1"])
        attempt = send(event, targets.GuardedTransport(verify=client_context))
    assert_refused(attempt, f"{HOST} resolves to 127.0.0.1, a loopback address")
    assert receiver.received == []
    assert receiver.server_names == []


@pytest.mark.django_db
def test_a_redirect_is_a_failed_attempt_and_is_not_followed(event, partner, dns, settings, tls):
    server_context, client_context = tls
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    with Receiver(tls=server_context, host=HOST, status=307, headers={"Location": "https://169.254.169.254/"}) as rx:
        WebhookEndpoint.objects.filter(partner=partner).update(url=rx.url)
        dns.set(HOST, ["127.0.0.1"])
        attempt = send(event, targets.GuardedTransport(verify=client_context))
    assert len(rx.received) == 1
    assert attempt.state == DeliveryState.FAILED
    assert attempt.status_code == 307
    assert "redirects are not followed" in attempt.error
    assert attempt.next_retry_at is None
