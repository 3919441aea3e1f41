"""What users type: each field's normalisation and each refusal's message."""

from __future__ import annotations

import pytest

from bot.errors import ValidationError
from bot.gdap_roles import GLOBAL_ADMINISTRATOR_ID, RECOMMENDED_ROLE_IDS
from bot.validation import (
    clean_country,
    clean_country_name,
    clean_domain,
    clean_duration,
    clean_email,
    clean_gdap_name,
    clean_name,
    clean_roles,
    clean_tenant_id,
    validate_enrollment,
)


def test_name_is_trimmed_and_limited():
    assert clean_name("  ABC   Technologies Inc. ") == "ABC Technologies Inc."
    assert clean_name("x" * 256) == "x" * 256
    with pytest.raises(ValueError, match="limit is 256"):
        clean_name("x" * 257)
    with pytest.raises(ValueError, match="required"):
        clean_name("   ")


def test_email_is_checked_without_dns():
    assert clean_email(" John.Doe@ABCtech.com ") == "John.Doe@abctech.com"
    with pytest.raises(ValueError, match="not a valid email"):
        clean_email("john.doe@abctech")
    with pytest.raises(ValueError, match="not a valid email"):
        clean_email("john doe@abctech.com")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("ABCtech.com", "abctech.com"),
        ("abctech.com.", "abctech.com"),
        ("chevron.onmicrosoft.com", "chevron.onmicrosoft.com"),
        ("münchen-bau.de", "xn--mnchen-bau-9db.de"),
    ],
)
def test_domain_normalised_to_ascii(typed, stored):
    assert clean_domain(typed) == stored


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("https://abctech.com", "just the host name"),
        ("john@abctech.com", "just the host name"),
        ("abctech", "top-level domain"),
        ("-abc.com", "not a valid domain"),
        ("a" * 64 + ".com", "at most 63"),
        (".".join(["a" * 60] * 5) + ".com", "at most 253"),
        ("10.0.0.1", "IP address"),
        ("contoso.example", "reserved example domain"),
        ("ab_c.com", "not a valid domain"),
    ],
)
def test_bad_domains_say_why(typed, reason):
    with pytest.raises(ValueError, match=reason):
        clean_domain(typed)


def test_country_codes_and_suggestions():
    assert clean_country("us") == "US"
    assert clean_country(" IN ") == "IN"
    for typed in ("USA", "United States", "usa"):
        with pytest.raises(ValueError, match='use "US"'):
            clean_country(typed)
    with pytest.raises(ValueError, match='use "GB"'):
        clean_country("UK")
    with pytest.raises(ValueError, match="alpha-2"):
        clean_country("XX")


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("United States", "US"),
        ("germany", "DE"),
        ("Côte d'Ivoire", "CI"),
        ("Cote d'Ivoire", "CI"),
        ("COTE D’IVOIRE", "CI"),
        ("Republic of Korea", "KR"),
        ("South Korea", "KR"),
        ("Viet Nam", "VN"),
        ("Vietnam", "VN"),
        ("United Kingdom of Great Britain and Northern Ireland", "GB"),
        ("Iran", "IR"),
        ("Türkiye", "TR"),
        ("turkiye", "TR"),
        ("de", "DE"),
        ("USA", "US"),
        ("UK", "GB"),
        ("deu", "DE"),
    ],
)
def test_single_enrollment_takes_a_country_name(typed, code):
    assert clean_country_name(typed) == code


@pytest.mark.parametrize(
    ("typed", "offered"),
    [
        ("Nigr", "Did you mean: Niger (NE), Nigeria (NG)?"),
        ("nige", "Did you mean: Niger (NE), Nigeria (NG)?"),
        ("Germny", "Did you mean: Germany (DE)"),
        (
            "Korea",
            "names more than one country. Did you mean: Korea, Democratic People's "
            "Republic of (KP), Korea, Republic of (KR)?",
        ),
        ("Virgin Islands", "British (VG), Virgin Islands, U.S. (VI)?"),
    ],
)
def test_an_unknown_or_ambiguous_country_name_gets_the_closest(typed, offered):
    with pytest.raises(ValueError) as err:
        clean_country_name(typed)
    assert offered in str(err.value)


def test_a_country_name_nothing_resembles_says_what_to_type():
    with pytest.raises(ValueError, match=r"type its name \(United States\) or its two-letter"):
        clean_country_name("Qqqqzzz")
    with pytest.raises(ValueError, match="Country is required"):
        clean_country_name("  ")


def test_the_bulk_csv_keeps_two_letter_codes():
    with pytest.raises(ValidationError) as err:
        validate_enrollment("ABC", "a@abctech.com", "abctech.com", "Germany")
    assert 'use "DE"' in err.value.field_errors["country"]
    details = validate_enrollment(
        "ABC", "a@abctech.com", "abctech.com", "Germany", country_names=True
    )
    assert details.country == "DE"


def test_enrollment_reports_every_bad_field_at_once():
    with pytest.raises(ValidationError) as err:
        validate_enrollment("", "nope", "abctech.com", "United States")
    assert set(err.value.field_errors) == {"name", "email", "country"}
    assert 'use "US"' in err.value.field_errors["country"]
    details = validate_enrollment(" ABC ", "a@abctech.com", "ABCTECH.com", "us")
    assert (details.name, details.domain, details.country) == ("ABC", "abctech.com", "US")


def test_gdap_fields():
    assert clean_gdap_name(" Contoso  admin relationship ") == "Contoso admin relationship"
    with pytest.raises(ValueError, match="at most 50"):
        clean_gdap_name("x" * 51)
    with pytest.raises(ValueError, match="only letters"):
        clean_gdap_name("ABC/GDAP!")
    assert clean_duration("730") == 730
    assert clean_duration("90 days") == 90
    for bad in ("0", "731", "-1"):
        with pytest.raises(ValueError, match="between 1 and 730"):
            clean_duration(bad)
    with pytest.raises(ValueError, match="whole number"):
        clean_duration("two years")


def test_roles_by_id_or_name():
    ids = clean_roles([*RECOMMENDED_ROLE_IDS, "global administrator", RECOMMENDED_ROLE_IDS[0]])
    assert ids[-1] == GLOBAL_ADMINISTRATOR_ID and len(ids) == len(RECOMMENDED_ROLE_IDS) + 1
    with pytest.raises(ValueError, match="Unknown role: Owner"):
        clean_roles(["Owner"])
    with pytest.raises(ValueError, match="at least one"):
        clean_roles([])


def test_partner_tenant_id_is_a_guid_and_says_where_to_find_it():
    assert clean_tenant_id("{0E9B0B5F-0000-4A5D-9C1D-1234567890AB}") == (
        "0e9b0b5f-0000-4a5d-9c1d-1234567890ab"
    )
    with pytest.raises(ValueError, match="Entra ID profile"):
        clean_tenant_id("contoso")
