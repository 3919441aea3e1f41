"""What `export` takes as a file to write, and the name a typed path gives the file."""

from __future__ import annotations

import pytest

from bot.exports import file_name_of, looks_like_a_file


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("./failed.csv", "failed.csv"),
        ("reports/2026/failed.csv", "failed.csv"),
        ("C:\\Users\\alice\\failed.csv", "failed.csv"),
        ("../../etc/cron.d/x.csv", "x.csv"),
        ('we"ird<name>.csv', "we_ird_name_.csv"),
        ("reports/", ""),
        ("", ""),
    ],
)
def test_the_name_a_typed_path_gives_the_file(typed: str, name: str):
    assert file_name_of(typed) == name


@pytest.mark.parametrize("word", ["failed.CSV", "./x", "reports/", "~/exports", "-", ".", "a\\b"])
def test_words_that_say_where_to_write(word: str):
    assert looks_like_a_file(word)


@pytest.mark.parametrize("word", ["falied", "all", "report", "activ"])
def test_a_mistyped_status_is_not_taken_for_a_file(word: str):
    assert not looks_like_a_file(word)
