"""CSV uploads: the data dictionary, the load semantics and the report, on a real database."""

from __future__ import annotations

import csv
import gzip
import io
import logging
import re
import time

import pytest
from werkzeug.datastructures import MultiDict

from hrapi import synthetic
from hrapi.config import Settings
from hrapi.ingest import parallel
from hrapi.ingest import session as load_session
from hrapi.ingest.sources import CHUNK_ROWS, FIRST_CHUNK_ROWS, CsvInput
from hrapi.tables import TABLES
from tests.helpers import (
    SlowBody,
    assert_counts_add_up,
    batch,
    load_parents,
    upload_csv,
    upload_in_background,
)

HIRE = "2021-03-04T05:06:07Z"


def reasons_by_line(report):
    return {r["line"]: r["reasons"] for r in report["rejects"]}


def test_fixture_files_load_through_multi_upload(client, sql, tmp_path):
    paths = synthetic.generate(tmp_path, hires=600, seed=7)
    with paths["hired_employees"].open(newline="") as handle:
        hires = list(csv.reader(handle))
    expected_rejects = sum(1 for row in hires if "" in row)
    # Fields in the "wrong" order in the body: the API still loads parents first.
    data = {name: (paths[name].open("rb"), f"{name}.csv") for name in reversed(list(paths))}
    response = client.post("/api/v1/uploads", data=data, content_type="multipart/form-data")
    assert response.status_code == 201
    reports = response.get_json()["reports"]
    assert [r["table"] for r in reports] == ["departments", "jobs", "hired_employees"]
    departments, jobs, hired = reports
    assert departments["inserted"] == 12 and jobs["inserted"] == 180
    assert hired["received"] == 600
    assert hired["rejected"] == expected_rejects > 0
    assert hired["inserted"] == 600 - expected_rejects
    for report in reports:
        assert_counts_add_up(report)
    assert sql("SELECT count(*) FROM hired_employees")[0][0] == hired["inserted"]
    stored = sql("SELECT count(*) FROM load_rejects WHERE load_id = %s", [hired["load_id"]])
    assert stored[0][0] == expected_rejects


def test_reloading_the_same_file_changes_nothing(client, sql):
    load_parents(client)
    text = f"1,Ann,{HIRE},1,1\n2,Bob,{HIRE},2,2\n3,Cy,{HIRE},3,\n"
    first = upload_csv(client, "hired_employees", text).get_json()
    assert (first["inserted"], first["rejected"]) == (2, 1)
    before = sql("SELECT * FROM hired_employees ORDER BY id")
    second = upload_csv(client, "hired_employees", text).get_json()
    assert (second["inserted"], second["unchanged"], second["rejected"]) == (0, 2, 1)
    assert sql("SELECT * FROM hired_employees ORDER BY id") == before


def test_conflicts_are_rejected_unless_update_is_asked(client, sql):
    upload_csv(client, "departments", "1,Sales\n2,Legal\n")
    conflict = upload_csv(client, "departments", "1,Marketing\n2,Legal\n").get_json()
    assert (conflict["unchanged"], conflict["rejected"], conflict["inserted"]) == (1, 1, 0)
    assert "already exists with other values" in conflict["rejects"][0]["reasons"][0]
    assert "on_conflict=update" in conflict["rejects"][0]["reasons"][0]
    assert sql("SELECT department FROM departments WHERE id = 1") == [("Sales",)]
    updated = upload_csv(
        client, "departments", "1,Marketing\n2,Legal\n3,New\n", on_conflict="update"
    ).get_json()
    assert (updated["updated"], updated["unchanged"], updated["inserted"]) == (1, 1, 1)
    assert_counts_add_up(updated)
    assert sql("SELECT id, department FROM departments ORDER BY id") == [
        (1, "Marketing"),
        (2, "Legal"),
        (3, "New"),
    ]


def test_header_bom_crlf_and_quoted_fields(client, sql):
    text = '\ufeffid,department\r\n1,"Sales, North"\r\n2,"Multi\r\nline ""quoted"""\r\n\r\n3,Legal'
    report = upload_csv(client, "departments", text).get_json()
    assert (report["received"], report["inserted"], report["rejected"]) == (3, 3, 0)
    assert sql("SELECT department FROM departments ORDER BY id") == [
        ("Sales, North",),
        ('Multi\r\nline "quoted"',),
        ("Legal",),
    ]


def test_multipart_upload_of_one_file(client):
    response = upload_csv(client, "jobs", "1,Recruiter\n2,Analyst\n", multipart=True)
    assert response.status_code == 201
    assert response.get_json()["inserted"] == 2


