"""The customer list at the console, sized to the terminal: the statuses and the Enrolled
column whole, the name (and the domain, when there is room for it as a column) given the
rest; a value cut to fit ends in "…". Without a terminal (a pipe, a file) nothing is cut.

A row's second line says how it stands, its id and the commands for it, which are never
cut (they are there to be typed), and its domain when the terminal had no room for it. On a
terminal too narrow for the columns (a phone), each row is stacked on a few lines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.views import ActionRole, CustomerRow, ListPage

ELLIPSIS = "…"
GAP = " "
INDENT = "  "
NAME_MIN = 10  # narrower than this, a name says little: the rows are stacked instead
DOMAIN_COLUMN_MIN = 16  # a domain column narrower than this moves the domain to line two
DETAIL_DOMAIN_MIN = 12
_PAGING = {ActionRole.PREVIOUS, ActionRole.NEXT}
_HEADERS = ("Customer", "Domain", "Reseller", "GDAP", "MSP Hub", "P2P", "Enrolled")


def cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + ELLIPSIS


def _cells(row: CustomerRow) -> tuple[str, ...]:
    return (row.name, row.domain, row.reseller, row.gdap, row.hub, row.p2p, row.enrolled)


@dataclass(frozen=True)
class Layout:
    """Column widths, in `_HEADERS` order; a domain of width 0 is on the row's second line."""

    widths: tuple[int, ...]

    @property
    def domain_column(self) -> bool:
        return self.widths[1] > 0


def layout(rows: Sequence[CustomerRow], width: int | None) -> Layout:
    """The widths for `rows` on a terminal `width` columns wide (None: every value whole)."""
    natural = [
        max(len(header), *(len(_cells(r)[i]) for r in rows)) for i, header in enumerate(_HEADERS)
    ]
    if width is None:
        return Layout(tuple(natural))
    fixed = natural[2:]  # the statuses and Enrolled: never cut
    room = width - sum(fixed) - len(GAP) * len(fixed)  # what is left for name and domain
    name, domain = natural[0], natural[1]
    if name + len(GAP) + domain <= room:
        return Layout((name, domain, *fixed))
    both = room - len(GAP)
    if both >= 2 * DOMAIN_COLUMN_MIN:
        # Water-filling: the shorter of the two keeps its width, the longer takes the rest.
        short = min(name, domain, both // 2)
        long = both - short
        widths = (short, long) if name <= domain else (long, short)
        return Layout((*widths, *fixed))
    return Layout((max(NAME_MIN, min(name, room)), 0, *fixed))


def _line(values: Sequence[str], widths: Sequence[int]) -> str:
    shown = [cut(v, w).ljust(w) for v, w in zip(values, widths, strict=True) if w > 0]
    return GAP.join(shown).rstrip()


def _commands(texts: list[str], lead: str, width: int | None) -> list[str]:
    """`lead · command · command`, on one line when it fits, else each command on its own
    line under it: a command is typed as shown, so it is never cut."""
    one = " · ".join([lead, *texts])
    if width is None or len(one) <= width or not texts:
        return [one]
    return [lead, *(INDENT + t for t in texts)]


def _detail(row: CustomerRow, grid: Layout, width: int | None) -> list[str]:
    facts = [f"{row.standing} · id {row.id}"]
    if not grid.domain_column:
        domain = row.domain
        if width is not None:  # the domain gives way first, down to a readable stub
            rest = len(INDENT) + len(" · ") + len(facts[0])
            domain = cut(domain, max(DETAIL_DOMAIN_MIN, width - rest))
        facts.insert(0, domain)
    extra = [f"{a.label.lower()}: {a.line}" for a in row.actions if a.role is not ActionRole.OPEN]
    return _commands(extra, INDENT + " · ".join(facts), width)


def list_text(page: ListPage, width: int | None) -> str:
    head = page.summary  # the three counts, or on a search page its number of matches
    if page.status_filter:
        head += f"   (showing {page.status_filter})"
    lines = [head]
    nav = [f"{a.label.lower()}: {a.line}" for a in page.actions if a.role in _PAGING]
    if not page.rows:
        if page.past_the_end:
            return "\n".join([*lines, *_commands(nav, page.past_the_end, width)])
        if page.counts is None:  # the heading already says no customer matches
            return "\n".join(lines)
        lines.append(
            "No customers match."
            if (page.search or page.status_filter)
            else "No customers in onboarding yet. Enroll one with: enroll"
        )
        return "\n".join(lines)
    grid = layout(page.rows, width)
    if width is not None and len(_line(_HEADERS, grid.widths)) > width:
        for row in page.rows:  # too narrow for columns (a phone): each row stacked
            lines += _stacked(row, grid, width)
    else:
        lines.append(_line(_HEADERS, grid.widths))
        for row in page.rows:
            lines.append(_line(_cells(row), grid.widths))
            lines += _detail(row, grid, width)
    lines += _commands(nav, page.position, width)
    return "\n".join(lines)


def _stacked(row: CustomerRow, grid: Layout, width: int) -> list[str]:
    """A row on a terminal too narrow for the columns: the name and Enrolled, then each
    step's status by its name, then the detail line."""
    name = cut(row.name, max(width - len(GAP * 2) - len(row.enrolled), NAME_MIN))
    steps = [
        f"Reseller {row.reseller}",
        f"GDAP {row.gdap}",
        f"MSP Hub {row.hub}",
        f"P2P {row.p2p}",
    ]
    lines = [INDENT + steps[0]]
    for step in steps[1:]:  # a step's name and status stay on one line
        if len(lines[-1]) + len(" · ") + len(step) <= width:
            lines[-1] += " · " + step
        else:
            lines.append(INDENT + step)
    return [f"{name}{GAP * 2}{row.enrolled}", *lines, *_detail(row, grid, width)]
