"""The bulk-enrollment CSV reader, fed files as Excel, Google Sheets and LibreOffice write them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.csvio import (
    EXPECTED_HEADER,
    MAX_BYTES,
    MAX_ROWS,
    CsvFileError,
    CsvRow,
    export_csv,
    read_customer_csv,
    template_csv,
)
from bot.errors import ValidationError

FIXTURES = Path(__file__).parent / "fixtures" / "csv"
HEADER_LINE = "Customer Name,Email Address,Domain Name,Country Code"


def read_fixture(name: str) -> list[CsvRow]:
    return read_customer_csv((FIXTURES / name).read_bytes(), name)


def refusal(name: str) -> str:
    with pytest.raises(CsvFileError) as caught:
        read_fixture(name)
    return str(caught.value)


def refusal_of(data: bytes, filename: str = "upload.csv") -> str:
    with pytest.raises(CsvFileError) as caught:
        read_customer_csv(data, filename)
    return str(caught.value)


def cells(rows: list[CsvRow]) -> list[tuple[int, str, str, str, str]]:
    return [(r.row, r.name, r.email, r.domain, r.country) for r in rows]


def csv_bytes(*lines: str) -> bytes:
    return "".join(line + "\r\n" for line in (HEADER_LINE, *lines)).encode()


# -- what the programs write ---------------------------------------------------------------------

READABLE = {
    "excel_windows_utf8_bom_comma.csv": [
        (2, "Société Générale", "it@societegenerale.fr", "societegenerale.fr", "FR"),
        (3, "Müller GmbH", "admin@mueller-gmbh.de", "mueller-gmbh.de", "DE"),
        (4, "Østergaard & Søn ApS", "drift@oestergaard.dk", "oestergaard.dk", "DK"),
        (5, "株式会社サンプル", "it@sample.co.jp", "sample.co.jp", "JP"),
    ],
    "excel_windows_cp1252_comma.csv": [
        (2, "Société Générale", "it@societegenerale.fr", "societegenerale.fr", "FR"),
        (3, "Müller GmbH", "admin@mueller-gmbh.de", "mueller-gmbh.de", "DE"),
        (4, "O’Brien & Associates", "it@obrien.ie", "obrien.ie", "IE"),
        (5, "“Zur Post” Gasthaus – Süd", "info@zurpost.at", "zurpost.at", "AT"),
    ],
    "excel_european_semicolon_cp1252.csv": [
        (2, "Dupont, Fils & Cie", "contact@dupont-fils.fr", "dupont-fils.fr", "FR"),
        (3, "Bäckerei Groß", "it@baeckerei-gross.de", "baeckerei-gross.de", "DE"),
        (4, "Bau; Holz AG", "office@bauholz.ch", "bauholz.ch", "CH"),
    ],
    "excel_unicode_text_utf16le_tab.txt": [
        (2, "Łódź Sp. z o.o.", "biuro@lodz-sp.pl", "lodz-sp.pl", "PL"),
        (3, "Ελληνική Εταιρεία Α.Ε.", "it@elliniki.gr", "elliniki.gr", "GR"),
        (4, 'Café "Central"', "office@cafecentral.at", "cafecentral.at", "AT"),
    ],
    "utf16be_bom.csv": [
        (2, "Nordic Ångström AB", "it@angstrom.se", "angstrom.se", "SE"),
        (3, "Fabrikam Inc", "ops@fabrikam.com", "fabrikam.com", "US"),
    ],
    "google_sheets_lf.csv": [
        (2, "Adventure Works", "admin@adventure-works.com", "adventure-works.com", "US"),
        (3, "São Paulo Tecnologia Ltda", "ti@sptecnologia.com.br", "sptecnologia.com.br", "BR"),
        (4, "Northwind Traders", "it@northwind.ca", "northwind.ca", "CA"),
    ],
    "mac_excel_cr_only.csv": [
        (2, "Tailspin Toys", "it@tailspintoys.com", "tailspintoys.com", "US"),
        (
            3,
            "Wide World Importers",
            "admin@wideworldimporters.co.uk",
            "wideworldimporters.co.uk",
            "GB",
        ),
    ],
    "quoted_commas_and_linebreaks.csv": [
        (2, "Contoso, Ltd", "it@contoso.com", "contoso.com", "US"),
        (3, 'The "Best" Bikes', "sales@bestbikes.com", "bestbikes.com", "US"),
        (4, "Fabrikam\nEurope B.V.", "it@fabrikam.nl", "fabrikam.nl", "NL"),
        (5, "Litware Inc", "admin@litware.com", "litware.com", "US"),  # after the 2-line cell
    ],
    "libreoffice_quote_all.csv": [
        (2, "Proseware, Inc.", "it@proseware.com", "proseware.com", "US"),
        (3, "Lucerne Publishing", "admin@lucernepublishing.com", "lucernepublishing.com", "CH"),
    ],
    "header_case_and_spacing.csv": [
        (2, "Coho Winery", "it@cohowinery.com", "cohowinery.com", "US"),
    ],
    "reordered_columns.csv": [
        (2, "Graphic Design Institute", "it@graphicdesign.co.nz", "graphicdesign.co.nz", "NZ"),
        (3, "Margie's Travel", "admin@margiestravel.com.au", "margiestravel.com.au", "AU"),
    ],
    "trailing_empty_columns.csv": [
        (2, "Alpine Ski House", "it@alpineskihouse.com", "alpineskihouse.com", "CA"),
        (3, "Blue Yonder Airlines", "ops@blueyonder.com", "blueyonder.com", "US"),
    ],
    "blank_lines.csv": [
        (3, "First Up Consultants", "it@firstupconsultants.com", "firstupconsultants.com", "US"),
        (8, "Humongous Insurance", "it@humongousinsurance.com", "humongousinsurance.com", "US"),
    ],
}


@pytest.mark.parametrize("name", sorted(READABLE))
def test_each_program_s_file_reads_as_the_spreadsheet_shows_it(name):
    rows = read_fixture(name)
    assert cells(rows) == READABLE[name]
    assert [r.problem for r in rows] == [None] * len(rows)


def test_rows_that_do_not_line_up_are_returned_with_their_problem():
    rows = read_fixture("ragged_rows.csv")
    assert [r.row for r in rows] == [2, 3, 4, 5]
    fine, extra_cell, missing_cell, extra_empty = rows
    assert fine.problem is None and fine.name == "Trey Research"
    assert extra_cell.problem is not None
    assert extra_cell.problem.startswith("has 5 cells, expected 4")
    assert "quoted" in extra_cell.problem and '"Contoso, Ltd"' in extra_cell.problem
    assert extra_cell.name == "Woodgrove Bank"  # as read, so the review can show it
    assert missing_cell.problem is not None
    assert missing_cell.problem.startswith("has 3 cells, expected 4")
    assert missing_cell.country == ""
    assert extra_empty.problem is None and extra_empty.country == "GB"


def test_a_value_in_a_column_without_header_is_a_row_problem():
    data = (
        b"Customer Name,,Email Address,Domain Name,Country Code\r\n"
        b"Alpha Ltd,oops,it@alpha.com,alpha.com,US\r\n"
        b"Beta Ltd,,it@beta.com,beta.com,US\r\n"
    )
    oops, fine = read_customer_csv(data)
    assert oops.problem is not None and '"oops" in column 2' in oops.problem
    assert (oops.name, oops.email) == ("Alpha Ltd", "it@alpha.com")
    assert fine.problem is None and fine.email == "it@beta.com"


# -- header --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "customer_name,email_address,domain_name,country_code",
        "CustomerName,EmailAddress,DomainName,CountryCode",
        '" Customer Name ","EMAIL ADDRESS","Domain  Name","Country Code"',
    ],
)
def test_header_names_in_any_case_spacing_or_underscores(header):
    data = f"{header}\r\nAlpha Ltd,it@alpha.com,alpha.com,US\r\n".encode()
    assert cells(read_customer_csv(data)) == [(2, "Alpha Ltd", "it@alpha.com", "alpha.com", "US")]


def test_wrong_header_names_the_columns_and_shows_the_expected_line():
    message = refusal("wrong_header.csv")
    assert "missing Email Address, Country Code" in message
    assert 'unknown "Email", "Country"' in message
    assert f"\n{HEADER_LINE}\n" in message
    assert "template" in message


def test_a_file_without_header_is_told_to_add_it():
    message = refusal_of(b"Contoso,it@contoso.com,contoso.com,US\r\n")
    assert "looks like a customer: put the header line above it" in message
    assert HEADER_LINE in message


def test_a_header_without_known_separator_says_so():
    message = refusal_of(b"Customer Name|Email Address|Domain Name|Country Code\r\na|b|c|d\r\n")
    assert "No comma, semicolon or tab" in message


def test_a_column_twice_is_refused():
    message = refusal_of(HEADER_LINE.encode() + b",Email Address\r\na,b@c.com,c.com,US,x\r\n")
    assert "twice Email Address" in message


# -- separators, quoting, line ends --------------------------------------------------------------


def test_separator_comes_from_the_header_not_from_the_cells():
    data = csv_bytes("Alpha; Beta; Gamma Ltd,it@abg.com,abg.com,US")
    assert cells(read_customer_csv(data)) == [
        (2, "Alpha; Beta; Gamma Ltd", "it@abg.com", "abg.com", "US")
    ]


def test_excel_sep_hint_line_is_honoured_and_not_counted():
    data = (
        b"sep=;\r\nCustomer Name;Email Address;Domain Name;Country Code\r\n"
        b"Alpha, Inc;it@alpha.com;alpha.com;US\r\n"
    )
    assert cells(read_customer_csv(data)) == [(2, "Alpha, Inc", "it@alpha.com", "alpha.com", "US")]


def test_last_row_without_line_end_and_with_trailing_separator():
    data = (HEADER_LINE + "\r\nAlpha Ltd,it@alpha.com,alpha.com,US,").encode()
    rows = read_customer_csv(data)
    assert cells(rows) == [(2, "Alpha Ltd", "it@alpha.com", "alpha.com", "US")]
    assert rows[0].problem is None


@pytest.mark.parametrize("line_end", ["\r\n", "\n", "\r"])
def test_row_numbers_count_runs_of_blank_lines_with_any_line_end(line_end):
    text = line_end.join(
        [
            HEADER_LINE,
            "",
            "",
            "Alpha Ltd,it@alpha.com,alpha.com,US",
            "",
            "",
            "",
            "Beta Ltd,it@beta.com,beta.com,US",
        ]
    )
    assert [r.row for r in read_customer_csv(text.encode())] == [4, 8]


def test_empty_cells_after_a_quoted_cell_keep_their_columns():
    rows = read_customer_csv(csv_bytes('"Alpha, Ltd",,,US', '"Beta, Ltd",,beta.com,'))
    assert cells(rows) == [(2, "Alpha, Ltd", "", "", "US"), (3, "Beta, Ltd", "", "beta.com", "")]
    assert [r.problem for r in rows] == [None, None]


def test_cells_lose_surrounding_spaces_only():
    rows = read_customer_csv(csv_bytes("  Alpha  Ltd , it@alpha.com ,\u00a0alpha.com\t, us "))
    assert cells(rows) == [(2, "Alpha  Ltd", "it@alpha.com", "alpha.com", "us")]


def test_a_quoted_row_ending_the_file_with_an_empty_cell_keeps_it():
    data = (HEADER_LINE + '\r\n"Alpha, Ltd",it@alpha.com,alpha.com,').encode()
    rows = read_customer_csv(data)
    assert cells(rows) == [(2, "Alpha, Ltd", "it@alpha.com", "alpha.com", "")]
    assert rows[0].problem is None


def test_a_quote_never_closed_refuses_the_file_naming_its_row():
    data = csv_bytes(
        "Alpha Ltd,it@alpha.com,alpha.com,US",
        '"Beta Ltd,it@beta.com,beta.com,US',
        "Gamma Ltd,it@gamma.com,gamma.com,US",
    )
    message = refusal_of(data)
    assert message.startswith('Row 3 opens a quote (")')
    assert '("")' in message


def test_utf8_is_preferred_so_accents_are_not_mangled():
    rows = read_customer_csv(csv_bytes("Société Générale,it@sg.fr,sg.fr,FR"))
    assert rows[0].name == "Société Générale"


def test_cp1252_with_a_utf8_bom_still_reads():
    data = b"\xef\xbb\xbf" + csv_bytes("M\xfcller GmbH,it@mueller.de,mueller.de,DE")
    assert read_customer_csv(data)[0].name == "Müller GmbH"


# -- refusals ------------------------------------------------------------------------------------


def test_refusals_are_validation_errors():
    assert issubclass(CsvFileError, ValidationError)


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\r\n  \r\n", b",,,\r\n,,,"])
def test_empty_files_are_refused(data):
    assert refusal_of(data).startswith("The file is empty.")


def test_empty_fixture_is_refused():
    message = refusal("empty.csv")
    assert message.startswith("The file is empty.") and "template" in message


def test_header_without_customers_is_refused():
    message = refusal("header_only.csv")
    assert "header line but no customer rows" in message


def test_xlsx_workbook_says_how_to_save_as_csv():
    message = refusal("workbook.xlsx")
    assert message.startswith(
        "This is an Excel workbook, not a CSV file: in Excel use File > "
        "Save As > CSV UTF-8 (Comma delimited)"
    )


def test_old_xls_workbook_says_how_to_save_as_csv():
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    assert refusal_of(data, "customers.xls").startswith("This is an Excel workbook")


def test_libreoffice_spreadsheet_says_how_to_save_as_csv():
    data = b"PK\x03\x04" + b"\x00" * 26 + b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet"
    assert "File > Save As > Text CSV" in refusal_of(data, "customers.ods")


def test_binary_file_is_not_text():
    message = refusal("binary.bin")
    assert message.startswith("binary.bin is not a text file")
    assert "CSV UTF-8" in message


def test_binary_without_nul_bytes_is_not_text():
    compressed_like = bytes((i * 73 + 41) % 255 + 1 for i in range(4096))  # 1..255, evenly
    assert b"\x00" not in compressed_like
    assert "not a text file" in refusal_of(compressed_like)


def test_a_stray_control_character_in_a_cell_is_still_text():
    rows = read_customer_csv(csv_bytes("Alpha\x0bLtd,it@alpha.com,alpha.com,US"))
    assert rows[0].name == "Alpha\x0bLtd"  # left for validation to refuse by row


def test_damaged_utf16_is_refused():
    data = b"\xff\xfe" + HEADER_LINE.encode("utf-16-le") + b"A"  # odd byte count
    assert "UTF-16" in refusal_of(data)


def test_too_many_rows_is_refused_with_the_limit():
    rows = [f"Customer {i},it@c{i}.com,c{i}.com,US" for i in range(MAX_ROWS + 1)]
    message = refusal_of(csv_bytes(*rows))
    assert "10,000" in message and "Split" in message


def test_the_row_limit_itself_is_accepted():
    rows = read_customer_csv(
        csv_bytes(*[f"C {i},it@c{i}.com,c{i}.com,US" for i in range(MAX_ROWS)])
    )
    assert len(rows) == MAX_ROWS and rows[-1].row == MAX_ROWS + 1
    assert rows[-1].domain == f"c{MAX_ROWS - 1}.com"


def test_too_big_is_refused_before_decoding():
    data = b"\xff" * (MAX_BYTES + 1)  # not valid in any encoding we read
    message = refusal_of(data)
    assert "the limit is 5 MB" in message and "Split" in message


def test_the_byte_limit_itself_is_accepted():
    head = csv_bytes("Alpha Ltd,it@alpha.com,alpha.com,US")
    data = head + b" " * (MAX_BYTES - len(head))
    assert len(data) == MAX_BYTES
    assert cells(read_customer_csv(data)) == [(2, "Alpha Ltd", "it@alpha.com", "alpha.com", "US")]


# -- template ------------------------------------------------------------------------------------


def test_template_is_excel_friendly():
    data = template_csv()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data[3:].decode("utf-8").split("\r\n")
    assert lines == [HEADER_LINE, "Contoso Ltd,it-admin@contoso.example,contoso.example,US", ""]
    assert ",".join(EXPECTED_HEADER) == HEADER_LINE


def test_template_reads_back_as_its_example_row():
    assert read_customer_csv(template_csv()) == [
        CsvRow(2, "Contoso Ltd", "it-admin@contoso.example", "contoso.example", "US")
    ]


def test_a_header_with_two_million_columns_is_refused_after_the_header_in_a_short_answer():
    data = (",".join(f"c{i}" for i in range(2_000_000)) + "\r\nA,b@c.com,c.com,US\r\n").encode()
    with pytest.raises(CsvFileError) as refused:
        read_customer_csv(data[: 5 * 1024 * 1024 - 1], "wide.csv")
    message = str(refused.value)
    assert "columns; a customer file has 4" in message and len(message) < 400


def test_many_unknown_columns_are_summarised_not_listed():
    header = "Customer Name,Email Address,Domain Name,Country Code," + ",".join(
        f"Extra {i}" for i in range(40)
    )
    with pytest.raises(CsvFileError) as refused:
        read_customer_csv(f"{header}\r\nA,b@c.com,c.com,US\r\n".encode(), "extra.csv")
    assert "and 35 more" in str(refused.value) and len(str(refused.value)) < 600


def test_exported_cells_that_start_like_a_formula_are_made_text():
    data = export_csv(
        ["Row", "Problem"],
        [
            (2, '=HYPERLINK("http://evil","x")'),
            (3, "+1"),
            (4, "-2"),
            (5, "@SUM(A1)"),
            (6, "\tx"),
            (7, "\rx"),
            (8, "fine"),
        ],
    )
    text = data.decode("utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbf")
    lines = text.split("\r\n")
    assert lines[1] == '2,"\'=HYPERLINK(""http://evil"",""x"")"'
    assert [line.split(",", 1)[1] for line in lines[2:7]] == [
        "'+1",
        "'-2",
        "'@SUM(A1)",
        "'\tx",
        '"\'\rx"',
    ]
    assert lines[7] == "8,fine"