DEFECTS = [
    # (line text, a fragment expected in the reasons)
    ("10,Ann,2021-03-04T05:06:07Z,1", "Expected 5 fields"),
    ("11,Ann,2021-03-04T05:06:07Z,1,1,9", "Expected 5 fields"),
    ("12,,2021-03-04T05:06:07Z,1,1", "name: Missing data"),
    ("abc,Ann,2021-03-04T05:06:07Z,1,1", "id: Not a valid integer"),
    ("0,Ann,2021-03-04T05:06:07Z,1,1", "id: Must be between 1 and 2147483647"),
    ("-5,Ann,2021-03-04T05:06:07Z,1,1", "id: Must be between 1 and 2147483647"),
    ("2147483648,Ann,2021-03-04T05:06:07Z,1,1", "id: Must be between"),
    ("99999999999999999999999,Ann,2021-03-04T05:06:07Z,1,1", "id: Must be between"),
    (" 13,Ann,2021-03-04T05:06:07Z,1,1", "id: Not a valid integer"),
    ("014,Ann,2021-03-04T05:06:07Z,1,1", "id: Not a valid integer"),
    ("15.0,Ann,2021-03-04T05:06:07Z,1,1", "id: Not a valid integer"),
    ("16,Ann,2021-03-04T05:06:07,1,1", "datetime: Not a valid ISO 8601 datetime with a time zone"),
    ("17,Ann,2021-02-30T05:06:07Z,1,1", "datetime:"),
    (
        "18,Ann,yesterday at noon,1,1",
        "datetime: Not a valid ISO 8601 datetime with a time zone (such as 2021-07-27T16:02:08Z)",
    ),
    (
        "19,Ann,2021-03-04,1,1",
        "datetime: Not a valid ISO 8601 datetime with a time zone: a date without a time",
    ),
    (
        "25,Ann, 2021-03-04T05:06:07Z ,1,1",
        "datetime: Not a valid ISO 8601 datetime with a time zone: remove the spaces around it",
    ),
    ("26,Ann,1614834367,1,1", "datetime: Not a valid ISO 8601 datetime with a time zone: a number"),
    ("27,Ann,03/04/2021 05:06,1,1", "(such as 2021-07-27T16:02:08Z)"),
    ("28,Ann,2021-03-04 +05:30,1,1", "(such as 2021-07-27T16:02:08Z)"),  # a zone but no time
    ("20,Ann,2021-03-04T05:06:07Z,77,1", "department_id: department 77 does not exist"),
    ("21,Ann,2021-03-04T05:06:07Z,1,88", "job_id: job 88 does not exist"),
    ("22,Ann,2021-03-04T05:06:07Z,1.5,1", "department_id: Not a valid integer"),
    ("1,Dup,2021-03-04T05:06:07Z,1,1", "id: 1 already appears at line 1"),
    ("23,   ,2021-03-04T05:06:07Z,1,1", "name: Must not be empty"),
    ("24," + "x" * 200_000 + ",2021-03-04T05:06:07Z,1,1", "name: Longer than 1000"),
]


def test_every_kind_of_defect_is_rejected_with_line_and_reason(client, sql):
    load_parents(client)
    lines = [f"1,First,{HIRE},1,1", *(line for line, _ in DEFECTS), f"2,Last,{HIRE},2,2"]
    report = upload_csv(client, "hired_employees", "\n".join(lines) + "\n").get_json()
    assert report["received"] == len(lines)
    assert (report["inserted"], report["rejected"]) == (2, len(DEFECTS))
    assert_counts_add_up(report)
    reasons = reasons_by_line(report)
    for number, (line, fragment) in enumerate(DEFECTS, start=2):
        assert number in reasons, line[:60]
        assert any(fragment in reason for reason in reasons[number]), (line[:60], reasons[number])
    stored = sql(
        "SELECT line, raw FROM load_rejects WHERE load_id = %s ORDER BY line", [report["load_id"]]
    )
    assert [line for line, _ in stored] == list(range(2, 2 + len(DEFECTS)))
    assert stored[0][1] == DEFECTS[0][0]
    assert sql("SELECT id FROM hired_employees ORDER BY id") == [(1,), (2,)]


def test_every_reason_of_a_row_is_given(client):
    load_parents(client)
    report = upload_csv(client, "hired_employees", "x,,2021-13-01T00:00:00Z,y,\n").get_json()
    reasons = report["rejects"][0]["reasons"]
    assert {r.split(":")[0] for r in reasons} == {
        "id",
        "name",
        "datetime",
        "department_id",
        "job_id",
    }


def test_invalid_utf8_and_nul_are_rejected_per_line(client, sql):
    body = b"1,Good\n2,Bad \xff\xfe bytes\n3,Nul \x00 here\n4,Also good\n"
    report = upload_csv(client, "departments", body).get_json()
    assert (report["inserted"], report["rejected"]) == (2, 2)
    reasons = reasons_by_line(report)
    assert reasons[2] == [
        "department: Holds bytes that are not valid UTF-8 (a file from Windows is often "
        "cp1252: then send encoding=cp1252)."
    ]
    assert reasons[3] == ["department: Contains a NUL character."]
    raws = dict(sql("SELECT line, raw FROM load_rejects WHERE load_id = %s", [report["load_id"]]))
    assert raws[2] == "2,Bad \\xff\\xfe bytes"
    assert raws[3] == "3,Nul \\x00 here"


def test_unbalanced_quote_swallows_lines_but_nothing_is_lost(client, sql):
    text = '1,Sales\n2,"Legal\n3,Support\n'
    report = upload_csv(client, "departments", text).get_json()
    assert_counts_add_up(report)
    assert report["inserted"] == 1
    assert report["rejected"] == 1
    assert sql("SELECT id FROM departments") == [(1,)]


