"""Reports a migration team can act on: coded errors, every reason, dry runs, reject limits,
the standard validation report."""

from __future__ import annotations

import pytest

from tests.helpers import assert_counts_add_up, batch, load_parents, upload_csv

HIRE = "2021-03-04T05:06:07Z"


def errors_by_line(report, key="line"):
    return {r[key]: r["errors"] for r in report["rejects"]}


def test_every_code_of_the_standard(client):
    load_parents(client)
    upload_csv(client, "hired_employees", f"1,Stored,{HIRE},1,1\n")
    lines = [
        f"2,,{HIRE},1,1",  # missing-cell (empty)
        f"3,Ann,{HIRE},1",  # missing-cell (too few fields)
        f"4,Ann,{HIRE},1,1,9",  # extra-cell
        f"x,Ann,{HIRE},1,1",  # type-error
        f"0,Ann,{HIRE},1,1",  # constraint-error (range)
        "6,Ann,2021-03-04T05:06:07,1,1",  # constraint-error (no time zone)
        f"7,Ann,{HIRE},99,1",  # foreign-key
        f"8,Ann,{HIRE},1,1",
        f"8,Again,{HIRE},1,1",  # primary-key (repeated in the load)
        f"1,Other,{HIRE},1,1",  # primary-key (stored with other values)
    ]
    body = ("\n".join(lines) + "\n").encode() + b"9,Bad \xff byte," + HIRE.encode() + b",1,1\n"
    body += b'10,"unbalanced,' + HIRE.encode() + b",1,1\n"
    report = upload_csv(client, "hired_employees", body).get_json()
    assert_counts_add_up(report)
    codes = {line: [e["code"] for e in errors] for line, errors in errors_by_line(report).items()}
    assert codes == {
        1: ["missing-cell"], 2: ["missing-cell"], 3: ["extra-cell"], 4: ["type-error"],
        5: ["constraint-error"], 6: ["constraint-error"], 7: ["foreign-key"],
        9: ["primary-key"], 10: ["primary-key"], 11: ["encoding-error"], 12: ["source-error"],
    }  # fmt: skip
    fields = {line: [e["field"] for e in errors] for line, errors in errors_by_line(report).items()}
    assert fields[1] == ["name"] and fields[3] == [None] and fields[7] == ["department_id"]
    listed = client.get(f"/api/v1/loads/{report['load_id']}/rejects").get_json()["rejects"]
    assert [r["errors"] for r in listed] == [r["errors"] for r in report["rejects"]]
    csv_text = client.get(f"/api/v1/loads/{report['load_id']}/rejects?format=csv").get_data(
        as_text=True
    )
    assert csv_text.splitlines()[0] == "line,code,raw,reasons"
    assert csv_text.splitlines()[7].startswith("7,foreign-key,")


def test_a_row_has_all_its_problems_field_rules_and_references_together(client):
    load_parents(client)
    report = upload_csv(client, "hired_employees", f"5,,{HIRE},99,1\n").get_json()
    assert errors_by_line(report)[1] == [
        {"field": "name", "code": "missing-cell", "message": "Missing data for required field."},
        {
            "field": "department_id",
            "code": "foreign-key",
            "message": "department 99 does not exist",
        },
    ]
    row = {"id": 6, "name": " ", "datetime": "x", "department_id": 99, "job_id": 77}
    report = batch(client, "hired_employees", [row]).get_json()
    assert [e["code"] for e in errors_by_line(report, "index")[0]] == [
        "constraint-error", "type-error", "foreign-key", "foreign-key"]  # fmt: skip


@pytest.mark.parametrize("state", ["empty", "stored"])
def test_a_dry_run_reports_what_a_load_would_do_and_changes_nothing(client, sql, state):
    load_parents(client)
    if state == "stored":
        upload_csv(client, "hired_employees", f"1,Ann,{HIRE},1,1\n2,Bob,{HIRE},1,1\n")
    rows = ["1,Ann", "2,Robert", "3,Cy", "4,Di", "4,Di"]
    parents = ["1,1", "1,1", "9,1", "2,2", "2,2"]
    text = "".join(f"{row},{HIRE},{ids}\n" for row, ids in zip(rows, parents, strict=True))
    before = sql("SELECT * FROM hired_employees ORDER BY id")
    counts_before = sql("SELECT sum(hires) FROM hire_counts")
    dry = upload_csv(client, "hired_employees", text, dry_run="true").get_json()
    assert dry["status"] == "dry_run"
    assert sql("SELECT * FROM hired_employees ORDER BY id") == before
    assert sql("SELECT sum(hires) FROM hire_counts") == counts_before
    listed = client.get(f"/api/v1/loads/{dry['load_id']}").get_json()
    assert listed["status"] == "dry_run" and listed["options"]["dry_run"] is True
    rejects = client.get(f"/api/v1/loads/{dry['load_id']}/rejects").get_json()["rejects"]
    assert len(rejects) == dry["rejected"] > 0
    real = upload_csv(client, "hired_employees", text).get_json()
    keys = ("received", "inserted", "updated", "unchanged", "rejected")
    assert {k: dry[k] for k in keys} == {k: real[k] for k in keys}
    assert [r["errors"] for r in dry["rejects"]] == [r["errors"] for r in real["rejects"]]


