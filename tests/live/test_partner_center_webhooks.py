"""`POST /webhooks/partner-center` on the bot's real aiohttp server, called as Partner Center
calls it (the fake signs the body with its test chain) and as an attacker would: only a call
Microsoft signed, with a certificate from an allowed host that chains to a trusted root and
has Microsoft's issuer, over the exact body, once, changes anything. Each refusal is one log
line saying why, and the body never reaches the log."""

from __future__ import annotations

import base64
import json
import logging

import httpx
import pytest

from tests.live.conftest import enroll, eventually, log_of, serving

EVENT_TEXT = "reseller-relationship-accepted-by-customer"


@pytest.fixture
def site(cloud, live_bot):
    tenant = cloud.add_tenant("abctech.com", "ABC Technologies Inc.")
    bot = live_bot()
    enroll(bot)
    cloud.registration = {
        "WebhookUrl": "https://bot.example/webhooks/partner-center",
        "WebhookEvents": [EVENT_TEXT],
    }
    cloud.accept_reseller("abctech.com", email="john.doe@abctech.com")
    [event] = cloud.queued_events
    with serving(bot) as base:
        yield bot, base + "/webhooks/partner-center", json.dumps(event).encode(), tenant


def post(url, body, headers):
    return httpx.post(url, content=body, headers={"Content-Type": "application/json", **headers})


def reseller(bot):
    return bot.service.customers.card("abctech.com").row.reseller


def refused_quietly(bot, response, status=401):
    assert response.status_code == status
    assert reseller(bot) == "In Progress"
    assert len(log_of(bot, "abctech.com")) == 1  # only the enrollment


def test_a_signed_event_is_taken_and_the_customer_re_read(cloud, site):
    bot, url, body, _ = site
    assert post(url, body, cloud.sign(body)).status_code == 200
    assert eventually(lambda: reseller(bot) == "Established")


def test_the_x_ms_signature_variant_and_a_bom_are_accepted(cloud, site):
    bot, url, body, _ = site
    headers = cloud.sign(body, in_ms_signature=True)
    assert "Authorization" not in headers
    assert post(url, b"\xef\xbb\xbf" + body, headers).status_code == 200
    assert eventually(lambda: reseller(bot) == "Established")


def test_a_replay_is_refused(cloud, site, caplog):
    bot, url, body, _ = site
    headers = cloud.sign(body)
    assert post(url, body, headers).status_code == 200
    assert eventually(lambda: reseller(bot) == "Established")
    with caplog.at_level(logging.WARNING, "onboarding.webhooks"):
        assert post(url, body, headers).status_code == 401
    assert f"{EVENT_TEXT} already delivered (a replay)" in caplog.text
    assert len([m for m in log_of(bot, "abctech.com") if "Established" in m]) == 1


def test_a_tampered_body_is_refused(cloud, site, caplog):
    bot, url, body, tenant = site
    headers = cloud.sign(body)
    tampered = body.replace(tenant.encode(), b"00000000-0000-4000-8000-000000000000")
    with caplog.at_level(logging.WARNING, "onboarding.webhooks"):
        refused_quietly(bot, post(url, tampered, headers))
    assert "the signature does not match the body" in caplog.text
    assert "00000000-0000-4000-8000-000000000000" not in caplog.text  # the body is not logged


def test_a_forged_signature_is_refused(cloud, site):
    bot, url, body, _ = site
    headers = cloud.sign(body)
    headers["Authorization"] = "Signature " + base64.b64encode(b"\x01" * 256).decode()
    refused_quietly(bot, post(url, body, headers))


@pytest.mark.parametrize(
    ("chain", "says"),
    [
        ("wrong-issuer", "issuer is not Microsoft Corporation"),
        ("untrusted", "does not chain to a trusted root"),
        ("expired", "the signing certificate is not valid now"),
    ],
)
def test_a_certificate_not_microsofts_is_refused(cloud, site, caplog, chain, says):
    bot, url, body, _ = site
    with caplog.at_level(logging.WARNING, "onboarding.webhooks"):
        refused_quietly(bot, post(url, body, cloud.sign(body, chain=chain)))
    assert says in caplog.text


def test_a_signer_under_another_name_is_accepted_and_logged(cloud, site, caplog):
    bot, url, body, _ = site
    with caplog.at_level(logging.WARNING, "onboarding.webhooks"):
        assert post(url, body, cloud.sign(body, chain="other-subject")).status_code == 200
    assert "is issued to " in caplog.text and "not pcnotifications-dispatch" in caplog.text
    assert eventually(lambda: reseller(bot) == "Established")


def test_a_certificate_from_a_host_not_allowed_is_never_fetched(cloud, site, caplog):
    bot, url, body, _ = site
    fetched = len([r for r in cloud.requests if r.server == "cert"])
    headers = cloud.sign(body, cert_host=cloud.disallowed_cert_host)
    with caplog.at_level(logging.WARNING, "onboarding.webhooks"):
        refused_quietly(bot, post(url, body, headers))
    assert len([r for r in cloud.requests if r.server == "cert"]) == fetched
    assert "certificate URL host not allowed (127.0.0.1:" in caplog.text
    plain = cloud.sign(body, certificate_url=cloud.certificate_url().replace("https:", "http:"))
    refused_quietly(bot, post(url, body, plain))


@pytest.mark.parametrize(
    ("drop", "status"),
    [
        ("Authorization", 401),
        ("X-MS-Certificate-Url", 400),
        ("X-MS-Signature-Algorithm", 400),
    ],
)
def test_missing_signature_headers_are_refused_as_microsofts_sample_does(cloud, site, drop, status):
    bot, url, body, _ = site
    headers = {k: v for k, v in cloud.sign(body).items() if k != drop}
    refused_quietly(bot, post(url, body, headers), status)


def test_another_authorization_scheme_is_refused(cloud, site):
    bot, url, body, _ = site
    headers = cloud.sign(body)
    headers["Authorization"] = headers["Authorization"].replace("Signature", "Bearer")
    refused_quietly(bot, post(url, body, headers))


def test_the_certificate_is_fetched_once_and_reused(cloud, site):
    _, url, body, _ = site
    assert post(url, body, cloud.sign(body)).status_code == 200
    other = json.loads(body)
    other["ResourceChangeUtcDate"] = other["ResourceChangeUtcDate"].replace("09:", "10:")
    second = json.dumps(other).encode()
    assert post(url, second, cloud.sign(second)).status_code == 200
    assert len([r for r in cloud.requests if r.server == "cert"]) == 1
