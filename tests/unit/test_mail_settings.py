"""Mail settings: a wrong or missing one stops start-up with one line that names it, and a
secret in it is never repeated."""

from __future__ import annotations

import pytest

from settings import SettingsError, load_settings

SMTP = {"MAIL_BACKEND": "smtp", "MAIL_FROM": "Fabrikam <onboarding@fabrikam.example>"}
GRAPH = {
    "MAIL_BACKEND": "graph",
    "MAIL_FROM": "onboarding@fabrikam.example",
    "PARTNER_TENANT_ID": "6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab",
    "PARTNER_CLIENT_ID": "0a1b2c3d-1111-4222-8333-444455556666",
    "PARTNER_CLIENT_SECRET": "s3cret",
}


def settings_with(monkeypatch, tmp_path, **env):
    monkeypatch.chdir(tmp_path)  # no .env
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings()


@pytest.mark.parametrize(
    ("env", "named", "says"),
    [
        (SMTP, "SMTP_URL", "MAIL_BACKEND=smtp needs it"),
        ({**SMTP, "SMTP_URL": "http://user:pw@host"}, "SMTP_URL", "smtp://"),
        ({**SMTP, "SMTP_URL": "smtp://user:pw@:587"}, "SMTP_URL", "host is missing"),
        ({**SMTP, "SMTP_URL": "smtp://user:pw@host:99999"}, "SMTP_URL", "port"),
        ({"MAIL_BACKEND": "smtp", "SMTP_URL": "smtp://h:587"}, "MAIL_FROM", "needs the sender"),
        ({**SMTP, "SMTP_URL": "smtp://h", "MAIL_FROM": "not an address"}, "MAIL_FROM", "not an"),
        ({**SMTP, "SMTP_URL": "smtp://h", "MAIL_REPLY_TO": "nope"}, "MAIL_REPLY_TO", "not an"),
        ({"MAIL_BACKEND": "fax"}, "MAIL_BACKEND", "'outbox', 'smtp' or 'graph'"),
        ({**GRAPH, "PARTNER_CLIENT_ID": ""}, "PARTNER_CLIENT_ID", "Entra app id"),
        (
            {**GRAPH, "PARTNER_TENANT_ID": "00000000-0000-4000-8000-00000000c0de"},
            "PARTNER_CLIENT_ID",
            "PARTNER_TENANT_ID",
        ),
        ({**GRAPH, "PARTNER_CLIENT_SECRET": ""}, "PARTNER_CLIENT_CERTIFICATE", "or PARTNER_"),
        ({**GRAPH, "PARTNER_CLIENT_CERTIFICATE": "/no/such.pem"}, "PARTNER_CLIENT_CERTIFICATE", ""),
    ],
)
def test_a_wrong_mail_setting_is_one_line_naming_it(monkeypatch, tmp_path, env, named, says):
    with pytest.raises(SettingsError) as wrong:
        settings_with(monkeypatch, tmp_path, **env)
    line = str(wrong.value)
    assert "\n" not in line and line.startswith(f"Setting {named} is wrong"), line
    assert says in line
    assert "pw" not in line and "s3cret" not in line


def test_good_mail_settings_are_taken(monkeypatch, tmp_path):
    smtp = settings_with(
        monkeypatch, tmp_path, **SMTP, SMTP_URL="smtps://u%40x:p%3Aw@mail.example:465"
    )
    assert smtp.mail_backend == "smtp" and smtp.smtp_starttls is True
    assert "p%3Aw" not in repr(smtp)  # SecretStr
    graph = settings_with(monkeypatch, tmp_path, **GRAPH)
    assert graph.graph_url == "https://graph.microsoft.com"
    assert graph.microsoft_login_url == "https://login.microsoftonline.com"
    assert "s3cret" not in repr(graph)