def test_a_field_past_the_csv_limit_is_a_reject_not_a_crash(client):
    text = '1,Sales\n2,"' + "y" * (1 << 20) + 'more"\n3,Support\n'
    response = upload_csv(client, "departments", text)
    assert response.status_code == 201
    report = response.get_json()
    assert_counts_add_up(report)
    assert report["inserted"] >= 1
    assert any("Unreadable CSV" in r["reasons"][0] for r in report["rejects"])


def test_a_quote_left_open_names_the_lines_it_took(client, sql):
    """A quote left open takes the lines after it into one field, up to the csv module's
    limit: the reject says which lines those were (its raw text keeps only the first 10,000
    characters), and reading goes on after them."""
    lines = [f"{i},Department {i:07d}" for i in range(1, 60_001)]  # 27 characters a line
    lines[9] = '10,"Open quote'
    response = upload_csv(client, "departments", "\n".join(lines) + "\n")
    report = response.get_json()
    assert_counts_add_up(report)
    (reject,) = report["rejects"]
    assert reject["line"] == 10 and reject["errors"][0]["code"] == "source-error"
    first, last = map(int, re.search(r"takes lines (\d+) to (\d+)", reject["reasons"][0]).groups())
    assert first == 10 and "its first 10000 characters are kept" in reject["reasons"][0]
    # every line is loaded or within the reject
    assert report["inserted"] == 60_000 - (last - first + 1) == report["received"] - 1
    ids = {row[0] for row in sql("SELECT id FROM departments")}
    assert ids == set(range(1, 10)) | set(range(last + 1, 60_001))


def test_a_page_of_rejects_walks_the_key_whatever_the_statistics(client, sql):
    """A page is read in key order and stops at its end, also where the table has no
    statistics yet (no autovacuum, a table just loaded): no sort of all of a load's rejects."""
    sql("TRUNCATE load_rejects")
    text = "".join(f"{i},\n" for i in range(1, 20_001))
    load_id = upload_csv(client, "departments", text).get_json()["load_id"]
    query = (Settings().sql_dir / "loads" / "list_rejects.sql").read_text()
    plan = "\n".join(row[0] for row in sql(
        f"EXPLAIN {query}", {"load_id": load_id, "after": -1, "limit": 100}))  # fmt: skip
    assert "Sort" not in plan and "Index Scan" in plan, plan


def test_rejects_of_a_load_are_all_listed_and_paginated(client):
    text = "".join(f"{i},\n" for i in range(1, 251))
    report = upload_csv(client, "departments", text).get_json()
    assert report["rejected"] == 250 and len(report["rejects"]) == 100
    later = upload_csv(client, "departments", "1,\n2,\n").get_json()  # the next load's
    assert later["load_id"] > report["load_id"] and later["rejected"] == 2
    url = f"/api/v1/loads/{report['load_id']}/rejects"
    first = client.get(url, query_string={"limit": 200}).get_json()
    assert len(first["rejects"]) == 200 and first["next_after"] == 200
    rest = client.get(url, query_string={"after": first["next_after"], "limit": 200}).get_json()
    assert [r["line"] for r in rest["rejects"]] == list(range(201, 251))
    assert rest["next_after"] is None
    as_csv = client.get(url, headers={"Accept": "text/csv"})
    assert as_csv.mimetype == "text/csv"
    lines = as_csv.get_data(as_text=True).splitlines()
    assert lines[0] == "line,code,raw,reasons" and len(lines) == 101
    assert lines[1].startswith("1,missing-cell,")


@pytest.mark.parametrize(
    ("content_type", "status"),
    [("application/json", 415), ("application/octet-stream", 415), ("text/csv", 201)],
)
def test_upload_content_types(client, content_type, status):
    response = client.post(
        "/api/v1/tables/departments/upload", data=b"1,Sales\n", content_type=content_type
    )
    assert response.status_code == status


def test_a_file_sent_as_tab_separated_values_is_read_with_tabs(client, sql):
    """text/tab-separated-values (what a browser sends for a .tsv file) was a 415 as a body,
    and as a multipart part every row a reject of one field."""

    def post(path, **kwargs):
        return client.post(path, content_type="text/tab-separated-values", **kwargs)

    response = post("/api/v1/tables/departments/upload", data=b"1\tSales, EMEA\n")
    assert response.status_code == 201 and response.get_json()["inserted"] == 1
    conflict = post("/api/v1/tables/departments/upload?delimiter=%3B", data=b"2\tOps\n")
    assert conflict.status_code == 422
    assert "tab-separated values and the query delimiter=;" in conflict.get_json()["message"]
    part = (io.BytesIO(b"3\tLegal\n"), "departments.tsv", "text/tab-separated-values")
    multi = client.post("/api/v1/uploads", data={"departments": part},
                        content_type="multipart/form-data")  # fmt: skip
    assert multi.status_code == 201 and multi.get_json()["reports"][0]["inserted"] == 1
    assert sql("SELECT id, department FROM departments ORDER BY id") == [
        (1, "Sales, EMEA"), (3, "Legal")]  # fmt: skip
    loads = client.get("/api/v1/loads").get_json()["loads"]
    assert {load["options"]["delimiter"] for load in loads} == {"tab"}


