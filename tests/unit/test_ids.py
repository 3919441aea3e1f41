"""Ids that keep indexes local: a bulk import's customers in the file's order under the
import's prefix, activity ids in time order, and the random fallback where a row cannot fit."""

from __future__ import annotations

import time

from bot import ids


def test_a_bulk_imports_ids_are_its_prefix_and_the_files_row_in_order() -> None:
    made = [ids.bulk_onboarding_id("3f2a9c1b7d4e", row) for row in (2, 3, 17, 10_001)]
    assert made == ["3f2a9c100002", "3f2a9c100003", "3f2a9c100011", "3f2a9c102711"]
    assert made == sorted(made)
    assert all(len(i) == ids.ONBOARDING_ID_LENGTH for i in made)
    assert ids.bulk_onboarding_id("3F2A9C1B7D4E", 2) == made[0]  # as typed back


def test_a_row_that_does_not_fit_gets_a_random_id() -> None:
    for import_id, row in (("3f2a9c1b7d4e", 16**5), ("short", 2), ("3f2a9c1b7d4e", -1)):
        made = {ids.bulk_onboarding_id(import_id, row) for _ in range(20)}
        assert len(made) == 20 and all(len(i) == 12 for i in made)


def test_activity_ids_follow_time_and_never_repeat() -> None:
    first = [ids.activity_id() for _ in range(1000)]
    time.sleep(0.002)
    later = ids.activity_id()
    assert len(set(first)) == 1000 and all(len(i) == 32 for i in first)
    assert all(i < later for i in first)
    assert all(int(i, 16) >= 0 for i in first)
