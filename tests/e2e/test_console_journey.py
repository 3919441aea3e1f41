"""The console as a partner engineer uses it: a real `python app.py console` fed a script."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_console(
    tmp_path: Path, script: str, *args: str, db: str = "bot.db", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "PORT"))}
    environment.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / db}",
            "PARTNER_NAME": "Fabrikam Cloud",
            **(env or {}),
        }
    )
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "console", *args],
        input=script,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=120,
    )


def test_one_customer_from_enrollment_to_finish(tmp_path):
    script = (
        "\n".join(
            [
                "help",
                # The enroll form, one field per line; the first email and the misspelt
                # country are wrong and asked again; a country is taken by its name.
                "enroll",
                "ABC Technologies Inc.",
                "john.doe@abctech",
                "abctech.com",
                "Untied States",
                "john.doe@abctech.com",
                "united states",
                'enroll "ABC Two" ops@abctech.com ABCTECH.com US',
                "status",
                "sandbox accept-reseller abctech.com",
                "gdap abctech.com",
                "",
                "400",
                "+23",  # default name, 400 days, add Global Administrator (choice 23)
                "sandbox approve-gdap abctech.com",
                "finish abctech.com",
                "hub abctech.com",
                "",
                "",
                "",
                "",
                "",
                "",
                "+1 555 0100",
                "1 Main St",
                "Redmond",
                "WA",
                "98052",
                "p2p abctech.com",
                "",
                "Old Partner Ltd",
                "not-a-guid",
                "transfers@oldpartner.com",
                "0e9b0b5f-0000-4a5d-9c1d-1234567890ab",
                "remind abctech.com p2p",
                "sandbox accept-p2p abctech.com",
                "status completed",
                "finish abctech.com",
                "yes",
                "status",
                "log abctech.com",
                "outbox",
            ]
        )
        + "\n"
    )
    # An 80-column terminal, as COLUMNS says (a bare pipe would get every value whole).
    result = run_console(tmp_path, script, env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    out = " ".join(result.stdout.split())  # phrases may wrap at 80 columns
    assert 'enroll | enroll "NAME" EMAIL DOMAIN COUNTRY' in out
    assert "is not a valid email address" in out
    assert '"Untied States" is not a country we know. Did you mean: United States (US)' in out
    assert "Email john.doe@abctech.com · Country US" in out
    assert "Enrolled ABC Technologies Inc." in out
    assert "abctech.com is already in onboarding as ABC Technologies Inc." in out
    assert "Active 1 · Failed 0 · Completed 0" in out
    assert "Reseller relationship Established" in out
    assert "It will not auto-extend: Global Administrator is among the roles." in out
    assert "cannot be finished yet: MSP Hub Access is Not started" in out
    assert "was created in the MSP Hub" in out
    assert "is not a Microsoft ID" in out and "Entra ID profile" in out
    assert "P2P transfer request sent to Old Partner Ltd." in out
    assert "Reminder sent: p2p → transfers@oldpartner.com." in out
    assert "Active 0 · Failed 0 · Completed 1 (showing Completed)" in out
    assert (
        "The onboarding process is complete. The customer will be removed from the "
        "onboarding system."
    ) in out
    assert "finished onboarding and was removed from the onboarding lists" in out
    assert "No customers in onboarding yet" in out
    assert "Onboarding finished" in out
    assert "to transfers@oldpartner.com" in out
    assert "granularAdminRelationships" in out
    too_wide = [line for line in lines if len(line) > 80 and "https://" not in line]
    assert not too_wide, too_wide
    assert "Traceback" not in result.stderr


def test_bulk_enroll_from_an_excel_csv(tmp_path):
    csv_file = tmp_path / "customers.csv"
    rows = [
        "Customer Name;Email Address;Domain Name;Country Code",
        "Société Générale;it@socgen.fr;socgen.fr;FR",
        "Müller GmbH;it@mueller.de;mueller.de;DE",
        "Broken;nope;broken.com;US",
        "Twice;a@socgen.fr;SOCGEN.fr;FR",
    ]
    csv_file.write_bytes(("\r\n".join(rows) + "\r\n").encode("cp1252"))
    result = run_console(tmp_path, f"bulk {csv_file}\nyes\nstatus\nbulk {csv_file}\n")
    out = " ".join(result.stdout.split())
    assert result.returncode == 0, result.stderr
    assert "4 rows, 2 ready to enroll, 2 problems" in out
    assert "Row 4, Email Address:" in out
    assert "Row 5, Domain Name: socgen.fr is also on row 2 of this file." in out
    assert "Bulk enrollment done: 2 enrolled, 2 not enrolled." in out
    assert "Société Générale" in out and "Müller GmbH" in out
    assert "Active 2 · Failed 0 · Completed 0" in out
    # The same file again: everyone is already in onboarding, nothing to confirm.
    assert out.count("already in onboarding as") >= 2
    assert "Nothing to enroll." in out


def test_json_mode_answers_one_object_per_line(tmp_path):
    result = run_console(
        tmp_path,
        'enroll "Fourth Coffee" it@fourthcoffee.com fourthcoffee.com CA\nstatus\nshow nobody\n',
        "--json",
    )
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["type"] for a in answers] == ["CustomerCard", "ListPage", "Notice"]
    assert answers[0]["row"]["reseller"] == "In Progress"
    assert answers[1]["counts"] == {"active": 1, "failed": 0, "completed": 0}
    assert answers[2]["tone"] == "failure" and "No customer" in answers[2]["text"]


def test_template_is_saved_and_a_wrong_setting_is_named(tmp_path):
    result = run_console(tmp_path, "template\n")
    assert result.returncode == 0, result.stderr
    saved = tmp_path / "customer-onboarding-template.csv"
    assert saved.read_bytes().startswith(
        b"\xef\xbb\xbfCustomer Name,Email Address,Domain Name,Country Code\r\n"
    )
    bad = run_console(tmp_path, "help\n", env={"PAGE_SIZE": "many"})
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("app.py: Setting PAGE_SIZE is wrong")
    assert len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("answer", ["no", ""])
def test_cancel_needs_a_yes(tmp_path, answer):
    script = f'enroll "ABC" ops@abctech.com abctech.com US\ncancel abctech.com\n{answer}\nstatus\n'
    out = " ".join(run_console(tmp_path, script).stdout.split())
    assert "Not confirmed; nothing was changed." in out
    assert "Active 1 · Failed 0 · Completed 0" in out


def test_json_after_cancel_says_the_customer_is_cancelled(tmp_path):
    script = 'enroll "ABC" ops@abctech.com abctech.com US\ncancel abctech.com --yes\nstatus\n'
    result = run_console(tmp_path, script, "--json")
    assert result.returncode == 0, result.stderr
    enrolled, cancelled, listing = [json.loads(line) for line in result.stdout.splitlines()]
    assert enrolled["state"] == "Active" and enrolled["tone"] == "success"
    # the steps still stand as they were (reseller In Progress), but the customer is cancelled
    assert cancelled["type"] == "CustomerCard" and cancelled["closed"] == "cancelled"
    assert cancelled["state"] == "Cancelled" and cancelled["row"]["overall"] == "Cancelled"
    assert cancelled["summary"].endswith("ABC (abctech.com): Cancelled")
    assert "Active" not in cancelled["summary"]
    assert cancelled["tone"] == "success"
    assert [s["tone"] for s in cancelled["steps"]] == ["info"] * 4
    assert listing["counts"] == {"active": 0, "failed": 0, "completed": 0}


def test_a_gdap_request_microsoft_refuses_is_marked_as_a_failure(tmp_path):
    from app import build
    from settings import Settings

    bot = build(Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'bot.db'}"))
    # a relationship of that name was made in Partner Center by hand: the bot's store does
    # not know it, and Microsoft refuses the duplicate name (409)
    bot.service.sandbox.simulator.create_gdap_relationship(
        name="ABC GDAP",
        duration_days=30,
        role_ids=[],
        auto_extend=True,
        customer_tenant_id=None,
        customer_name="someone else",
    )
    bot.engine.dispose()
    script = (
        'enroll "ABC Technologies Inc." john.doe@abctech.com abctech.com US\n'
        "sandbox accept-reseller abctech.com\n"
        "gdap abctech.com\nABC GDAP\n400\n\n"
        "show abctech.com\n"
    )
    result = run_console(tmp_path, script)
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "✓ Enrolled ABC Technologies Inc." in out
    assert "✗ Microsoft refused the GDAP request: A GDAP relationship named" in out
    assert "✓ Microsoft refused" not in out
    assert "GDAP Access Failed" in out


@pytest.mark.parametrize(
    ("tone", "mark"),
    [("success", "✓ "), ("attention", "! "), ("failure", "✗ "), ("info", "")],
)
def test_a_cards_headline_is_marked_by_its_tone(tone, mark):
    from dataclasses import replace
    from datetime import UTC, datetime

    from adapters.console.render import render_json, render_text
    from bot.domain import Onboarding
    from bot.presenters import customer_card
    from bot.tone import Tone

    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    ob = Onboarding(
        id="0123456789ab",
        name="ABC",
        email="it@abc.example",
        domain="abc.example",
        country="US",
        enrolled_at=now,
        enrolled_by="alice (console)",
        reseller_started_at=now,
    )
    card = replace(customer_card(ob, [], now), headline="Something happened.", tone=Tone(tone))
    first = render_text(card).splitlines()[0]
    assert first == f"{mark}Something happened."
    assert json.loads(render_json(card))["tone"] == tone


def test_terminal_escapes_in_a_chat_display_name_are_not_printed(tmp_path):
    from app import build
    from bot.domain import Actor
    from settings import Settings

    bot = build(Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'bot.db'}"))
    hostile = Actor("U0EVIL", "\x1b]0;pwned\x07mal\x1b[2Jlory\x9b", "slack", "T0PARTNER")
    bot.service.access.bootstrap_admins = frozenset({hostile.identity})
    bot.service.enrollment.enroll(
        {"name": "ABC", "email": "it@abctech.com", "domain": "abctech.com", "country": "US"},
        hostile,
    )
    bot.engine.dispose()
    result = run_console(tmp_path, "log abctech.com\nshow abctech.com\n")
    assert "mallory (slack)" in result.stdout
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "\x9b" not in result.stdout and "pwned" not in result.stdout


def test_a_cancelled_customer_keeps_its_card_and_log(tmp_path):
    script = "\n".join(
        [
            'enroll "Contoso" it@contoso.com contoso.com US',
            "cancel contoso.com --yes",
            'enroll "Contoso" ops@contoso.com contoso.com US',  # enrolled again
            "status cancelled",
            "show contoso",  # open and closed share the name: a choice
            "remind contoso",  # acting takes the open one
            "search contoso.com",
        ]
    )
    result = run_console(tmp_path, script + "\n")
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "Active 1 · Failed 0 · Completed 0 (showing Cancelled)" in out
    cancelled = r"Cancelled just now by "  # within the minute, however slow the machine
    assert re.search(r"Contoso \(contoso\.com\) — " + cancelled, out)  # its card, marked
    assert '"contoso" matches 2 customers' in out
    assert "Contoso (contoso.com) · Cancelled " in out  # the choice names the closed one
    assert "Reminder sent: reseller → ops@contoso.com." in out
    search = result.stdout.split('2 customers match "contoso.com"')[1]  # open and closed
    found = re.search(cancelled, search)
    assert found and search.index("Active · id") < found.start()


def test_correct_a_customer_at_the_prompts_and_in_one_line(tmp_path):
    script = "\n".join(
        [
            'enroll "ABC Technologies Inc." john.doe@abctech.com abctech.com US',
            "edit abctech.com",
            "",  # name: keep
            "jo.doe@abctech",  # a wrong email is asked again
            "",  # domain: keep
            "germany",  # country by its name
            "jo.doe@abctech.com",
            'edit abctech.com name "ABC Technologies Ltd"',
            "log abctech.com",
            "outbox abctech.com",
        ]
    )
    result = run_console(tmp_path, script + "\n")
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "Customer Name [ABC Technologies Inc.]:" in out  # the current values are defaults
    assert "Email Address [john.doe@abctech.com]:" in out
    assert "Country [US]:" in out
    assert "is not a valid email address" in out
    assert (
        'Corrected Email Address "john.doe@abctech.com" → "jo.doe@abctech.com"; Country "US" '
        '→ "DE". The invitation sent again to jo.doe@abctech.com; reminders start again.'
    ) in out
    assert 'Corrected Customer Name "ABC Technologies Inc." → "ABC Technologies Ltd".' in out
    assert "Outbox of ABC Technologies Ltd: 2 mails" in out
    assert out.count("UTC to jo.doe@abctech.com") == 1 and "UTC to john.doe@abctech.com" in out