def test_upload_errors(client, sql):
    assert upload_csv(client, "employees", "1,x\n").status_code == 404
    assert "Unknown table" in upload_csv(client, "employees", "1,x\n").get_json()["message"]
    empty = upload_csv(client, "departments", "")
    assert empty.status_code == 422 and "empty" in empty.get_json()["message"]
    assert upload_csv(client, "departments", "id,department\n").status_code == 422
    no_file = client.post(
        "/api/v1/tables/jobs/upload", data={"other": "x"}, content_type="multipart/form-data"
    )
    assert no_file.status_code == 422
    bad_mode = upload_csv(client, "departments", "1,x\n", on_conflict="merge")
    assert bad_mode.status_code == 422
    assert sql("SELECT count(*) FROM departments") == [(0,)]
    assert sql("SELECT count(*) FROM loads") == [(0,)]


def _parts(*fields) -> MultiDict:
    """Multipart fields: (name, bytes) for a file part, (name, str) for a text part."""
    return MultiDict([(name, (io.BytesIO(value), f"{name}.csv") if isinstance(value, bytes)
                       else value) for name, value in fields])  # fmt: skip


@pytest.mark.parametrize(
    ("path", "fields", "named"),
    [("/api/v1/uploads", [("departments", b"1,A\n"), ("departments", b"2,B\n")],
      "'departments' holds more than one file"),
     ("/api/v1/uploads", [("departments", b"1,A\n"), ("employees", b"1,x\n")],
      "Unknown fields: 'employees'"),
     ("/api/v1/uploads", [("jobs", b"1,A\n"), ("departments", "1,A\n")],
      "'departments' came as text"),
     ("/api/v1/tables/departments/upload", [("file", b"1,A\n"), ("file", b"2,B\n")],
      "'file' holds more than one file"),
     ("/api/v1/tables/departments/upload", [("file", b"1,A\n"), ("notes", "x")],
      "Unknown fields: 'notes'")],
)  # fmt: skip
def test_a_multipart_field_twice_unknown_or_as_text_is_named(client, sql, path, fields, named):
    """Nothing is loaded: werkzeug would give the first part of a field and drop the rest."""
    response = client.post(path, data=_parts(*fields), content_type="multipart/form-data")
    assert response.status_code == 422
    assert named in response.get_json()["message"], response.get_json()
    assert sql("SELECT count(*) FROM loads") == [(0,)]


@pytest.mark.parametrize(
    ("body", "named"),
    [(gzip.compress(b"1,Sales\n"), "a gzip archive"),
     (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 60, "Excel .xlsx"),
     (bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 60, "Excel 97-2003"),
     (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "a PDF document"),
     (b"Obj\x01\x04\x14avro.codec", "restore")],
)  # fmt: skip
def test_a_file_of_another_format_is_a_422_that_says_what_it_is(client, sql, body, named):
    """It used to load as a completed load whose every line was a reject."""
    for response in (upload_csv(client, "departments", body),
                     upload_csv(client, "departments", body, multipart=True)):  # fmt: skip
        assert response.status_code == 422
        message = response.get_json()["message"]
        assert named in message and "not CSV text" in message, message
    assert sql("SELECT count(*) FROM loads") == [(0,)]


@pytest.mark.parametrize(
    ("jobs", "query", "said"),
    [(b"PK\x03\x04" + b"\x00" * 40, {}, "not CSV text"),
     (b"1,Analyst\n2,\n3,\n", {"max_rejects": "0"}, "more than max_rejects")],
)  # fmt: skip
def test_a_later_file_that_fails_names_itself_and_the_files_loaded_before(client, sql, jobs,
                                                                          query, said):  # fmt: skip
    """Each file is its own load: the departments are in, and the answer says so."""
    parts = _parts(("departments", b"1,Sales\n"), ("jobs", jobs))
    response = client.post("/api/v1/uploads", data=parts, query_string=query,
                           content_type="multipart/form-data")  # fmt: skip
    assert response.status_code == 422
    body = response.get_json()
    assert body["message"].startswith("jobs: ") and said in body["message"], body["message"]
    assert [(r["table"], r["inserted"]) for r in body["reports"]] == [("departments", 1)]
    assert sql("SELECT id FROM departments") == [(1,)]
    assert sql("SELECT count(*) FROM jobs") == [(0,)]


def test_oversize_body_is_413_and_writes_nothing(settings, sql):
    from dataclasses import replace

    from hrapi import create_app

    app = create_app(replace(settings, max_upload_mb=1))
    try:
        text = "".join(f"{i},Department number {i}\n" for i in range(1, 80_000))
        response = upload_csv(app.test_client(), "departments", text)
        assert response.status_code == 413
        assert sql("SELECT count(*) FROM departments") == [(0,)]
    finally:
        app.extensions["hrapi.db"].close()


def test_loads_history(client):
    upload_csv(client, "departments", "1,Sales\n")
    upload_csv(client, "departments", "2,Legal\n,\n")
    listing = client.get("/api/v1/loads").get_json()["loads"]
    assert [load["received"] for load in listing] == [2, 1]
    assert all(load["status"] == "completed" for load in listing)
    one = client.get(f"/api/v1/loads/{listing[0]['id']}").get_json()
    assert one["table"] == "departments" and one["rejected"] == 1
    assert client.get("/api/v1/loads/999999").status_code == 404
    assert client.get("/api/v1/loads", query_string={"limit": 0}).status_code == 422


