"""`python app.py teams-package`, as a partner runs it: the package's manifest.json is valid
against Microsoft's Teams manifest schema v1.19 whatever the partner is called (a PARTNER_NAME
over the schema's 32 characters for developer.name is cut; a TEAMS_DEVELOPER_NAME over it is
refused at start-up with the limit named), and the colour icon's symbol stays inside
Microsoft's safe area (the central 96×96 of 192×192)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT.parent / "shared" / "schemas" / "MicrosoftTeams.v1.19.schema.json"
LONG_PARTNER = "Contoso Cloud Solutions International Holdings Ltd."  # 51 characters


def run_package(tmp_path: Path, **env_extra: str) -> tuple[subprocess.CompletedProcess, Path]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MICROSOFT_APP", "TEAMS_", "PARTNER_"))
    }
    env.update(
        MICROSOFT_APP_ID="11111111-2222-3333-4444-555555555555",
        MICROSOFT_APP_PASSWORD="secret",
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        **env_extra,
    )
    out = tmp_path / "teams-app.zip"
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "teams-package", "--output", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result, out


def test_a_long_partner_name_still_makes_a_valid_package(tmp_path: Path):
    result, out = run_package(tmp_path, PARTNER_NAME=LONG_PARTNER)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(out) as package:
        manifest = json.loads(package.read("manifest.json"))
    name = manifest["developer"]["name"]
    assert len(name) <= 32 and name.endswith("…") and LONG_PARTNER.startswith(name[:-1])
    if not SCHEMA.is_file():
        pytest.skip(f"manifest not validated: {SCHEMA} is not beside this clone")
    schema = json.loads(SCHEMA.read_text("utf-8"))
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(manifest), key=str)
    assert not errors, "\n".join(f"{list(e.path)}: {e.message[:200]}" for e in errors[:5])


def test_a_developer_name_over_32_characters_is_refused_at_start_up(tmp_path: Path):
    result, out = run_package(tmp_path, TEAMS_DEVELOPER_NAME=LONG_PARTNER)
    assert result.returncode == 2 and not out.exists()
    assert "TEAMS_DEVELOPER_NAME" in result.stderr and "32 characters" in result.stderr


def pixels(png: bytes) -> tuple[int, int, list[bytes]]:
    """Rows of RGBA pixels of an 8-bit RGBA PNG without filters (as the bot writes them)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, data, width, height = 8, b"", 0, 0
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, body = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert (depth, color) == (8, 6)
        elif kind == b"IDAT":
            data += body
        pos += 12 + length
    raw = zlib.decompress(data)
    stride = width * 4 + 1
    rows = [raw[y * stride : (y + 1) * stride] for y in range(height)]
    assert all(row[0] == 0 for row in rows)
    return width, height, [row[1:] for row in rows]


def test_the_colour_icons_symbol_fits_microsofts_safe_area(tmp_path: Path):
    result, out = run_package(tmp_path)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(out) as package:
        width, height, rows = pixels(package.read("color.png"))
    assert (width, height) == (192, 192)
    background = rows[0][:4]
    marked = [
        (x, y)
        for y, row in enumerate(rows)
        for x in range(width)
        if row[x * 4 : x * 4 + 4] != background
    ]
    assert marked, "the icon has no symbol"
    xs, ys = [x for x, _ in marked], [y for _, y in marked]
    assert min(xs) >= 48 and max(xs) < 144 and min(ys) >= 48 and max(ys) < 144
    assert max(xs) - min(xs) > 60  # and it uses the safe area, not a speck
