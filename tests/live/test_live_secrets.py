"""No secret of the live backend reaches a log or the store: the real `python app.py` at
LOG_LEVEL=DEBUG, with the partner app's client secret, against the fake: an enrollment, a
sync by the scheduler once the customer accepted, and doctor; then every line of output and
every database row is searched for the secret, for access tokens (JWTs) and private keys."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import inspect, text

from storage.database import create_engine_for

ROOT = Path(__file__).resolve().parents[2]


def run(tmp_path, env, *args, stdin=""):
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )


def test_the_live_backend_logs_and_stores_no_secret(cloud, tmp_path, bot_db):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **cloud.settings_env(),
        "PARTNER_CLIENT_CERTIFICATE": "",
        "PARTNER_CLIENT_SECRET": cloud.client_secret,
        "PARTNER_RESELLER_LINK": cloud.reseller_link,
        "DATABASE_URL": bot_db,
        "LOG_LEVEL": "DEBUG",
    }
    cloud.add_tenant("abctech.com", "ABC Technologies Inc.")
    enrolled = run(
        tmp_path,
        env,
        "console",
        stdin='enroll "ABC Technologies Inc." john.doe@abctech.com abctech.com US\n',
    )
    assert "Enrolled ABC Technologies Inc." in enrolled.stdout, enrolled.stderr
    cloud.accept_reseller("abctech.com", email="john.doe@abctech.com")
    later = (datetime.now(UTC) + timedelta(minutes=20)).isoformat()
    ticked = run(tmp_path, env, "tick", "--at", later)
    assert ticked.returncode == 0, ticked.stderr
    assert "1 changes" in ticked.stdout or "(1 change" in ticked.stdout, ticked.stdout
    checked = run(tmp_path, env, "doctor")
    assert "✓ Graph token" in checked.stdout

    output = "".join(r.stdout + r.stderr for r in (enrolled, ticked, checked))
    assert "DEBUG" in output  # the level really was DEBUG
    assert cloud.client_secret not in output
    assert "eyJ" not in output  # no access token (a JWT) in any line
    assert "PRIVATE KEY" not in output
    engine = create_engine_for(env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                dump = repr(conn.execute(text(f'SELECT * FROM "{table}"')).all())
                assert cloud.client_secret not in dump, f"the secret is stored in {table}"
                assert "eyJ" not in dump, f"a token is stored in {table}"
    finally:
        engine.dispose()
    assert not cloud.schema_errors
