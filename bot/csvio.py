"""Reads the bulk-enrollment CSV file as Excel, Google Sheets and LibreOffice really write it.

Cells come back as text with row numbers as Excel shows them; whether a cell's content is a
valid email, domain or country is `bot.validation`'s job, not this module's.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache

from bot.errors import ValidationError

EXPECTED_HEADER: tuple[str, ...] = ("Customer Name", "Email Address", "Domain Name", "Country Code")
MAX_ROWS = 10_000
MAX_BYTES = 5 * 1024 * 1024
MAX_COLUMNS = 64  # a header wider than this is not a customer file (spare empty columns fit)
UNKNOWN_SHOWN = 5  # unknown column names a refusal lists before "and N more"

_FIELDS = ("name", "email", "domain", "country")  # CsvRow attributes, in EXPECTED_HEADER order
_HEADER_LINE = ",".join(EXPECTED_HEADER)
# The CSV column title of each enrollment field, as reviews name them ("row 7, Domain Name").
COLUMN_TITLES: dict[str, str] = dict(zip(_FIELDS, EXPECTED_HEADER, strict=True))
_TEMPLATE_ROW = "Contoso Ltd,it-admin@contoso.example,contoso.example,US"
_HOW_TO_GET_TEMPLATE = "Type template to get the format file."

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}
_ZIP_MAGIC = b"PK\x03\x04"  # .xlsx, .ods and .numbers are zip files
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # .xls (Excel 97-2003)
_SEPARATORS = (",", ";", "\t")  # on a tie, the first wins
_NOT_CONTENT = ' "' + "".join(_SEPARATORS)  # a line of only these is a blank row
_SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
# Excel honours a first line "sep=;" and hides it; some tools write it for European Excel.
_SEP_HINT = re.compile(r'"?sep=(.)"?[ \t]*(?:\r\n|\r|\n|\Z)', re.IGNORECASE)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_HEADER_NOISE = re.compile(r"[\s_\-.\ufeff\u200b]+")  # "customer_name", " Domain  Name "
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # all but tab and line ends
_CONTROL_SAMPLE = 65_536
_CONTROL_SHARE = 0.05  # binary data decodes to ~12% control characters, text to ~0%


@dataclass(frozen=True)
class CsvRow:
    """One customer row, as the cells read; `problem` says why its cells cannot be trusted."""

    row: int
    name: str
    email: str
    domain: str
    country: str
    problem: str | None = None


class CsvFileError(ValidationError):
    """The whole file is refused; `str(err)` says what is wrong and how to fix it."""


def template_csv() -> bytes:
    """The format file: UTF-8 with a BOM, so that Excel shows accents right when it opens it."""
    return _UTF8_BOM + f"{_HEADER_LINE}\r\n{_TEMPLATE_ROW}\r\n".encode()


def read_customer_csv(data: bytes, filename: str = "") -> list[CsvRow]:
    """The customer rows of an uploaded file, blank rows left out; refuses files it cannot read.

    Rows whose cells do not line up with the header are returned with `problem` set, so the
    review can name them by row number instead of refusing the whole file.
    """
    _refuse_oversized(data)
    _refuse_non_text(data, filename)
    text = _decode(data)
    _refuse_control_characters(text, filename)
    text, separator = _separator(text)
    if separator is None:
        raise CsvFileError(
            "The file is empty. Put the header line and one customer per row in "
            f"it. {_HOW_TO_GET_TEMPLATE}"
        )
    rows: list[CsvRow] = []
    columns: list[str | None] | None = None
    for number, cells in _records(text, separator):
        if not any(cell.strip() for cell in cells):
            continue  # a blank row still has its number in Excel
        if columns is None:
            columns = _read_header(cells)
            continue
        if len(rows) == MAX_ROWS:  # refused without reading the rest
            raise CsvFileError(
                f"The file has more than {MAX_ROWS:,} customer rows, the limit "
                "per file. Split it into smaller files, each starting with the "
                "header line, and upload them one at a time."
            )
        rows.append(_to_row(number, cells, columns, separator))
    if not rows:
        raise CsvFileError(
            "The file has the header line but no customer rows. Add one customer "
            "per row below the header and upload it again."
        )
    return rows


# -- refusals before decoding ------------------------------------------------------------------


def _refuse_oversized(data: bytes) -> None:
    """Checked first, so that a huge upload is not decoded only to be refused."""
    if len(data) > MAX_BYTES:
        size = math.ceil(len(data) / 1024 / 1024 * 10) / 10
        raise CsvFileError(
            f"The file is {size:.1f} MB; the limit is {MAX_BYTES // 1024 // 1024} "
            "MB. Split it into smaller files, each starting with the header line, "
            "and upload them one at a time."
        )


def _refuse_non_text(data: bytes, filename: str) -> None:
    """Workbooks and other binaries would decode to garbage: say what to export instead."""
    if data.startswith(_ZIP_MAGIC) and b"opendocument.spreadsheet" in data[:120]:
        raise CsvFileError(
            "This is a LibreOffice spreadsheet, not a CSV file: in LibreOffice use "
            "File > Save As > Text CSV (.csv) and upload that file."
        )
    if data.startswith((_ZIP_MAGIC, _OLE_MAGIC)):
        raise CsvFileError(
            "This is an Excel workbook, not a CSV file: in Excel use File > Save "
            "As > CSV UTF-8 (Comma delimited) and upload that file (Google Sheets: "
            "File > Download > Comma Separated Values)."
        )
    if b"\x00" in data and not data.startswith(tuple(_UTF16_BOMS)):
        raise _not_text(filename)


def _not_text(filename: str) -> CsvFileError:
    name = f"{filename} " if filename else "The file "
    return CsvFileError(
        f"{name}is not a text file, so it cannot be the customers' CSV file. In "
        "Excel use File > Save As > CSV UTF-8 (Comma delimited). "
        f"{_HOW_TO_GET_TEMPLATE}"
    )


# -- decoding ------------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    """UTF-16 only with a BOM (Excel's "Unicode text"); else UTF-8, else Windows-1252.

    Strict UTF-8 first because cp1252 accepts almost any bytes: a UTF-8 file read as cp1252
    would turn "Société" into "SociÃ©tÃ©" without any error.
    """
    for bom, codec in _UTF16_BOMS.items():
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(codec)
            except UnicodeDecodeError:
                raise CsvFileError(
                    "The file starts like UTF-16 (Unicode) text but is damaged. "
                    "In Excel use File > Save As > CSV UTF-8 (Comma delimited) "
                    "and upload that file."
                ) from None
    data = data.removeprefix(_UTF8_BOM)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # The five bytes cp1252 leaves undefined become U+FFFD rather than refusing the file.
        return data.decode("cp1252", errors="replace")


def _refuse_control_characters(text: str, filename: str) -> None:
    """Binary data without NUL bytes still decodes (cp1252 takes anything): catch it here."""
    sample = text[:_CONTROL_SAMPLE]
    if sample and len(_CONTROL_CHARS.findall(sample)) > len(sample) * _CONTROL_SHARE:
        raise _not_text(filename)


# -- separator and records -----------------------------------------------------------------------


def _separator(text: str) -> tuple[str, str | None]:
    """The text without a "sep=" line, and the separator: None when there is no content.

    Decided once from the header line, because a data row's cells may contain any of them.
    """
    hint = _SEP_HINT.match(text)
    if hint and hint.group(1) in _SEPARATORS:
        return text[hint.end() :], hint.group(1)
    for line in _LINE_BREAK.split(text[:_CONTROL_SAMPLE]):
        if line.strip(_NOT_CONTENT):
            counts = _count_outside_quotes(line)
            return text, max(_SEPARATORS, key=lambda sep: counts.get(sep, 0))
    return text, None


def _count_outside_quotes(line: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in _SEPARATORS:
            counts[ch] = counts.get(ch, 0) + 1
    return counts


@cache
def _field_pattern(separator: str) -> re.Pattern[str]:
    """One cell and what ends it; a quoted cell may hold separators, "" and line breaks.

    Text after a closing quote is kept (as Excel does); an opening quote that is never closed
    matches nothing, which `_quoted_record` reports. A run of separators ends the cell and
    stands for the empty cells after it (Excel writes thousands when far cells were touched).
    """
    sep = re.escape(separator)
    return re.compile(
        rf'(?:"(?P<quoted>[^"]*+(?:""[^"]*+)*+)"(?P<tail>[^{sep}\r\n]*+)'
        rf'|(?P<plain>(?!")[^{sep}\r\n]*+))'
        rf"(?P<end>{sep}++|\r\n|\r|\n|\Z)"
    )


_BLANK_LINES = re.compile(r"(?:\r\n|\r|\n)+")
_UNQUOTED_LINE = re.compile(r'([^"\r\n]*+)(?:\r\n|\r|\n|\Z)')


def _records(text: str, separator: str) -> Iterator[tuple[int, list[str]]]:
    """Each non-empty line's row number, as Excel counts rows, and its cells.

    Lines without quotes, nearly all of them, are split in one go; only quoted ones are read
    cell by cell, which keeps a 5 MB file under a second.
    """
    pos, number = 0, 1
    while pos < len(text):
        blank = _BLANK_LINES.match(text, pos)
        if blank:
            number += len(blank.group()) - blank.group().count("\r\n")
            pos = blank.end()
            continue
        line = _UNQUOTED_LINE.match(text, pos)
        if line:
            cells, pos = line.group(1).split(separator), line.end()
        else:
            cells, pos = _quoted_record(text, pos, separator, number)
        yield number, cells
        number += 1


def _quoted_record(text: str, pos: int, separator: str, number: int) -> tuple[list[str], int]:
    """The cells of the row starting at `pos`, and where the next row starts."""
    pattern = _field_pattern(separator)
    cells: list[str] = []
    while True:
        match = pattern.match(text, pos)
        if match is None:
            raise CsvFileError(
                f'Row {number} opens a quote (") that is never closed, so the rest '
                "of the file cannot be read. Remove the stray quote, or put the "
                'whole cell in quotes and double each quote inside it ("").'
            )
        quoted = match.group("quoted")
        if quoted is None:
            cells.append(match.group("plain"))
        else:
            cells.append(quoted.replace('""', '"') + match.group("tail"))
        pos, end = match.end(), match.group("end")
        if not end.startswith(separator):
            return cells, pos
        cells.extend([""] * (len(end) - 1))
        if pos == len(text):  # the text ends with a separator: one more, empty, cell
            return [*cells, ""], pos


# -- header and rows -----------------------------------------------------------------------------


def _header_key(cell: str) -> str:
    return _HEADER_NOISE.sub("", cell).casefold()


_KNOWN_COLUMNS = {
    _header_key(title): field for title, field in zip(EXPECTED_HEADER, _FIELDS, strict=True)
}


def _read_header(cells: list[str]) -> list[str | None]:
    """The field each column holds (None for an unnamed column), or a refusal naming the fix."""
    if len(cells) > MAX_COLUMNS:  # refused before looking at them one by one
        raise CsvFileError(
            f"The header line has {len(cells):,} columns; a customer file has "
            f"{len(EXPECTED_HEADER)} (a few more may be left empty). The first line must be:\n"
            f"{_HEADER_LINE}\n{_HOW_TO_GET_TEMPLATE}"
        )
    columns: list[str | None] = []
    unknown: list[str] = []
    duplicate: list[str] = []
    for cell in cells:
        key = _header_key(cell)
        field = _KNOWN_COLUMNS.get(key)
        if key and field is None:
            unknown.append(cell.strip())
        elif field is not None and field in columns:
            duplicate.append(_title(field))
        columns.append(field)
    missing = [_title(field) for field in _FIELDS if field not in columns]
    if unknown or duplicate or missing:
        raise CsvFileError(_header_message(missing, unknown, duplicate))
    return columns


def _title(field: str) -> str:
    return EXPECTED_HEADER[_FIELDS.index(field)]


def _header_message(missing: list[str], unknown: list[str], duplicate: list[str]) -> str:
    faults = []
    if missing:
        faults.append("missing " + ", ".join(missing))
    if unknown:
        shown = ", ".join(f'"{_shorten(name)}"' for name in unknown[:UNKNOWN_SHOWN])
        more = len(unknown) - UNKNOWN_SHOWN
        faults.append("unknown " + shown + (f" and {more:,} more" if more > 0 else ""))
    if duplicate:
        faults.append("twice " + ", ".join(duplicate))
    hint = ""
    if len(unknown) == 1 and len(missing) == len(EXPECTED_HEADER):
        hint = " No comma, semicolon or tab separates the column names."
    elif any("@" in name for name in unknown):
        hint = " The first row looks like a customer: put the header line above it."
    return (
        f"The header line is not right ({'; '.join(faults)}).{hint} The first line must be:\n"
        f"{_HEADER_LINE}\nColumns may come in any order. {_HOW_TO_GET_TEMPLATE}"
    )


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _to_row(number: int, cells: list[str], columns: list[str | None], separator: str) -> CsvRow:
    values = dict.fromkeys(_FIELDS, "")
    for field, cell in zip(columns, cells, strict=False):
        if field is not None:
            values[field] = cell.strip()
    return CsvRow(number, problem=_cell_count_problem(cells, columns, separator), **values)


def _cell_count_problem(cells: list[str], columns: list[str | None], separator: str) -> str | None:
    """Cells that do not line up with the header: the row's values would land in wrong columns.

    Empty cells in unnamed columns are fine (Excel writes them for cells touched beyond the
    table); a missing cell is not, because the row then ended early or lost a separator.
    """
    width = max(i for i, field in enumerate(columns) if field is not None) + 1
    count = len(cells)
    while count > width and not cells[count - 1].strip():
        count -= 1
    name = _SEPARATOR_NAMES[separator]
    if count > width:
        return (
            f"has {count} cells, expected {width}: a {name} inside a name or address needs "
            'the cell to be quoted, like "Contoso, Ltd"'
        )
    if count < width:
        return (
            f"has {count} cells, expected {width}: every row needs a cell for each column "
            f"(an empty cell still needs its {name})"
        )
    for index, (cell, field) in enumerate(zip(cells, columns, strict=False), start=1):
        if field is None and cell.strip():
            return (
                f'has "{_shorten(cell.strip())}" in column {index}, which has no header: '
                "move it to its column or delete it"
            )
    return None


# -- writing ---------------------------------------------------------------------------------

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A cell Excel shows as text: one that starts like a formula (=, +, -, @, tab, carriage
    return) gets a leading apostrophe, so an exported name like `=HYPERLINK(...)` is never
    run when the file is opened."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def export_csv(header: list[str], rows: Iterable[Iterable[object]]) -> bytes:
    """Any CSV the bot hands out (problems of a review, exports): every cell made safe, UTF-8
    with a BOM so Excel reads accents right, CRLF line ends as Excel writes them."""
    return b"".join(data for data, _ in csv_pieces(header, rows))


CSV_PIECE_ROWS = 500  # rows per piece of a streamed CSV: small pieces, few writes


def csv_pieces(
    header: Sequence[str], rows: Iterable[Iterable[object]], per_piece: int = CSV_PIECE_ROWS
) -> Iterator[tuple[bytes, int]]:
    """`export_csv` in pieces, for files too big to hold at once: the BOM and the header
    first, then every `per_piece` rows; each piece comes with how many rows it holds."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    yield _UTF8_BOM + out.getvalue().encode("utf-8"), 0
    count = 0
    out.seek(0)
    out.truncate()
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
        count += 1
        if count == per_piece:
            yield out.getvalue().encode("utf-8"), count
            out.seek(0)
            out.truncate()
            count = 0
    if count:
        yield out.getvalue().encode("utf-8"), count
