"""The two setup verbs as an admin runs them: `python app.py partner-link` (a partner user
signs in with the device code; the link Partner Center gives is stored, the user's tokens are
not) and `python app.py webhooks register URL` (merged into the partner's one registration,
another tool's URL never taken silently)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from adapters.microsoft.live.webhooks import OUR_EVENTS
from app import build, main
from bot.errors import ProviderError
from settings import load_settings
from storage.models import AdapterStateRow
from tests.live.conftest import enroll, eventually

URL = "https://bot.fabrikam.example/webhooks/partner-center"


@pytest.fixture
def env(cloud, tmp_path, monkeypatch, bot_db):
    monkeypatch.chdir(tmp_path)
    values = {
        **cloud.settings_env(),
        "DATABASE_URL": bot_db,
        "LOG_LEVEL": "ERROR",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def partner_link(cloud, sign_in):
    """Runs the verb; `sign_in` is what the human does once the code is shown."""
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(main(["partner-link"])))
    thread.start()
    assert eventually(cloud.device_user_code), "no device code was asked for"
    sign_in()
    thread.join(30)
    return result[0]


def stored(env):
    bot = build(load_settings())
    with bot.engine.connect() as conn:
        rows = conn.execute(select(AdapterStateRow.c.data)).scalars().all()
    return bot, [dict(r) for r in rows]


def test_partner_link_stores_the_link_and_no_token(cloud, env, capsys):
    assert partner_link(cloud, lambda: cloud.complete_device_sign_in(mfa=True)) == 0
    out = capsys.readouterr().out
    assert "enter the code" in out and cloud.device_user_code() is None
    assert f"Reseller invitation link stored: {cloud.reseller_link}" in out
    bot, rows = stored(env)
    assert bot.live.backend.reseller_invitation_url() == cloud.reseller_link  # verbatim
    assert {"url": cloud.reseller_link} in [{"url": r.get("url")} for r in rows if "stored_at" in r]
    assert not any("eyJ" in str(r) or "refresh" in str(r).lower() for r in rows)  # no token kept
    [asked] = cloud.requests_to("GET", r"/v1/customers/relationshiprequests$")
    assert asked.headers["MS-RequestId"] and asked.status == 200


def test_a_sign_in_without_mfa_says_what_to_do_and_stores_nothing(cloud, env, capsys):
    assert partner_link(cloud, lambda: cloud.complete_device_sign_in(mfa=False)) == 1
    out = capsys.readouterr().out
    assert "Partner Center refused the signed-in user (401 900421" in out
    assert (
        "sign in with a user that has MFA" in out and "run python app.py partner-link again" in out
    )
    bot, _ = stored(env)
    with pytest.raises(ProviderError, match=r"an admin runs python app\.py partner-link") as none:
        bot.live.backend.reseller_invitation_url()
    assert none.value.permanent is True


def test_a_declined_sign_in_says_so(cloud, env, capsys):
    assert partner_link(cloud, cloud.decline_device_sign_in) == 1
    assert "run python app.py partner-link again" in capsys.readouterr().out


def test_an_app_without_public_client_flows_is_told_to_allow_them(cloud, env, capsys):
    cloud.public_client_flows = False
    assert main(["partner-link"]) == 1
    out = capsys.readouterr().out
    assert "turn on Authentication > Allow public client flows" in out
    assert "run python app.py partner-link again" in out


def test_webhooks_register_merges_and_never_takes_another_url_silently(cloud, env, capsys):
    assert main(["webhooks", "register", URL]) == 0
    assert capsys.readouterr().out.startswith(f"Registered {URL} for {len(OUR_EVENTS)} events.")
    assert cloud.registration["WebhookUrl"] == URL
    assert set(cloud.registration["WebhookEvents"]) == set(OUR_EVENTS)
    assert main(["webhooks", "register", URL]) == 0
    assert capsys.readouterr().out.startswith("Nothing to change")

    other = "https://cipp.example/api/PublicWebhooks?CIPPID=7"
    cloud.registration = {"WebhookUrl": other, "WebhookEvents": ["invoice-ready"]}
    assert main(["webhooks", "register", URL]) == 1
    out = capsys.readouterr().out
    assert f"Partner Center already sends this partner's webhooks to {other}" in out
    assert "--replace-url" in out and cloud.registration["WebhookUrl"] == other
    assert main(["webhooks", "register", URL, "--replace-url"]) == 0
    assert cloud.registration["WebhookUrl"] == URL
    assert cloud.registration["WebhookEvents"][0] == "invoice-ready"  # kept
    assert "Kept (another tool's): invoice-ready." in capsys.readouterr().out
    writes = [r for r in cloud.requests if r.path.endswith("/registration") and r.method != "GET"]
    assert [r.method for r in writes] == ["POST", "PUT"]
    assert not cloud.schema_errors


def test_webhooks_register_wants_https_and_the_live_backend(cloud, env, capsys, monkeypatch):
    assert main(["webhooks", "register", "http://bot.example/webhooks/partner-center"]) == 1
    assert "is not an https:// URL" in capsys.readouterr().out
    monkeypatch.setenv("MICROSOFT_BACKEND", "sandbox")
    assert main(["webhooks", "register", URL]) == 2
    assert "is for MICROSOFT_BACKEND=live" in capsys.readouterr().err


def test_enrolling_before_any_link_is_stored_tells_the_admin_what_to_run(cloud, live_bot):
    cloud.add_tenant("abctech.com", "ABC Technologies Inc.")
    bot = live_bot(partner_reseller_link="")
    with pytest.raises(ProviderError) as no_link:
        enroll(bot)
    assert str(no_link.value).startswith(
        "No reseller invitation link is stored yet: an admin runs python app.py partner-link"
    )
    assert bot.service.customers.dashboard().total == 0  # nobody enrolled without a link
