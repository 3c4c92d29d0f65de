"""CSV files as real exports write them: delimiters, encodings, headers, line ends, quoting,
datetimes with offsets and fractions; correct rows, rejects and line numbers for each."""

from __future__ import annotations

import io
import json
import random
import re
import time

import pytest
from werkzeug.datastructures import FileStorage

from hrapi.ingest.rejects import printable
from tests.helpers import assert_counts_add_up, batch, load_parents, upload_csv

ROWS = [
    ("1", "Zoë Muñoz", "2021-03-04T05:06:07Z", "1", "1"),
    ("2", "Smith, Jo", "2021-03-04T05:06:07+00:00", "2", "2"),
    ("3", 'Say "hi"', "2021-12-31T23:30:00-05:00", "1", "2"),
    ("4", "", "2021-03-04T05:06:07Z", "1", "1"),  # rejected: no name
    ("5", "Renée", "2021-03-04T05:06:07.123456+02:00", "3", "3"),
]
STORED = {  # id: (name, datetime in UTC as PostgreSQL gives it back)
    1: ("Zoë Muñoz", "2021-03-04 05:06:07+00"),
    2: ("Smith, Jo", "2021-03-04 05:06:07+00"),
    3: ('Say "hi"', "2022-01-01 04:30:00+00"),
    5: ("Renée", "2021-03-04 03:06:07.123456+00"),
}


def write(rows, delimiter=",", end="\n", quote_all=False, header=None) -> str:
    def cell(value: str) -> str:
        if quote_all or any(c in value for c in (delimiter, '"', "\n", "\r")):
            return '"' + value.replace('"', '""') + '"'
        return value

    lines = [delimiter.join(header)] if header else []
    lines += [delimiter.join(map(cell, row)) for row in rows]
    return end.join(lines) + end


def stored(sql) -> dict:
    rows = sql("SELECT id, name, (datetime AT TIME ZONE 'UTC')::text FROM hired_employees")
    return {i: (name, when + "+00") for i, name, when in rows}


DIALECTS = {
    "comma LF": ({}, {}),
    "CRLF": ({"end": "\r\n"}, {}),
    "lone CR": ({"end": "\r"}, {}),
    "all quoted": ({"quote_all": True, "end": "\r\n"}, {}),
    "semicolon": ({"delimiter": ";"}, {"delimiter": ";"}),
    "pipe": ({"delimiter": "|"}, {"delimiter": "|"}),
    "tab": ({"delimiter": "\t"}, {"delimiter": "tab"}),
}


@pytest.mark.parametrize("dialect", list(DIALECTS))
@pytest.mark.parametrize("encoding", ["utf-8", "latin-1", "cp1252", "utf-16"])
def test_every_dialect_and_encoding_loads_the_same_rows(client, sql, dialect, encoding):
    load_parents(client)
    layout, params = DIALECTS[dialect]
    body = write(ROWS, **layout).encode(encoding)
    report = upload_csv(client, "hired_employees", body, encoding=encoding, **params).get_json()
    assert_counts_add_up(report)
    assert (report["inserted"], report["rejected"]) == (4, 1), report
    assert report["rejects"][0]["line"] == 4
    assert stored(sql) == STORED


@pytest.mark.parametrize("header", ["auto", "true"])
def test_a_header_maps_columns_by_name_in_any_order_and_case(client, sql, header):
    load_parents(client)
    order = ["JOB_ID", "Name", "id", "datetime", "department_id"]
    at = [4, 1, 0, 2, 3]
    rows = [tuple(row[i] for i in at) for row in ROWS]
    text = "\ufeff" + write(rows, header=order)
    report = upload_csv(client, "hired_employees", text, header=header).get_json()
    assert (report["inserted"], report["rejected"]) == (4, 1), report
    assert report["rejects"][0]["line"] == 5  # the header is line 1
    assert stored(sql) == STORED


def test_header_problems_are_422_naming_the_columns(client, sql):
    bad = upload_csv(client, "departments", "id,dept,extra\n1,Sales,x\n")
    assert bad.status_code == 422
    message = bad.get_json()["message"]
    assert "'dept'" in message and "'extra'" in message and "'department'" in message
    assert upload_csv(client, "departments", "1,Sales\n", header="true").status_code == 422
    as_data = upload_csv(client, "departments", "id,department\n1,Sales\n", header="false")
    assert as_data.get_json()["rejected"] == 1  # "id" is not an integer
    assert sql("SELECT id FROM departments") == [(1,)]
    assert upload_csv(client, "departments", "1,Sales\n", header="maybe").status_code == 422