def test_read_rows_with_keyset_pagination_and_csv(client):
    load_parents(client, departments=range(1, 6))
    upload_csv(client, "hired_employees", f"7,Ann,{HIRE},1,1\n")
    page = client.get("/api/v1/tables/departments/rows", query_string={"limit": 2}).get_json()
    assert [r["id"] for r in page["rows"]] == [1, 2] and page["next_after"] == 2
    last = client.get(
        "/api/v1/tables/departments/rows", query_string={"after": 4, "limit": 2}
    ).get_json()
    assert [r["id"] for r in last["rows"]] == [5] and last["next_after"] is None
    hires = client.get("/api/v1/tables/hired_employees/rows").get_json()["rows"]
    assert hires == [{"id": 7, "name": "Ann", "datetime": HIRE, "department_id": 1, "job_id": 1}]
    text = client.get("/api/v1/tables/hired_employees/rows?format=csv").get_data(as_text=True)
    assert text.splitlines() == ["id,name,datetime,department_id,job_id", f"7,Ann,{HIRE},1,1"]
    assert client.get("/api/v1/tables/nope/rows").status_code == 404
    assert client.get("/api/v1/tables/jobs/rows?limit=1001").status_code == 422
    assert client.get("/api/v1/tables/jobs/rows?after=abc").status_code == 422


def test_seed_twice_leaves_the_same_data(runner, sql, tmp_path):
    synthetic.generate(tmp_path, hires=300, seed=3)
    first = runner.invoke(args=["seed", str(tmp_path)])
    assert first.exit_code == 0, first.output
    snapshot = sql("SELECT * FROM hired_employees ORDER BY id")
    assert len(snapshot) > 250
    refused = runner.invoke(args=["seed", str(tmp_path)])
    assert refused.exit_code == 1
    assert "hold rows already (departments 12, jobs 180, hired_employees" in refused.output
    assert sql("SELECT count(*) FROM loads")[0][0] == 3  # nothing more was loaded
    second = runner.invoke(args=["seed", str(tmp_path), "--append"])
    assert second.exit_code == 0, second.output
    assert sql("SELECT * FROM hired_employees ORDER BY id") == snapshot
    assert "hired_employees" in second.output and "unchanged" in second.output
    stats = sql("SELECT inserted, unchanged FROM loads WHERE table_name = 'hired_employees'")
    assert stats[1] == (0, stats[0][0])


def test_csv_is_read_incrementally():
    from hrapi.ingest import CsvInput
    from hrapi.tables import TABLES

    class Endless(io.RawIOBase):
        """An endless CSV that counts how much of it was read."""

        def __init__(self):
            self.served = 0
            self.line = 0

        def readable(self):
            return True

        def readinto(self, buffer):
            chunk = b""
            while len(chunk) < len(buffer) - 32:
                self.line += 1
                chunk += f"{self.line},Dept\n".encode()
            buffer[: len(chunk)] = chunk
            self.served += len(chunk)
            return len(chunk)

    source = Endless()
    table = TABLES["departments"]
    chunks = CsvInput(io.BufferedReader(source, 4096), table).chunks()
    first_two = [next(chunks) for _ in range(2)]
    assert [c.first for c in first_two] == [1, 3]
    assert first_two[1].rows[0] == ["3", "Dept"]
    assert source.served < 2 << 20


@pytest.mark.parametrize("first_load", ["direct", "staging"])
def test_hire_loads_check_references_set_based_and_keep_the_keys(client, sql, first_load):
    load_parents(client)
    if first_load == "staging":  # the table is not empty: the load goes through staging
        upload_csv(client, "hired_employees", f"100000,Early,{HIRE},1,1\n")
    count = 20_000
    lines = [f"{i},P{i},{HIRE},{1 + i % 3},{1 + i % 2}" for i in range(1, count + 1)]
    lines[10] = f"11,Orphan,{HIRE},99,1"  # missing department
    lines[30] = f"31,Orphan,{HIRE},1,77"  # missing job
    report = upload_csv(client, "hired_employees", "\n".join(lines) + "\n").get_json()
    assert (report["received"], report["inserted"], report["rejected"]) == (count, count - 2, 2)
    assert reasons_by_line(report) == {
        11: ["department_id: department 99 does not exist"],
        31: ["job_id: job 77 does not exist"],
    }
    keys = sql(
        "SELECT conname, convalidated FROM pg_constraint"
        " WHERE conrelid = 'hired_employees'::regclass AND contype = 'f' ORDER BY conname"
    )
    assert keys == [
        ("hired_employees_department_id_fkey", True),
        ("hired_employees_job_id_fkey", True),
    ]
    # the primary key too (a first load builds it again after its rows: drop_primary_key.sql)
    assert sql("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
               "'hired_employees'::regclass AND contype = 'p'") == [
        ("hired_employees_pkey", "PRIMARY KEY (id)")]  # fmt: skip
    with pytest.raises(Exception, match="duplicate key"):
        sql(f"INSERT INTO hired_employees VALUES (1, 'x', '{HIRE}', 1, 1)")
    assert sql("SHOW session_replication_role") == [("origin",)]
    orphans = sql(
        "SELECT count(*) FROM hired_employees h WHERE NOT EXISTS"
        " (SELECT 1 FROM departments d WHERE d.id = h.department_id) OR NOT EXISTS"
        " (SELECT 1 FROM jobs j WHERE j.id = h.job_id)"
    )
    assert orphans == [(0,)]
    with pytest.raises(Exception, match="foreign key"):
        sql("INSERT INTO hired_employees VALUES (999999, 'x', now(), 42, 1)")