def test_a_dry_run_of_a_batch_and_of_updates(client, sql):
    load_parents(client)
    rows = [{"id": 1, "name": "Ann", "datetime": HIRE, "department_id": 1, "job_id": 1},
            {"id": 2, "name": "", "datetime": HIRE, "department_id": 1, "job_id": 1}]  # fmt: skip
    dry = batch(client, "hired_employees", rows, dry_run="true").get_json()
    assert (dry["status"], dry["inserted"], dry["rejected"]) == ("dry_run", 1, 1)
    assert sql("SELECT count(*) FROM hired_employees") == [(0,)]
    batch(client, "hired_employees", rows)
    rows[0]["name"] = "Changed"
    dry = batch(client, "hired_employees", rows, dry_run="true", on_conflict="update").get_json()
    assert (dry["updated"], dry["inserted"], dry["rejected"]) == (1, 0, 1)
    assert sql("SELECT name FROM hired_employees") == [("Ann",)]


def test_max_rejects_stops_reading_keeps_nothing_and_answers_422(client, sql):
    load_parents(client)
    lines = [f"{i},{'' if i % 2 else 'P'},{HIRE},1,1" for i in range(1, 20_001)]
    response = upload_csv(client, "hired_employees", "\n".join(lines) + "\n", max_rejects=10)
    assert response.status_code == 422
    body = response.get_json()
    assert set(body) >= {"code", "status", "message", "report"}
    report = body["report"]
    assert report["status"] == "aborted" and report["rejected"] > 10
    assert report["received"] < 20_000  # reading stopped soon after the limit
    assert sql("SELECT count(*) FROM hired_employees") == [(0,)]
    listed = client.get(f"/api/v1/loads/{report['load_id']}").get_json()
    assert listed["status"] == "aborted"
    url = f"/api/v1/loads/{report['load_id']}/rejects?limit=10"
    assert len(client.get(url).get_json()["rejects"]) == 10
    stored = sql("SELECT count(*) FROM load_rejects WHERE load_id = %s", [report["load_id"]])
    assert stored == [(report["rejected"],)]
    ok = upload_csv(client, "hired_employees", "\n".join(lines[:10]) + "\n", max_rejects=10)
    assert ok.status_code == 201 and ok.get_json()["inserted"] == 5


def test_max_reject_ratio_is_checked_at_the_end(client, sql):
    load_parents(client)
    upload_csv(client, "hired_employees", f"1,Stored,{HIRE},1,1\n")
    text = f"1,Other,{HIRE},1,1\n2,Ann,{HIRE},1,1\n3,,{HIRE},1,1\n4,Di,{HIRE},1,1\n"
    response = upload_csv(client, "hired_employees", text, max_reject_ratio=0.4)
    assert response.status_code == 422
    report = response.get_json()["report"]
    assert (report["status"], report["rejected"], report["received"]) == ("aborted", 2, 4)
    assert sql("SELECT id FROM hired_employees") == [(1,)]
    fine = upload_csv(client, "hired_employees", text, max_reject_ratio=0.5)
    assert fine.status_code == 201 and fine.get_json()["inserted"] == 2
    bad = upload_csv(client, "hired_employees", text, max_reject_ratio=1.5)
    assert bad.status_code == 422 and "report" not in bad.get_json()
    rows = [{"id": 9, "name": ""}]
    aborted = batch(client, "hired_employees", rows, max_rejects=0)
    assert aborted.status_code == 422 and aborted.get_json()["report"]["status"] == "aborted"


def test_the_standard_report_lists_every_problem(client):
    load_parents(client)
    lines = [f"{i},,{HIRE},99,1" if i % 3 == 0 else f"{i},P{i},{HIRE},1,1" for i in range(1, 901)]
    load = upload_csv(client, "hired_employees", "\n".join(lines) + "\n").get_json()
    report = client.get(f"/api/v1/loads/{load['load_id']}/report").get_json()
    assert report["valid"] is False
    assert report["stats"] == {"errors": 600, "rows": 900}
    (task,) = report["tasks"]
    assert task["name"] == "hired_employees" and len(task["errors"]) == 600
    first = task["errors"][0]
    assert first == {"type": "missing-cell", "rowNumber": 3, "fieldName": "name",
                     "message": "name: Missing data for required field.",
                     "cells": ["3", "", HIRE, "99", "1"]}  # fmt: skip
    assert task["errors"][1]["type"] == "foreign-key"
    clean = upload_csv(client, "jobs", "50,Clerk\n").get_json()
    report = client.get(f"/api/v1/loads/{clean['load_id']}/report").get_json()
    assert report["valid"] is True and report["tasks"][0]["errors"] == []
    assert client.get("/api/v1/loads/999999/report").status_code == 404
