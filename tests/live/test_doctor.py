"""`python app.py doctor` against the fake, configured right and then broken one way at a
time: one line per check, ✓ or ✗ with the fix, exit status 0 only when all pass; against the
sandbox every check passes and says the sandbox answers it."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from adapters.microsoft.live.backend import RESELLER_LINK_KEY, STATE_KIND
from adapters.microsoft.live.registration import STATE_KEY
from adapters.microsoft.live.webhooks import OUR_EVENTS
from app import main
from storage.adapter_state import AdapterState
from storage.database import create_engine_for

ROOT = Path(__file__).resolve().parents[2]
URL = "https://bot.fabrikam.example/webhooks/partner-center"
CHECKS = 9 + 1  # the fake's two groups are two lines


@pytest.fixture
def configured(cloud, tmp_path, monkeypatch, bot_db):
    """Everything right: the link stored, the webhooks registered, mail over Graph."""
    monkeypatch.chdir(tmp_path)
    env = {
        **cloud.settings_env(),
        "DATABASE_URL": bot_db,
        "MAIL_BACKEND": "graph",
        "MAIL_FROM": "Fabrikam Onboarding <onboarding@fabrikam.example>",
        "LOG_LEVEL": "ERROR",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    cloud.granted_permissions.add("Mail.Send")
    state = AdapterState(create_engine_for(env["DATABASE_URL"]))
    state.put(STATE_KIND, RESELLER_LINK_KEY, {"url": cloud.reseller_link})
    state.put(STATE_KIND, STATE_KEY, {"url": URL})
    cloud.registration = {"WebhookUrl": URL, "WebhookEvents": list(OUR_EVENTS)}
    return env


def doctor(capsys):
    status = main(["doctor"])
    lines = capsys.readouterr().out.splitlines()
    return status, lines[:-1], lines[-1]


def failing(lines):
    return [line for line in lines if line.startswith("✗")]


def test_a_right_configuration_passes_every_check(configured, capsys):
    status, lines, summary = doctor(capsys)
    assert failing(lines) == [] and status == 0, lines
    assert summary == f"doctor: {CHECKS} of {CHECKS} checks pass"
    assert lines[0].startswith("✓ Settings: MICROSOFT_BACKEND=live, app ")
    assert "with the certificate " in lines[0]
    assert "✓ Partner Customer Delegated Administration service principal: provisioned " in (
        "\n".join(lines)
    )
    assert any(
        line.startswith("✓ GDAP_ROLE_GROUPS: Helpdesk Administrator gets ") for line in lines
    )


def break_credential(cloud, monkeypatch):
    cloud.registered_certificate_pem = cloud.new_certificate_pem()


def break_registration_url(cloud, monkeypatch):
    cloud.registration = {"WebhookUrl": "https://cipp.example/hook", "WebhookEvents": ["x"]}


@pytest.mark.parametrize(
    ("breaks", "expected"),
    [
        (
            lambda cloud, mp: (mp.delenv("PARTNER_CLIENT_ID"), mp.setenv("MAIL_BACKEND", "outbox")),
            "✗ Setting PARTNER_CLIENT_ID is missing: the Application (client) ID",
        ),
        (
            break_credential,
            "✗ Graph token: Microsoft refused the app's credentials (invalid_client",
        ),
        (
            lambda cloud, mp: setattr(cloud, "partner_center_app_registered", False),
            "✗ Partner Center token: Partner Center refuses the app (401 Unauthorized: the "
            "application",
        ),
        (
            lambda cloud, mp: cloud.granted_permissions.discard(
                "CrossTenantInformation.ReadBasic.All"
            ),
            "✗ Graph permissions: the app lacks CrossTenantInformation.ReadBasic.All. Fix: Entra "
            "admin center > App registrations",
        ),
        (
            lambda cloud, mp: setattr(cloud, "service_principal_provisioned", False),
            "✗ Partner Customer Delegated Administration service principal: missing in your tenant",
        ),
        (
            lambda cloud, mp: AdapterState(
                create_engine_for(__import__("os").environ["DATABASE_URL"])
            ).put(STATE_KIND, RESELLER_LINK_KEY, {}),
            "✗ Reseller invitation link: none stored. Fix: run python app.py partner-link",
        ),
        (
            lambda cloud, mp: setattr(cloud, "registration", None),
            "✗ Webhook registration: none, so only polling follows Microsoft. Fix: run python "
            "app.py webhooks register https://YOUR-HOST/webhooks/partner-center",
        ),
        (
            break_registration_url,
            f"✗ Webhook registration: Partner Center sends events to https://cipp.example/hook, "
            f"not to the bot ({URL})",
        ),
        (
            lambda cloud, mp: cloud.groups.pop(next(iter(cloud.groups))),
            "✗ GDAP_ROLE_GROUPS: no group ",
        ),
        (
            lambda cloud, mp: mp.setenv("MAIL_BACKEND", "outbox"),
            "✗ Mail: MAIL_BACKEND=outbox keeps mail in the bot, so customers receive no invitation",
        ),
        (
            lambda cloud, mp: cloud.granted_permissions.discard("Mail.Send"),
            "✗ Mail (graph): the app lacks Mail.Send.",
        ),
    ],
)
def test_each_misconfiguration_fails_its_check_with_the_fix(
    cloud, configured, monkeypatch, capsys, breaks, expected
):
    breaks(cloud, monkeypatch)
    status, lines, summary = doctor(capsys)
    assert status == 1
    bad = failing(lines)
    assert any(line.startswith(expected) for line in bad), bad
    assert summary.startswith("doctor: ") and summary.endswith(" checks pass")
    assert not cloud.schema_errors


def test_incomplete_settings_leave_the_other_checks_untried(configured, monkeypatch, capsys):
    monkeypatch.delenv("PARTNER_CLIENT_CERTIFICATE")
    monkeypatch.setenv("MAIL_BACKEND", "outbox")
    status, lines, _ = doctor(capsys)
    assert status == 1
    assert lines[0].startswith("✗ Setting PARTNER_CLIENT_CERTIFICATE is missing")
    assert "✗ Graph token: not tried, the settings are incomplete" in lines


def test_a_group_that_does_not_exist_is_named_with_its_roles(
    cloud, configured, monkeypatch, capsys
):
    group = str(uuid.uuid4())
    monkeypatch.setenv("GDAP_ROLE_GROUPS", f"Global Reader={group}")
    status, lines, _ = doctor(capsys)
    assert status == 1
    assert f"✗ GDAP_ROLE_GROUPS: no group {group} in your tenant (Global Reader)" in "\n".join(
        lines
    )


def test_against_the_sandbox_every_check_passes(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "doctor"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"},
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert all(line.startswith("✓") for line in lines[:-1]), lines
    assert "✓ Graph token: the sandbox answers it (MICROSOFT_BACKEND=sandbox)" in lines
    assert lines[-1] == f"doctor: {len(lines) - 1} of {len(lines) - 1} checks pass"


def test_an_expired_app_certificate_is_named_with_its_thumbprint(
    configured, monkeypatch, capsys, tmp_path
):
    from datetime import timedelta

    from tests.fakes.microsoft_cloud.tls import new_app_certificate_pem

    pem = tmp_path / "expired.pem"
    pem.write_text(
        new_app_certificate_pem(valid_from=timedelta(days=-400), valid_until=timedelta(days=-35)),
        encoding="ascii",
    )
    monkeypatch.setenv("PARTNER_CLIENT_CERTIFICATE", str(pem))
    status, lines, _ = doctor(capsys)
    assert status == 1
    assert lines[0].startswith("✗ Settings: the certificate ") and " expired on " in lines[0]
