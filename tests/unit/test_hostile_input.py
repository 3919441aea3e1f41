"""Names, addresses and domains that would look like something else: invisible and
direction-changing characters are refused with the character named, and an international
domain is shown as people read it, with a look-alike flagged."""

from __future__ import annotations

import pytest

from bot.errors import ValidationError
from bot.presenters import domain_shown
from bot.validation import clean_domain, validate_enrollment


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("name", "ABC\u200bTechnologies", "position 4 (U+200B ZERO WIDTH SPACE)"),
        ("name", "Fabrikam \u202eInc", "position 10 (U+202E RIGHT-TO-LEFT OVERRIDE)"),
        ("email", "jo\u200dhn@abctech.com", "position 3 (U+200D ZERO WIDTH JOINER)"),
        ("domain", "abc\u2066tech.com", "position 4 (U+2066 LEFT-TO-RIGHT ISOLATE)"),
        ("domain", "\ufeffabctech.com", "position 1 (U+FEFF ZERO WIDTH NO-BREAK SPACE)"),
    ],
)
def test_invisible_characters_are_refused_naming_the_character(field, value, said):
    values = {"name": "ABC", "email": "john@abctech.com", "domain": "abctech.com", "country": "US"}
    values[field] = value
    with pytest.raises(ValidationError) as refused:
        validate_enrollment(**values)
    assert said in refused.value.field_errors[field]


def test_an_international_domain_is_shown_in_unicode_with_its_ascii_form():
    ascii_name = clean_domain("Bücher.de")
    assert ascii_name == "xn--bcher-kva.de"
    assert domain_shown(ascii_name) == "bücher.de (xn--bcher-kva.de)"
    assert domain_shown("abctech.com") == "abctech.com"


def test_a_domain_mixing_writing_systems_is_flagged():
    look_alike = clean_domain("micros\u043eft.com")  # a Cyrillic о
    shown = domain_shown(look_alike)
    assert shown.startswith("micros\u043eft.com (xn--")
    assert "mixes Latin and Cyrillic letters: check it is the customer's real domain" in shown