@pytest.mark.parametrize("multipart", [False, True])
def test_loading_an_empty_table_directly_and_starting_over_through_staging(client, sql, multipart):
    load_parents(client)
    direct = f"1,Ann,{HIRE},1,1\n2,Bob,{HIRE},9,1\n3,Cy,{HIRE},1,8\n4,Di,{HIRE},2,2\n"
    report = upload_csv(client, "hired_employees", direct, multipart=multipart).get_json()
    assert (report["inserted"], report["rejected"]) == (2, 2)
    assert reasons_by_line(report) == {
        2: ["department_id: department 9 does not exist"],
        3: ["job_id: job 8 does not exist"],
    }
    sql("TRUNCATE hired_employees")
    # A repeated id: the direct way is refused by the primary key and the load starts over
    # through staging, reading the input again; the report is the same as staging gives.
    repeated = direct + f"4,Again,{HIRE},1,1\n5,Eve,{HIRE},3,3\n"
    report = upload_csv(client, "hired_employees", repeated, multipart=multipart).get_json()
    assert (report["received"], report["inserted"], report["rejected"]) == (6, 3, 3)
    assert reasons_by_line(report)[5] == ["id: 4 already appears at line 4 of this load"]
    assert sql("SELECT id, name FROM hired_employees ORDER BY id") == [
        (1, "Ann"), (4, "Di"), (5, "Eve"),
    ]  # fmt: skip
    assert sql("SELECT count(*) FROM load_rejects WHERE load_id = %s", [report["load_id"]]) == [
        (3,)
    ]


def test_blocks_of_plain_lines_load_directly_and_give_way_on_a_repeated_id(client, sql):
    load_parents(client, departments=range(1, 13), jobs=range(1, 181))
    lines = [f"{i},Person {i},2021-{1 + i % 12:02d}-{1 + i % 28:02d}T08:09:10Z,{1 + i % 12},"
             f"{1 + i % 180}\n" for i in range(1, 20_001)]  # fmt: skip
    report = upload_csv(client, "hired_employees", "".join(lines)).get_json()
    assert (report["inserted"], report["rejected"]) == (20_000, 0)
    assert sql("SELECT sum(hires) FROM hire_counts WHERE year = 2021") == [(20_000,)]
    assert sql("SELECT count(*) FROM hired_employees WHERE name = 'Person 777'") == [(1,)]
    sql("TRUNCATE hired_employees")
    report = upload_csv(client, "hired_employees", "".join([*lines, lines[5]])).get_json()
    assert (report["inserted"], report["rejected"]) == (20_000, 1)
    assert report["rejects"][0]["reasons"] == ["id: 6 already appears at line 6 of this load"]
    assert sql("SELECT sum(hires) FROM hire_counts") == [(20_000,)]


def test_a_direct_load_in_many_statements_with_rejects_between_them(client, sql, monkeypatch):
    from hrapi.ingest import copy_writer
    from tests.helpers import assert_hire_counts_exact

    monkeypatch.setattr(copy_writer, "STATEMENT_ROWS", 3000)
    monkeypatch.setattr(copy_writer, "REJECTS_BYTES", 2000)
    load_parents(client)
    lines = [f"{i},{'' if i % 7 == 0 else 'P'},{HIRE},1,1" for i in range(1, 30_001)]
    report = upload_csv(client, "hired_employees", "\n".join(lines) + "\n").get_json()
    rejected = 30_000 // 7
    assert (report["inserted"], report["rejected"]) == (30_000 - rejected, rejected)
    stored = sql("SELECT count(*), min(line), max(line) FROM load_rejects WHERE load_id = %s",
                 [report["load_id"]])  # fmt: skip
    assert stored == [(rejected, 7, 29_995)]
    assert_hire_counts_exact(sql)
    sql("TRUNCATE hired_employees, load_rejects")
    lines.append(lines[20_000])  # repeated in a later statement: the load starts over
    report = upload_csv(client, "hired_employees", "\n".join(lines) + "\n").get_json()
    assert (report["inserted"], report["rejected"]) == (30_000 - rejected, rejected + 1)
    assert sql("SELECT count(*) FROM load_rejects WHERE load_id = %s", [report["load_id"]]) == [
        (rejected + 1,)
    ]
    assert_hire_counts_exact(sql)