def test_a_header_of_many_fields_is_a_short_422_at_once(client):
    """A first line of 60,000 fields (names repeated and unknown): each name is counted once,
    not looked for in the whole line (25 s here; minutes for longer lines), and the answer
    names a few."""
    names = ["id", "department"] + [f"c{i % 1000}" for i in range(60_000)]
    started = time.monotonic()
    response = upload_csv(client, "departments", ",".join(names) + "\n1,Sales\n", header="true")
    assert time.monotonic() - started < 10
    assert response.status_code == 422
    message = response.get_json()["message"]
    assert "'c0', 'c1', 'c2', 'c3', 'c4' and 995 more" in message
    assert "repeated columns 'c0'" in message and len(message) < 1000


def test_bytes_not_valid_in_the_encoding_are_rejected_per_line(client, sql):
    cp1252 = b"1,Caf\xe9\n2,Bad \x81 byte\n3,Fine\n"  # 0x81 is undefined in cp1252
    report = upload_csv(client, "departments", cp1252, encoding="cp1252").get_json()
    assert (report["inserted"], report["rejected"]) == (2, 1)
    assert report["rejects"][0]["line"] == 2
    assert report["rejects"][0]["errors"][0]["code"] == "encoding-error"
    assert "CP1252" in report["rejects"][0]["errors"][0]["message"]
    assert sql("SELECT department FROM departments WHERE id = 1") == [("Café",)]
    no_bom = "1,Sales\n".encode("utf-16-le")
    response = upload_csv(client, "departments", no_bom, encoding="utf-16")
    assert response.status_code == 422 and "byte order mark" in response.get_json()["message"]
    assert upload_csv(client, "departments", b"1,x\n", encoding="ebcdic").status_code == 422


@pytest.mark.parametrize("encoding", [None, "utf-8", "cp1252", "latin-1"])
@pytest.mark.parametrize("utf16", ["utf-16-le", "utf-16-be"])
def test_a_utf16_file_sent_as_another_encoding_says_to_send_utf16(client, sql, encoding, utf16):
    """Excel's "Unicode text" read as UTF-8 or latin-1 made every row a reject of NULs."""
    body = "\ufeff1,Sales\n2,Ops\n".encode(utf16)
    options = {} if encoding is None else {"encoding": encoding}
    response = upload_csv(client, "departments", body, **options)
    assert response.status_code == 422, response.get_json()
    assert "send encoding=utf-16" in response.get_json()["message"]
    assert sql("SELECT count(*) FROM departments") == [(0,)]
    assert upload_csv(client, "departments", body, encoding="utf-16").status_code == 201
    assert sql("SELECT department FROM departments ORDER BY id") == [("Sales",), ("Ops",)]


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_a_utf8_file_sent_as_a_single_byte_encoding_says_to_send_utf8(client, sql, encoding):
    """Excel's "CSV UTF-8" (a byte order mark first) read as cp1252 or latin-1 stored every
    accented name garbled (José as JosÃ©), without a reject: every byte is a letter there."""
    body = "\ufeffid,department\n1,Sécurité\n".encode()
    response = upload_csv(client, "departments", body, encoding=encoding)
    assert response.status_code == 422, response.get_json()
    assert "send encoding=utf-8" in response.get_json()["message"]
    assert sql("SELECT count(*) FROM departments") == [(0,)]
    assert upload_csv(client, "departments", body).status_code == 201
    assert sql("SELECT department FROM departments") == [("Sécurité",)]


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_utf8_rows_read_as_a_single_byte_encoding_are_rejected_not_stored_garbled(
    client, sql, encoding
):
    """A UTF-8 file (no byte order mark) sent as cp1252 or latin-1: its accented names read as
    two letters each (José as JosÃ©), valid in those encodings. Those rows are rejected with
    the reason; the ASCII ones load, as they read the same in every one."""
    body = "1,Sécurité\n2,Sales\n3,Ángel Ruiz\n".encode()
    report = upload_csv(client, "departments", body, encoding=encoding).get_json()
    assert (report["inserted"], report["rejected"]) == (1, 2), report
    for reject in report["rejects"]:
        assert reject["errors"][0]["code"] == "encoding-error"
        assert "send encoding=utf-8" in reject["reasons"][0], reject
    assert "'Sécurité' in UTF-8" in report["rejects"][0]["reasons"][0]
    assert sql("SELECT department FROM departments") == [("Sales",)]
    assert upload_csv(client, "departments", body).get_json()["inserted"] == 2


