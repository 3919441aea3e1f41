"""A country as people type it in a form or a one-line enrollment: its ISO code, or its name
in any case and with or without accents ("germany", "Cote d'Ivoire", "South Korea").

pycountry holds the names (short, official and common); this module only folds them for
comparison and says which countries a name that matches none (or several) comes closest to.
The bulk CSV does not come here: its `Country Code` column stays two letters.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from functools import cache

import pycountry

SUGGESTED = 3  # how many close names an unknown one is offered
# Everyday codes that ISO does not use, for what users mean by them.
CODE_ALIASES = {"UK": "GB", "EL": "GR", "USA": "US", "UAE": "AE"}
# Everyday names pycountry does not hold (its names are ISO 3166's), folded.
NAME_ALIASES = {
    "russia": "RU",
    "turkey": "TR",
    "czech republic": "CZ",
    "holland": "NL",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "america": "US",
    "usa": "US",
    "united states of america": "US",
    "ivory coast": "CI",
    "macedonia": "MK",
    "swaziland": "SZ",
    "cape verde": "CV",
    "burma": "MM",
    "east timor": "TL",
    "vatican": "VA",
    "vatican city": "VA",
    "brunei": "BN",
    "palestine": "PS",
    "micronesia": "FM",
    "democratic republic of the congo": "CD",
    "dr congo": "CD",
    "drc": "CD",
    "republic of the congo": "CG",
}


class CountryNotFound(ValueError):
    """No country, or more than one, has the name typed; `suggestions` are (code, name)."""

    def __init__(self, typed: str, suggestions: list[tuple[str, str]], ambiguous: bool) -> None:
        self.typed = typed
        self.suggestions = suggestions
        self.ambiguous = ambiguous
        super().__init__(typed)


def fold(text: str) -> str:
    """Case, accents, apostrophes and punctuation ignored: "Côte d’Ivoire" is "cote d'ivoire"."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = plain.replace("’", "'").replace("‘", "'").replace("`", "'").casefold()
    plain = re.sub(r"[^\w']+", " ", plain)
    return " ".join(plain.split())


def _names(country: object) -> list[str]:
    """Every name a country goes by: short, official, common, and "Korea, Republic of" read
    the way people say it ("Republic of Korea")."""
    names = [
        getattr(country, attr)
        for attr in ("name", "official_name", "common_name")
        if getattr(country, attr, None)
    ]
    for name in list(names):
        head, comma, tail = name.partition(", ")
        if comma:
            names.append(f"{tail} {head}")
    return names


@cache
def _index() -> tuple[dict[str, str], dict[str, frozenset[str]]]:
    """Folded full names → code, and the part before a comma ("Korea", "Virgin Islands")
    → the codes that share it (more than one makes the name ambiguous)."""
    exact: dict[str, str] = {}
    heads: dict[str, set[str]] = {}
    for country in pycountry.countries:
        for name in _names(country):
            exact.setdefault(fold(name), country.alpha_2)
        head = fold(country.name.partition(",")[0])
        heads.setdefault(head, set()).add(country.alpha_2)
    for alias, code in NAME_ALIASES.items():
        exact.setdefault(alias, code)
    return exact, {h: frozenset(codes) for h, codes in heads.items()}


def name_of(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return country.name if country else code


def _listed(codes: list[str]) -> list[tuple[str, str]]:
    unique = list(dict.fromkeys(codes))
    return [(code, name_of(code)) for code in unique]


def find_country(text: str) -> str:
    """The ISO 3166-1 alpha-2 code of a code (two or three letters) or a name; raises
    `CountryNotFound` with the closest names when there is no single answer."""
    raw = " ".join((text or "").split())
    upper = raw.upper()
    if upper in CODE_ALIASES:
        return CODE_ALIASES[upper]
    if len(upper) == 2 and upper.isalpha() and pycountry.countries.get(alpha_2=upper):
        return upper
    if len(upper) == 3 and upper.isalpha() and (by_3 := pycountry.countries.get(alpha_3=upper)):
        return str(by_3.alpha_2)
    folded = fold(raw)
    exact, heads = _index()
    if folded in exact:
        return exact[folded]
    sharing = heads.get(folded, frozenset())
    if len(sharing) == 1:
        return next(iter(sharing))
    if sharing:
        raise CountryNotFound(raw, _listed(sorted(sharing)), ambiguous=True)
    raise CountryNotFound(raw, _listed(_closest(folded, exact)), ambiguous=False)


def _closest(folded: str, exact: dict[str, str]) -> list[str]:
    """Codes of the names closest to what was typed: the names that start with it (so
    "nige" offers Niger and Nigeria), else the most alike by spelling ("Germny")."""
    if not folded:
        return []
    starting = sorted({code for name, code in exact.items() if name.startswith(folded)})
    if starting:
        return sorted(starting, key=name_of)[:SUGGESTED]
    alike = difflib.get_close_matches(folded, list(exact), n=SUGGESTED * 2, cutoff=0.6)
    return list(dict.fromkeys(exact[name] for name in alike))[:SUGGESTED]