@pytest.mark.parametrize("repeat_at", ["a chunk's first row", "the same chunk"])
def test_repeated_ids_are_found_whether_or_not_the_ids_rise(client, sql, repeat_at):
    """Staged ids that rise row after row skip the search for repeated ids; one repeat, first
    in a chunk (sources reads 2 rows, then 4096 at a time) or inside one, is still found."""
    rows = [f"{i},Job {i}\n" for i in range(1, 6001)]
    report = upload_csv(client, "jobs", "".join(rows)).get_json()
    assert (report["inserted"], report["rejected"]) == (6000, 0)
    sql("TRUNCATE jobs CASCADE")
    at = FIRST_CHUNK_ROWS + CHUNK_ROWS if repeat_at == "a chunk's first row" else 100
    repeated = [*rows[:at], rows[at - 1], *rows[at:]]
    report = upload_csv(client, "jobs", "".join(repeated)).get_json()
    assert (report["inserted"], report["rejected"]) == (6000, 1)
    assert reasons_by_line(report) == {at + 1: [f"id: {at} already appears at line {at} of "
                                                "this load"]}  # fmt: skip
    assert sql("SELECT count(*) FROM jobs") == [(6000,)]


def test_a_repeated_id_among_rows_the_schema_decided_is_found(client, sql):
    """A row the fast check leaves to the schema (February 29) is valid; a later row with its
    id is a repeat though the other rows' ids rise."""
    load_parents(client)
    text = (f"5,Leap,2024-02-29T10:00:00Z,1,1\n1,Ann,{HIRE},1,1\n2,Bob,{HIRE},1,1\n"
            f"5,Again,{HIRE},1,1\n")  # fmt: skip
    report = upload_csv(client, "hired_employees", text).get_json()
    assert (report["inserted"], report["rejected"]) == (3, 1)
    assert reasons_by_line(report) == {4: ["id: 5 already appears at line 1 of this load"]}
    assert sql("SELECT name FROM hired_employees WHERE id = 5") == [("Leap",)]


def test_a_file_whose_first_id_is_stored_goes_through_staging_at_once(client, sql, caplog):
    """Loaded again, a file of hires is not tried straight into the table (its first COPY
    would give way at once): the first row's id is looked up, and staging decides it all."""
    load_parents(client)
    text = "".join(f"{i},Person {i},{HIRE},1,1\n" for i in range(1, 2001))
    upload_csv(client, "hired_employees", text)
    changed = text.replace("2000,Person 2000", "2000,Renamed") + f"2001,New,{HIRE},1,1\n"
    pipeline_log = logging.getLogger("hrapi.ingest.pipeline")  # "hrapi" does not propagate
    pipeline_log.addHandler(caplog.handler)
    try:
        with caplog.at_level("INFO", logger="hrapi.ingest.pipeline"):
            report = upload_csv(client, "hired_employees", changed).get_json()
    finally:
        pipeline_log.removeHandler(caplog.handler)
    assert (report["unchanged"], report["inserted"], report["rejected"]) == (1999, 1, 1)
    assert "StoredId; loading through staging" in caplog.text
    assert sql("SELECT count(*) FROM hired_employees") == [(2001,)]