@pytest.mark.parametrize(("given", "named"), [
    ({"encoding": "ISO-8859-1", "delimiter": "\t", "header": "TRUE"},
     {"encoding": "latin-1", "delimiter": "tab", "header": "true"}),
    ({"encoding": "Latin1", "delimiter": "TAB", "header": "Auto"},
     {"encoding": "latin-1", "delimiter": "tab", "header": "auto"}),
    ({"encoding": "windows-1252", "delimiter": "\\t", "header": "true"},
     {"encoding": "cp1252", "delimiter": "tab", "header": "true"}),
])  # fmt: skip
def test_options_are_taken_in_any_case_and_by_their_other_names(client, sql, given, named):
    body = "id\tdepartment\n1\tCaf\u00e9\n".encode("latin-1")
    report = upload_csv(client, "departments", body, **given).get_json()
    assert (report["inserted"], report["rejected"]) == (1, 0), report
    assert sql("SELECT department FROM departments") == [("Caf\u00e9",)]
    options = client.get(f"/api/v1/loads/{report['load_id']}").get_json()["options"]
    assert {k: options[k] for k in named} == named  # recorded by the names the docs give


@pytest.mark.parametrize("value", ["utf-16-le", "ascii", "a\x00b", "x" * 5000, ""])
def test_an_encoding_we_do_not_read_is_a_422_naming_the_ones_we_do(client, value):
    response = upload_csv(client, "departments", b"1,x\n", encoding=value)
    assert response.status_code == 422
    assert "utf-8, latin-1, cp1252, utf-16" in json.dumps(response.get_json())


@pytest.mark.parametrize("query", [{}, {"encoding": "latin-1"}])
def test_the_content_types_charset_is_the_files_encoding(client, sql, query):
    body = "1,Caf\u00e9\n2,Se\u00f1or\n".encode("latin-1")
    response = client.post("/api/v1/tables/departments/upload", data=body, query_string=query,
                           content_type="text/csv; charset=ISO-8859-1")  # fmt: skip
    report = response.get_json()
    assert (report["inserted"], report["rejected"]) == (2, 0), report
    assert sql("SELECT department FROM departments ORDER BY id") == [("Caf\u00e9",),
                                                                     ("Se\u00f1or",)]  # fmt: skip
    options = client.get(f"/api/v1/loads/{report['load_id']}").get_json()["options"]
    assert options["encoding"] == "latin-1"


def test_a_file_parts_charset_is_its_encoding(client, sql):
    part = FileStorage(io.BytesIO("1,Caf\u00e9\n".encode("cp1252")), filename="d.csv",
                       content_type="text/csv; charset=windows-1252")  # fmt: skip
    response = client.post("/api/v1/uploads", data={"departments": part},
                           content_type="multipart/form-data")  # fmt: skip
    assert response.status_code == 201, response.get_json()
    assert sql("SELECT department FROM departments") == [("Caf\u00e9",)]


@pytest.mark.parametrize(
    ("content_type", "query", "named"),
    [("text/csv; charset=iso-8859-1", {"encoding": "utf-8"}, "charset=latin-1"),
     ("text/csv; charset=ebcdic", {}, "'ebcdic'")],
)  # fmt: skip
def test_a_charset_we_do_not_read_or_that_the_query_contradicts_is_a_422(client, sql,
                                                                         content_type, query,
                                                                         named):  # fmt: skip
    response = client.post("/api/v1/tables/departments/upload", data=b"1,x\n",
                           query_string=query, content_type=content_type)  # fmt: skip
    assert response.status_code == 422
    assert named in response.get_json()["message"]
    assert sql("SELECT count(*) FROM loads") == [(0,)]


