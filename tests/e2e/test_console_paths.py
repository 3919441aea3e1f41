"""The console on the user's machine: files are found from the folder the user is in (also
through `run.sh`, which runs from the repository), the line history is kept in the user's
state folder, and piping the answers into `head` ends as quietly as any Unix tool."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys

import pytest

from tests.e2e.console_support import ROOT, console_env, has_pty, on_terminal, piped

CUSTOMERS_CSV = (
    "Customer Name,Email Address,Domain Name,Country Code\r\n"
    "Northwind Traders,it@northwind.com,northwind.com,US\r\n"
)


def run_sh_ready() -> bool:
    """run.sh installs into .venv when pyproject.toml changed; a test must not do that."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    return (ROOT / ".venv" / f".installed-{digest}").exists()


@pytest.mark.skipif(not run_sh_ready(), reason="run.sh needs the .venv that ./test.sh makes")
def test_run_sh_reads_and_writes_in_the_folder_the_user_is_in(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "customers.csv").write_text(CUSTOMERS_CSV)
    result = subprocess.run(
        [str(ROOT / "run.sh"), "console"],
        input="bulk ./customers.csv\nyes\ntemplate\ntemplate copies/\nstatus\n",
        capture_output=True,
        text=True,
        cwd=work,
        env=console_env(tmp_path),
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "Review of customers.csv: 1 rows, 1 ready to enroll" in out
    assert "Bulk enrollment done: 1 enrolled" in out
    assert (
        (work / "customer-onboarding-template.csv")
        .read_bytes()
        .startswith(b"\xef\xbb\xbfCustomer Name,Email Address,Domain Name,Country Code")
    )
    assert f"Saved {work / 'customer-onboarding-template.csv'}" in out
    # a folder (the trailing slash says it) that is not there is not made up
    assert f"Error: No folder copies/ in {work}." in out
    assert not (ROOT / "customer-onboarding-template.csv").exists()


def test_paths_start_at_the_users_folder_and_template_goes_where_asked(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "customers.csv").write_text(CUSTOMERS_CSV)
    (tmp_path / "out").mkdir()
    result = piped(
        tmp_path,
        "bulk in/customers.csv\nno\nbulk missing.csv\ntemplate out\ntemplate mine.csv\n"
        "template out\n",
    )
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "Review of customers.csv: 1 rows, 1 ready to enroll" in out
    assert f"Error: No file missing.csv in {tmp_path}." in out
    assert (tmp_path / "out" / "customer-onboarding-template.csv").exists()
    assert (tmp_path / "out" / "customer-onboarding-template-1.csv").exists()  # kept the first
    assert (tmp_path / "mine.csv").read_bytes().startswith(b"\xef\xbb\xbfCustomer Name,")
    assert f"Saved {tmp_path / 'mine.csv'}" in out


def test_template_to_standard_output_is_the_csv_alone(tmp_path):
    result = piped(tmp_path, "template -\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Customer Name,Email Address,Domain Name,Country Code",
        "Contoso Ltd,it-admin@contoso.example,contoso.example,US",
    ]
    assert not list(tmp_path.glob("*.csv"))


def test_piping_into_head_ends_quietly_with_the_sigpipe_status(tmp_path):
    # far more than a pipe holds (64 KiB), so the console is still writing when head leaves
    script = 'enroll "Customer 1" it@c1.com c1.com US\n' + "help\n" * 300
    console = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "console"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=console_env(tmp_path),
    )
    assert console.stdin and console.stdout and console.stderr
    console.stdin.write(script.encode())
    console.stdin.close()
    first = console.stdout.readline()  # `head -1`: one line, then the reader is gone
    console.stdout.close()
    assert console.wait(timeout=120) == -signal.SIGPIPE  # the shell says 141
    assert first.decode().startswith("✓ Enrolled Customer 1")
    assert console.stderr.read().decode() == ""  # no BrokenPipeError, no traceback


@pytest.mark.skipif(not has_pty(), reason="no pseudo-terminal on this machine")
def test_the_line_history_lives_in_the_users_state_folder(tmp_path):
    with on_terminal(tmp_path, "console") as terminal:
        terminal.expect("onboard> ")
        terminal.type("search northwind")
        terminal.expect('No customers match "northwind"')
        terminal.type("quit")
        assert terminal.wait_for_exit() == 0
    history = tmp_path / "state" / "onboarding-bot" / "history"
    assert "search northwind" in history.read_text()
    assert not (tmp_path / "home" / ".onboarding_history").exists()
    # the next session finds it: the up arrow brings the line back
    with on_terminal(tmp_path, "console") as terminal:
        terminal.expect("onboard> ")
        terminal.type("\x1b[A\x1b[A")  # up arrow twice (past "quit"), then Enter
        terminal.expect('No customers match "northwind"')
