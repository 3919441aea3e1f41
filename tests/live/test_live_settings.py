"""MICROSOFT_BACKEND=live refuses to start without what it needs, one line per missing or
wrong setting naming it and what it is for; the sandbox (the default) needs none of them.
GDAP_ROLE_GROUPS is read as the domain takes it (role template id -> group object id)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import trustme

from adapters.microsoft.live.tokens import load_certificate
from settings import Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]
HELPDESK = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
USER_ADMIN = "fe930be7-5e62-47db-91af-98c3a49a38b1"
GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
GROUP = "0e9b0b5f-0000-4a5d-9c1d-1234567890ab"
OTHER_GROUP = "5b6c7d8e-1111-4222-8333-444455556666"
SECRET = "live-secret-Qq9!zz"


def settings_with(monkeypatch, tmp_path, **env):
    monkeypatch.chdir(tmp_path)  # no .env
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings()


def test_live_without_its_settings_names_each_one_on_its_own_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "MICROSOFT_BACKEND": "live", "PARTNER_CLIENT_SECRET": ""}
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "console"],
        input="",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"},
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert [line.split()[2] for line in lines] == [
        "PARTNER_TENANT_ID",
        "PARTNER_CLIENT_ID",
        "PARTNER_CLIENT_CERTIFICATE",
    ], lines
    assert "Tenant ID" in lines[0]
    assert "Application (client) ID" in lines[1]
    assert "PARTNER_CLIENT_SECRET" in lines[2]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "bot.db").exists()  # refused before anything was opened


def test_a_wrong_live_setting_is_named_and_a_secret_is_never_echoed(monkeypatch, tmp_path):
    with pytest.raises(SettingsError) as wrong:
        settings_with(
            monkeypatch,
            tmp_path,
            MICROSOFT_BACKEND="live",
            PARTNER_TENANT_ID="contoso",
            PARTNER_CLIENT_ID="my-app",
            PARTNER_CLIENT_SECRET=SECRET,
            GRAPH_URL="http://graph.example",
        )
    lines = str(wrong.value).splitlines()
    assert lines == [
        "Setting PARTNER_TENANT_ID is wrong: 'contoso' is not a tenant id (GUID).",
        "Setting PARTNER_CLIENT_ID is wrong: 'my-app' is not an app id (GUID).",
        "Setting GRAPH_URL is wrong: the live backend talks to Microsoft over https only.",
    ]
    assert SECRET not in str(wrong.value)


def test_the_sandbox_needs_none_of_them(monkeypatch, tmp_path):
    settings = settings_with(monkeypatch, tmp_path)
    assert settings.microsoft_backend == "sandbox"
    assert settings.role_groups == {}
    assert settings.p2p_transfer_type == 5
    assert settings.partner_center_webhook_cert_hosts == "3psostorageacct.blob.core.windows.net"


def test_role_groups_by_name_in_any_case_or_template_id_global_admin_included(
    monkeypatch, tmp_path
):
    settings = settings_with(
        monkeypatch,
        tmp_path,
        GDAP_ROLE_GROUPS=(
            f"helpdesk  administrator={GROUP.upper()}; {USER_ADMIN}={GROUP};"
            f"Global Administrator={OTHER_GROUP}"
        ),
    )
    assert settings.role_groups == {HELPDESK: GROUP, USER_ADMIN: GROUP, GLOBAL_ADMIN: OTHER_GROUP}


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (f"Helpdesk Admin={GROUP}", "'Helpdesk Admin' is not a GDAP role the bot offers"),
        ("Helpdesk Administrator=helpdesk-team", "the group of Helpdesk Administrator"),
        ("Helpdesk Administrator", "'Helpdesk Administrator' is not ROLE=GROUP ID"),
        (
            f"Helpdesk Administrator={GROUP};helpdesk administrator={OTHER_GROUP}",
            "Helpdesk Administrator is mapped twice",
        ),
    ],
)
def test_a_bad_role_group_entry_refuses_start_up_naming_it(monkeypatch, tmp_path, value, says):
    with pytest.raises(SettingsError) as wrong:
        settings_with(monkeypatch, tmp_path, GDAP_ROLE_GROUPS=value)
    line = str(wrong.value)
    assert line.startswith("Setting GDAP_ROLE_GROUPS is wrong: ") and "\n" not in line
    assert says in line


def test_p2p_transfer_type_is_3_or_5(monkeypatch, tmp_path):
    assert settings_with(monkeypatch, tmp_path, P2P_TRANSFER_TYPE="3").p2p_transfer_type == 3
    with pytest.raises(SettingsError, match="Setting P2P_TRANSFER_TYPE is wrong: use 5"):
        settings_with(monkeypatch, tmp_path, P2P_TRANSFER_TYPE="4")


def test_a_certificate_is_a_path_or_pem_text_and_its_thumbprint_is_entras(tmp_path):
    rsa = trustme.KeyType.RSA
    leaf = trustme.CA(key_type=rsa).issue_cert("onboarding-bot", key_type=rsa)
    pem = leaf.private_key_pem.bytes().decode() + leaf.cert_chain_pems[0].bytes().decode()
    path = tmp_path / "app.pem"
    path.write_text(pem)
    from_path, from_text = load_certificate(str(path)), load_certificate(pem)
    assert from_path.thumbprint == from_text.thumbprint
    assert len(from_path.thumbprint) == 40 and from_path.thumbprint == from_path.thumbprint.upper()
    assert from_path.msal_credential() == {
        "private_key": pem,
        "thumbprint": from_path.thumbprint,
    }
    other = trustme.CA(key_type=rsa).issue_cert("someone-else", key_type=rsa)
    mismatched = leaf.private_key_pem.bytes().decode() + other.cert_chain_pems[0].bytes().decode()
    with pytest.raises(ValueError, match="does not belong to its certificate"):
        load_certificate(mismatched)
    settings = Settings(_env_file=None, partner_client_certificate=pem)
    assert settings.partner_client_certificate is not None