@pytest.mark.parametrize(
    ("body", "query", "hint"),
    [(b"1;Sales\n2;Ops\n", {}, "send delimiter=;."),
     (b"1\tSales\n2\tOps\n", {}, "Split at tabs it has 2"),
     (b"1,Sales\n2,Ops\n", {"delimiter": "|"}, "send delimiter=,."),
     (b'"1,Sales"\n"2,Ops"\n', {}, None)],  # one quoted field: its comma is no delimiter
)  # fmt: skip
def test_a_file_read_with_the_wrong_delimiter_says_which_one_fits(client, body, query, hint):
    report = upload_csv(client, "departments", body, **query).get_json()
    assert (report["inserted"], report["rejected"]) == (0, 2)
    for line, reject in zip((1, 2), report["rejects"], strict=True):
        assert reject["line"] == line
        reason = reject["reasons"][0]
        assert reason.startswith("Expected 2 fields (id,department), got 1.")
        assert (hint in reason) if hint else reason.endswith("got 1."), reason


def test_windows_1252_sent_as_latin_1_is_rejected_not_stored_garbled(client, sql):
    body = "1,\u201cSales\u201d\n2,Caf\u00e9\n3,R&D \u20ac\n".encode("cp1252") + b"4,x\x81y\n"
    report = upload_csv(client, "departments", body, encoding="latin-1").get_json()
    assert (report["inserted"], report["rejected"]) == (1, 3), report
    errors = {r["line"]: r["errors"][0] for r in report["rejects"]}
    assert sorted(errors) == [1, 3, 4]
    assert {e["code"] for e in errors.values()} == {"encoding-error"}
    assert "U+0093 (the byte 0x93), which windows-1252 reads as '\u201c'" in errors[1]["message"]
    assert errors[3]["message"].endswith("send encoding=cp1252.")
    assert sql("SELECT department FROM departments") == [("Caf\u00e9",)]
    again = upload_csv(client, "departments", body, encoding="cp1252").get_json()
    assert (again["inserted"], again["unchanged"], again["rejected"]) == (2, 1, 1), again
    assert sql("SELECT department FROM departments WHERE id = 1") == [("\u201cSales\u201d",)]


@pytest.mark.parametrize("endian", ["le", "be"])
def test_utf16_that_does_not_decode_is_rejected_per_line_not_a_500(client, sql, endian):
    """UTF-16's undecodable code units (a lone surrogate, an odd last byte) hold bytes below
    0x80, which Python's "surrogateescape" refuses by raising: they are rejects too."""

    def utf16(text: str) -> bytes:
        return text.encode(f"utf-16-{endian}")

    lone = b"\x00\xd8" if endian == "le" else b"\xd8\x00"  # a high surrogate alone
    body = (b"\xff\xfe" if endian == "le" else b"\xfe\xff") + utf16("1,Sales\n2,X") + lone
    body += utf16("Y\n3,Ops\n4,Z")[:-1]  # the last code unit cut in half
    response = upload_csv(client, "departments", body, encoding="utf-16")
    assert response.status_code == 201, response.get_json()
    report = response.get_json()
    assert (report["inserted"], report["rejected"]) == (2, 2)
    assert [r["line"] for r in report["rejects"]] == [2, 4]
    assert {r["errors"][0]["code"] for r in report["rejects"]} == {"encoding-error"}
    assert "UTF-16" in report["rejects"][0]["errors"][0]["message"]
    assert report["rejects"][0]["raw"] == ("2,X\\x00\\xd8Y" if endian == "le" else "2,X\\xd8\\x00Y")
    assert sql("SELECT id, department FROM departments ORDER BY id") == [(1, "Sales"), (3, "Ops")]


def test_quoted_line_breaks_keep_line_numbers(client, sql):
    text = '1,"two\nlines"\n2,\n3,"three\r\nmore\r\nlines"\n4,\n5,Last\n'
    report = upload_csv(client, "departments", text).get_json()
    assert [r["line"] for r in report["rejects"]] == [3, 7]
    assert sql("SELECT id FROM departments ORDER BY id") == [(1,), (3,), (5,)]


