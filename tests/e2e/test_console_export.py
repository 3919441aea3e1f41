"""`export` and the bulk review at the console, as a partner engineer runs them: a real
`python app.py console` in the folder they work in, the file it writes opened with csv."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

from tests.e2e.test_console_journey import run_console

TODAY = f"{datetime.now(UTC):%Y-%m-%d}"  # the default file name's date (the bot's clock)


def read_csv(path: Path) -> list[dict[str, str]]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_export_writes_where_asked_says_how_many_and_never_overwrites(tmp_path: Path):
    (tmp_path / "reports").mkdir()
    (tmp_path / "kept.csv").write_text("mine\n")
    result = run_console(
        tmp_path,
        "\n".join(
            [
                "enroll \"=cmd|' /C calc'!A0\" it@calc-corp.com calc-corp.com US",
                'enroll "Fourth Coffee" it@fourthcoffee.com fourthcoffee.com US',
                "sandbox accept-reseller fourthcoffee.com",
                "export",
                "export",  # the default name is taken: a new one
                "export active ./active.csv",
                "export failed reports/",
                "export kept.csv",
                "export falied",
                "export cancelled nowhere/x.csv",
            ]
        )
        + "\n",
    )
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())  # as read, whatever the line breaks
    first = tmp_path / f"onboardings-all-{TODAY}.csv"
    second = tmp_path / f"onboardings-all-{TODAY}-1.csv"
    assert f"✓ Wrote every customer to {first}: 2 rows." in out
    assert f"✓ Wrote every customer to {second}: 2 rows." in out
    rows = read_csv(first)
    assert [r["Domain Name"] for r in rows] == ["fourthcoffee.com", "calc-corp.com"]
    assert rows[1]["Customer Name"] == "'=cmd|' /C calc'!A0"  # shown as text, never run
    assert rows[0]["Reseller Relationship"] == "Established"
    assert rows[0]["Enrolled By"].endswith("(console)")
    assert read_csv(second) == rows

    assert f"to {tmp_path / 'active.csv'}: 2 rows." in out
    failed = tmp_path / "reports" / f"onboardings-failed-{TODAY}.csv"
    assert f"✓ Wrote failed customers to {failed}: 0 rows." in out
    assert read_csv(failed) == []

    assert "Error: kept.csv exists already and was left as it is; nothing was written." in out
    assert (tmp_path / "kept.csv").read_text() == "mine\n"
    assert 'Error: Unknown status "falied": use one of active, failed, completed, finished' in out
    assert "Error: No folder" in out and not (tmp_path / "nowhere").exists()


def test_export_to_standard_output_for_a_pipe(tmp_path: Path):
    result = run_console(
        tmp_path, 'enroll "Café Ünïcode" it@cafe-unicode.com cafe-unicode.com FR\nexport -\n'
    )
    assert result.returncode == 0, result.stderr
    text = result.stdout[result.stdout.index("Customer ID,") :]
    rows = list(csv.DictReader(text.splitlines()))
    assert [(r["Customer Name"], r["Country Code"]) for r in rows] == [("Café Ünïcode", "FR")]
    assert list(tmp_path.glob("*.csv")) == []


def test_export_in_json_mode_says_the_path_and_rows(tmp_path: Path):
    result = run_console(
        tmp_path,
        'enroll "ABC Technologies Inc." john.doe@abctech.com abctech.com US\n'
        "export active -\nexport active\n",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    refused = json.loads(result.stdout.splitlines()[-2])
    assert refused["tone"] == "failure" and "cannot go to standard output" in refused["text"]
    answer = json.loads(result.stdout.splitlines()[-1])
    assert answer["type"] == "Export" and answer["rows"] == 1 and answer["tone"] == "success"
    assert Path(answer["path"]) == tmp_path / f"onboardings-active-{TODAY}.csv"


def test_the_bulk_review_lists_the_first_20_customers_and_how_many_more(tmp_path: Path):
    lines = ["Customer Name,Email Address,Domain Name,Country Code"]
    lines.append(
        "A customer with a very long name indeed and more Incorporated,"
        "someone.with.a.long.address@a-long-domain-name.com,a-long-domain-name.com,de"
    )
    lines += [f"Customer {i:02d} Ltd,ops@cust{i:02d}.com,cust{i:02d}.com,us" for i in range(25)]
    (tmp_path / "customers.csv").write_text("\r\n".join(lines) + "\r\n")
    result = run_console(tmp_path, "bulk customers.csv\nno\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Review of customers.csv: 26 rows, 26 ready to enroll, 0 problems." in out
    table = out[out.index("Ready to enroll (check them before you confirm):") :].splitlines()
    assert table[1].split() == [
        "Row",
        "Customer",
        "Name",
        "Email",
        "Address",
        "Domain",
        "Name",
        "Country",
    ]
    long_row = table[2]
    assert long_row.split()[0] == "2" and long_row.rstrip().endswith("DE")
    assert "A customer with a very" in long_row and "…" in long_row
    assert table[3].split() == ["3", "Customer", "00", "Ltd", "ops@cust00.com", "cust00.com", "US"]
    assert table[21].split()[0] == "21"
    assert table[22] == "  … and 6 more"
    assert table[23] == "  (a cell ending in … is cut to fit; bulk confirm enrolls it whole)"
    assert all(len(line) <= 80 for line in table[1:24])
    assert "Customer 19 Ltd" not in out  # row 22: past the first 20
    assert "nobody was enrolled" in out