def test_a_first_load_holds_its_table_and_readers_answer_503_meanwhile(client, sql):
    """The first load of an empty table builds its primary key after its rows are in, holding
    the table until it commits: a read of its rows, and a JSON batch, wait 3 s at most, then
    answer 503 (a worker is not tied up for the load's length); other tables are read as
    usual, and the batch goes in once the load is done."""
    load_parents(client)
    uploading, answer = upload_in_background(client, SlowBody(40_000, 16))
    held = "SELECT count(*) FROM pg_locks WHERE relation = 'hired_employees'::regclass AND " \
        "mode = 'AccessExclusiveLock' AND granted"  # fmt: skip
    deadline = time.monotonic() + 5
    while sql(held) != [(1,)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sql(held) == [(1,)]
    started = time.monotonic()
    response = client.get("/api/v1/tables/hired_employees/rows")
    waited = time.monotonic() - started
    assert uploading.is_alive()  # still loading: the 503 is the load's doing
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "hired_employees is held by a load" in response.get_json()["message"]
    assert 2.5 < waited < 6
    assert client.get("/api/v1/tables/jobs/rows").status_code == 200
    started = time.monotonic()
    row = {"id": 90_001, "name": "Late", "datetime": HIRE, "department_id": 1, "job_id": 1}
    refused = batch(client, "hired_employees", [row])
    waited = time.monotonic() - started
    assert uploading.is_alive()
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
    assert "hired_employees is held by a load" in refused.get_json()["message"]
    assert 2.5 < waited < 6
    departments = batch(client, "departments", [{"id": 9, "department": "Late"}])
    assert departments.status_code == 503  # held against writes while hires load
    assert "departments is held by a load" in departments.get_json()["message"]
    uploading.join()
    assert answer["response"].get_json()["inserted"] == 40_000
    assert batch(client, "hired_employees", [row]).get_json()["inserted"] == 1
    assert sql("SELECT count(*) FROM hired_employees") == [(40_001,)]
    assert batch(client, "departments", [{"id": 9, "department": "Late"}]).status_code == 201
    failed = sql("SELECT table_name, error FROM loads WHERE status = 'failed' ORDER BY id")
    assert [name for name, _ in failed] == ["hired_employees", "departments"]
    assert all("held by a load" in error for _, error in failed)
    rows = client.get("/api/v1/tables/hired_employees/rows?limit=2").get_json()["rows"]
    assert [row["id"] for row in rows] == [1, 2]
    assert sql("SELECT count(*) FROM pg_constraint WHERE conrelid = 'hired_employees'::regclass "
               "AND contype = 'p'") == [(1,)]  # fmt: skip


def test_a_large_file_loaded_again_with_changes_is_compared_within_its_bounds(client, sql):
    """20,000 rising ids (a large load whose ids rose: not analyzed, its first and last id
    known, the stored rows joined on id within them) against stored ones: unchanged,
    conflicts, updates, new ids."""
    load_parents(client)
    rows = [f"{i},Person {i},{HIRE},1,1\n" for i in range(1, 20_001)]
    upload_csv(client, "hired_employees", "".join(rows[::2]))  # the odd ids
    changed = [row.replace(",1,1", ",2,1") if i % 1000 == 0 else row
               for i, row in enumerate(rows)]  # fmt: skip
    report = upload_csv(client, "hired_employees", "".join(changed)).get_json()
    assert (report["unchanged"], report["inserted"], report["rejected"]) == (9980, 10_000, 20)
    assert reasons_by_line(report)[1][0].startswith("id: 1 already exists with other values")
    report = upload_csv(client, "hired_employees", "".join(changed),
                        on_conflict="update").get_json()  # fmt: skip
    assert (report["unchanged"], report["updated"], report["inserted"]) == (19_980, 20, 0)
    assert sql("SELECT count(*), count(*) FILTER (WHERE department_id = 2) "
               "FROM hired_employees") == [(20_000, 20)]  # fmt: skip


@pytest.mark.parametrize("block", [None, 200])
def test_rejects_of_set_based_steps_read_their_raw_text_again_from_the_file(
    client, sql, monkeypatch, block
):
    """Staged rows carry no raw text: the rejects set-based steps make (repeated ids,
    conflicts) read theirs again from the file, in its own dialect (a header, `;`, CRLF, a
    record over two lines), whether helpers read it or not, and send it a page at a time."""
    monkeypatch.setattr(load_session, "RAWS_PAGE", 2)
    if block:
        monkeypatch.setattr(parallel, "BLOCK_BYTES", block)
    load_parents(client)
    upload_csv(client, "hired_employees", f"1,Ann,{HIRE},1,1\n2,Bob,{HIRE},1,1\n")
    records = ["id;name;datetime;department_id;job_id", f"1;Ann;{HIRE};1;1",
               f'2;"Bob\r\nJunior";{HIRE};1;1', f"3;Cy;{HIRE};1;1", f"3;Cy again;{HIRE};1;1",
               *(f"{i};Person {i};{HIRE};1;1" for i in range(4, 30)), f"9;Nine again;{HIRE};1;1",
               f"10;Ten again;{HIRE};1;1", f"x;Not an id;{HIRE};1;1"]  # fmt: skip
    report = upload_csv(client, "hired_employees", "\r\n".join(records) + "\r\n",
                        delimiter=";").get_json()  # fmt: skip
    assert (report["unchanged"], report["inserted"], report["rejected"]) == (1, 27, 5)
    stored = dict(sql("SELECT line, raw FROM load_rejects WHERE load_id = %s",
                      [report["load_id"]]))  # fmt: skip
    assert stored == {3: f'2;"Bob\r\nJunior";{HIRE};1;1', 6: f"3;Cy again;{HIRE};1;1",
                      33: f"9;Nine again;{HIRE};1;1", 34: f"10;Ten again;{HIRE};1;1",
                      35: f"x;Not an id;{HIRE};1;1"}  # fmt: skip
    assert [r["raw"] for r in report["rejects"]] == [stored[line] for line in sorted(stored)]


def test_raws_read_again_leave_out_lines_where_no_record_starts():
    """What a reject's raw text is read from: a line inside a quoted field, or past the end,
    gives nothing (its reject keeps '' and the load goes on) instead of another record's."""
    data = CsvInput(io.BytesIO(b'1,"Two\nlines"\n2,B\n3,C\n'), TABLES["jobs"])
    assert list(data.raws([1, 2, 3, 4, 9])) == [(1, '1,"Two\nlines"'), (3, "2,B"), (4, "3,C")]


def test_a_first_load_keeps_the_key_that_another_table_depends_on(client, sql):
    """A key that cannot be dropped (another table's foreign key refers to it) stays, and the
    first load goes in with it, rows and rejects as ever."""
    load_parents(client)
    sql("CREATE TABLE hire_notes (hire_id integer REFERENCES hired_employees (id))")
    try:
        text = f"1,Ann,{HIRE},1,1\n2,Bob,{HIRE},9,1\n3,Cy,{HIRE},1,1\n"
        report = upload_csv(client, "hired_employees", text).get_json()
        assert (report["inserted"], report["rejected"]) == (2, 1)
        assert sql(
            "SELECT conname FROM pg_constraint WHERE conrelid = "
            "'hired_employees'::regclass AND contype = 'p'"
        ) == [("hired_employees_pkey",)]
    finally:
        sql("DROP TABLE hire_notes")