# Datetimes as other platforms export them, each stored as PostgreSQL reads its text: .NET's
# seven decimals, Java's and Go's nine, SQL Server's space before the offset, a lower-case z;
# rounded to the microsecond (halves, and carries into the next second and year, included).
# February 29 sends its rows to the schema, whose value must agree too; ten-digit ids do not.
FINE_INSTANTS = ["2021-07-27T16:02:08.1234567Z", "2021-07-27T16:02:08.123456789-05:00",
                 "2021-07-27 16:02:08.1234567 +00:00", "2021-07-27T16:02:08.123 +05:30",
                 "2021-12-31T23:59:59.9999999Z", "2021-07-27T16:02:08.0000005Z",
                 "2021-07-27T16:02:08.0000015z", "2024-02-29T23:59:59.9999995+00:00",
                 "2024-02-29 12:00:00.1234565 -08:00",
                 "2021-07-27T16:02:08.12345678901Z"]  # fmt: skip


@pytest.mark.parametrize("form", ["csv", "json"])
def test_datetimes_finer_than_a_microsecond_are_stored_as_postgresql_reads_them(client, sql,
                                                                               form):  # fmt: skip
    load_parents(client)
    rows = [(i, f"Person {i}", when, 1, 1) for i, when in enumerate(FINE_INSTANTS, start=1)]
    rows.append((1234567890, "Ten digits", FINE_INSTANTS[0], 1, 1))
    if form == "csv":
        report = upload_csv(client, "hired_employees", write([map(str, r) for r in rows]))
    else:
        columns = ("id", "name", "datetime", "department_id", "job_id")
        objects = [dict(zip(columns, row, strict=True)) for row in rows]
        report = batch(client, "hired_employees", objects)
    assert report.status_code == 201, report.get_json()
    assert report.get_json()["inserted"] == len(rows), report.get_json()
    given = {i: when for i, _, when, _, _ in rows}
    stored_rows = sql("SELECT id, datetime FROM hired_employees")
    read = dict(sql("SELECT id, value::timestamptz FROM json_each_text(%s) AS given(id, value)",
                    [json.dumps({str(i): when for i, when in given.items()})]))  # fmt: skip
    assert {i: when for i, when in stored_rows} == {int(i): when for i, when in read.items()}
    assert sql("SELECT count(*) FROM hired_employees WHERE datetime >= '2022-01-01'") == [(3,)]


def test_records_of_many_lines_among_many_keep_every_line_number(client, sql):
    """Names with line breaks (LF, CRLF, a lone CR) inside quotes, some with a NUL, among
    thousands of records in a chunk: each reject's line is the line its record starts on."""
    rng = random.Random("spans")
    lines, starts, line = [], {}, 1
    for i in range(1, 9_001):
        nul = "nul\x00\nname" if i < 500 else "Ann"  # a NUL in the first chunks only
        name = rng.choice(["Ann Lee", "Ann Lee", "Ann Lee", "Ann\nLee", "A\r\nB\nC", "Ann\rLee",
                           "\n", nul])  # fmt: skip
        when = "nope" if rng.random() < 0.05 else "2021-07-27T16:02:08Z"
        first = rng.choice([str(i)] * 9 + [f'"{i}\r\n"'])  # a break in the first field too
        record = f'{first},"{name}",{when},1,1\n'
        starts[i] = line
        lines.append(record)
        line += record.count("\n") + record.count("\r") - record.count("\r\n")
    load_parents(client)
    report = upload_csv(client, "hired_employees", "".join(lines)).get_json()
    assert report["received"] == 9_000 and report["rejected"] > 1_000, report
    rejects = sql("SELECT line, raw FROM load_rejects WHERE load_id = %s", [report["load_id"]])
    assert len(rejects) == report["rejected"]
    found = {int(re.match(r'"?([0-9]+)', raw).group(1)): (at, raw) for at, raw in rejects}
    assert found == {i: (starts[i], printable(lines[i - 1].rstrip("\r\n"))) for i in found}


def test_seed_takes_the_csv_options(runner, sql, tmp_path):
    (tmp_path / "departments.csv").write_text("id;department\n1;Sales\n", encoding="latin-1")
    (tmp_path / "jobs.csv").write_text("id;job\n1;Clerk\n", encoding="latin-1")
    (tmp_path / "hired_employees.csv").write_text(
        "id;name;datetime;department_id;job_id\n1;José;2021-01-01T00:00:00-03:00;1;1\n",
        encoding="latin-1",
    )
    result = runner.invoke(args=["seed", str(tmp_path), "--delimiter", ";", "--encoding",
                                 "ISO-8859-1", "--header", "True"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sql("SELECT name, datetime AT TIME ZONE 'UTC' FROM hired_employees")[0][0] == "José"
