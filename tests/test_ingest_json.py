"""JSON batches: 1 to 1000 rows, each checked on its own, in one transaction."""

from __future__ import annotations

import json

import pytest

from hrapi.ingest import session
from hrapi.ingest.session import LoadSession
from tests.helpers import assert_counts_add_up, batch, load_parents

HIRE = "2021-03-04T05:06:07Z"


def hire(i, **changes):
    return {"id": i, "name": f"Person {i}", "datetime": HIRE, "department_id": 1, "job_id": 1,
            **changes}  # fmt: skip


def test_a_batch_of_1000_rows_is_loaded(client, sql):
    load_parents(client)
    response = batch(client, "hired_employees", [hire(i) for i in range(1, 1001)])
    assert response.status_code == 201
    report = response.get_json()
    assert (report["received"], report["inserted"], report["source"]) == (1000, 1000, "json")
    assert sql("SELECT count(*) FROM hired_employees") == [(1000,)]


@pytest.mark.parametrize("count", [0, 1001])
def test_batch_sizes_outside_1_to_1000_are_422_naming_the_limit(client, sql, count):
    load_parents(client)
    response = batch(client, "hired_employees", [hire(i) for i in range(1, count + 1)])
    assert response.status_code == 422
    assert "1 to 1000 rows" in str(response.get_json()["errors"])
    assert sql("SELECT count(*) FROM hired_employees") == [(0,)]


@pytest.mark.parametrize(
    "body",
    [[], {"rows": None}, {"rows": {"id": 1}}, {"rows": "x"}, {"items": [{"id": 1}]},
     {"rows": [{"id": 1, "department": "x"}], "extra": 1}],
)  # fmt: skip
def test_bodies_not_of_the_batch_shape_are_422(client, body):
    response = client.post("/api/v1/tables/departments/batch", json=body)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["code"] == 422


def test_empty_json_body_is_422(client):
    response = client.post(
        "/api/v1/tables/departments/batch", data=b"", content_type="application/json"
    )
    assert response.status_code == 422


def test_non_json_content_types_are_415(client):
    response = client.post(
        "/api/v1/tables/departments/batch", data="1,Sales", content_type="text/csv"
    )
    assert response.status_code == 415
    assert client.post("/api/v1/tables/departments/batch", data=b"{").status_code == 415


def test_malformed_json_is_a_4xx(client):
    response = client.post(
        "/api/v1/tables/departments/batch", data=b'{"rows": [', content_type="application/json"
    )
    assert 400 <= response.status_code < 500


def test_rows_of_wrong_types_are_rejected_with_index_and_reasons(client, sql):
    load_parents(client)
    rows = [
        hire(1),
        None,
        [1, "x"],
        hire(4, id=True),
        hire(5, id=5.0),
        hire(6, id="6"),
        hire(7, name={"first": "A"}),
        hire(8, datetime=None),
        hire(9, department_id=[1]),
        hire(10, job_id=99),
        hire(11, unexpected="field"),
        {"id": 12},
        hire(13, datetime="2021-03-04T05:06:07"),
        hire(1, name="duplicate"),
    ]
    report = batch(client, "hired_employees", rows).get_json()
    assert_counts_add_up(report)
    by_index = {r["index"]: r["reasons"] for r in report["rejects"]}
    assert sorted(by_index) == [1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13]
    assert by_index[1] == [
        "Row must be a JSON object with the table's fields (id, name, "
        "datetime, department_id, job_id)."
    ]
    assert by_index[3] == ["id: Not a valid integer."]
    assert by_index[4] == [
        "id: Not a valid integer: write it without a decimal point (7, not 7.0)."
    ]
    assert by_index[6] == ["name: Not a valid string."]
    assert by_index[7] == ["datetime: Field may not be null."]
    assert by_index[9] == ["job_id: job 99 does not exist"]
    assert by_index[10] == ["Unknown fields: 'unexpected'."]
    assert len(by_index[11]) == 4
    assert by_index[13] == ["id: 1 already appears at index 0 of this load"]
    # "6" is the canonical text of an integer, as in CSV: accepted.
    assert sql("SELECT id FROM hired_employees ORDER BY id") == [(1,), (6,)]
    stored = sql("SELECT line, raw FROM load_rejects WHERE load_id = %s AND line = 6",
                 [report["load_id"]])  # fmt: skip
    assert '"name": {"first": "A"}' in stored[0][1]


@pytest.mark.parametrize("table_state", ["empty", "not empty"])
def test_rejects_of_set_based_steps_keep_the_text_of_their_rows(client, sql, table_state):
    load_parents(client)
    if table_state == "not empty":
        batch(client, "hired_employees", [hire(1, name="Stored")])
    rows = [hire(2, name="Fine"), hire(3, name="Orphan", job_id=99), hire(2, name="Again"),
            hire(1, name="Other"), hire(4, name="Fine too")]  # fmt: skip
    report = batch(client, "hired_employees", rows).get_json()
    assert_counts_add_up(report)
    raws = dict(sql("SELECT line, raw FROM load_rejects WHERE load_id = %s", [report["load_id"]]))
    expected = {1: rows[1], 2: rows[2]} | ({3: rows[3]} if table_state == "not empty" else {})
    assert {line: json.loads(raw) for line, raw in raws.items()} == expected
    assert [r["raw"] for r in report["rejects"]] == [raws[line] for line in sorted(raws)]


def test_batch_on_conflict_update(client, sql):
    load_parents(client)
    batch(client, "hired_employees", [hire(1), hire(2)])
    report = batch(
        client, "hired_employees", [hire(1, name="Renamed"), hire(2), hire(3)],
        on_conflict="update",
    ).get_json()  # fmt: skip
    assert (report["updated"], report["unchanged"], report["inserted"]) == (1, 1, 1)
    assert sql("SELECT name FROM hired_employees WHERE id = 1") == [("Renamed",)]


def test_batch_to_unknown_table_is_404(client):
    assert batch(client, "salaries", [{"id": 1}]).status_code == 404


def test_datetime_is_stored_as_the_same_instant(client, sql):
    load_parents(client)
    batch(client, "hired_employees", [hire(1, datetime="2021-03-31T23:30:00-05:00")])
    stored = sql("SELECT to_char(datetime AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') "
                 "FROM hired_employees")  # fmt: skip
    assert stored == [("2021-04-01 04:30",)]


def test_datetimes_in_lower_case_are_read_as_rfc_3339_allows(client, sql):
    load_parents(client)
    rows = [hire(1, datetime="2021-03-31t23:30:00z"), hire(2, datetime="2021-03-31 23:30:00z"),
            hire(3, datetime="2021-03-31T23:30:00.25-05:00")]  # fmt: skip
    report = batch(client, "hired_employees", rows).get_json()
    assert (report["inserted"], report["rejected"]) == (3, 0), report
    stored = sql("SELECT to_char(datetime AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') "
                 "FROM hired_employees ORDER BY id")  # fmt: skip
    assert stored == [("2021-03-31 23:30:00.000",), ("2021-03-31 23:30:00.000",),
                      ("2021-04-01 04:30:00.250",)]  # fmt: skip


def test_a_datetime_sent_as_a_number_is_rejected_with_what_to_send(client, sql):
    """pandas' to_json writes datetimes as milliseconds since 1970 unless told otherwise."""
    load_parents(client)
    rows = [hire(1, datetime=1614834367000), hire(2, datetime=1614834367.5), hire(3)]
    report = batch(client, "hired_employees", rows).get_json()
    assert (report["inserted"], report["rejected"]) == (1, 2)
    for reject in report["rejects"]:
        assert reject["errors"][0]["code"] == "type-error"
        assert "a number (seconds since 1970?)" in reject["errors"][0]["message"]
        assert "date_format='iso'" in reject["errors"][0]["message"]


def test_lone_surrogates_in_json_strings_are_rejected_not_a_500(client, sql):
    """JSON may escape a lone surrogate (\\ud800), which is no character UTF-8 can store."""
    load_parents(client)
    body = ('{"rows": [{"id": 1, "name": "a\\ud800b", "datetime": "' + HIRE + '", '
            '"department_id": 1, "job_id": 1}, {"id": 2, "name": "Fine", "datetime": '
            '"2021\\udfff", "department_id": 1, "job_id": 1}, {"id": 3, "name": "Fine", '
            '"datetime": "' + HIRE + '", "department_id": 1, "job_id": 1}]}')  # fmt: skip
    response = client.post("/api/v1/tables/hired_employees/batch", data=body,
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 201, response.get_json()
    report = response.get_json()
    assert (report["inserted"], report["rejected"]) == (1, 2)
    assert report["rejects"][0]["reasons"] == ["name: Is not valid UTF-8."]
    raws = dict(sql("SELECT line, raw FROM load_rejects WHERE load_id = %s", [report["load_id"]]))
    assert "a\\ud800b" in raws[0] and "2021\\udfff" in raws[1]
    body = '{"rows": [{"id": 9, "department": "x\\udc80"}, {"id": 10, "department": "Ok"}]}'
    response = client.post("/api/v1/tables/departments/batch", data=body,
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["rejects"][0]["reasons"] == ["department: Is not valid UTF-8."]
    assert response.get_json()["rejects"][0]["raw"] == '{"id": 9, "department": "x\\udc80"}'


def test_each_batch_is_on_record_once_with_its_counts(client, sql):
    """A batch of hires is put on record in its own transaction: one record per batch, the
    same as its report, whether it went straight into the table or, meeting ids stored
    already, gave way to staging (its first attempt's record rolled back with its rows)."""
    load_parents(client)
    reports = [
        batch(client, "hired_employees", [hire(i) for i in range(1, 11)]).get_json(),
        batch(client, "hired_employees", [hire(i) for i in range(6, 16)]).get_json(),
    ]
    assert [(r["inserted"], r["unchanged"]) for r in reports] == [(10, 0), (5, 5)]
    recorded = sql("SELECT id, status, received, inserted, unchanged, rejected FROM loads"
                   " WHERE table_name = 'hired_employees' ORDER BY id")  # fmt: skip
    assert recorded == [
        (r["load_id"], "completed", r["received"], r["inserted"], r["unchanged"], r["rejected"])
        for r in reports
    ]
    for report in reports:
        listed = client.get(f"/api/v1/loads/{report['load_id']}").get_json()
        assert (listed["status"], listed["inserted"]) == ("completed", report["inserted"])
    # the direct one is put on record once its rows are in: it started its duration earlier
    spans = sql("SELECT started_at <= finished_at, finished_at - started_at = duration_ms"
                " * interval '1 millisecond' FROM loads WHERE id = %s",
                [reports[0]["load_id"]])  # fmt: skip
    assert spans == [(True, True)]


def test_a_batch_with_too_many_parents_to_hold_goes_through_staging(client, sql, monkeypatch):
    """With more departments or jobs than the direct way holds, SQL checks the references."""
    load_parents(client)
    monkeypatch.setattr(session, "PARENTS_MAX", 1)
    report = batch(client, "hired_employees", [hire(1), hire(2, job_id=99), hire(3)]).get_json()
    assert (report["inserted"], report["rejected"]) == (2, 1)
    assert report["rejects"][0]["reasons"] == ["job_id: job 99 does not exist"]
    assert sql("SELECT id FROM hired_employees ORDER BY id") == [(1,), (3,)]
    assert sql("SELECT count(*), min(status) FROM loads WHERE table_name = 'hired_employees'"
               ) == [(1, "completed")]  # fmt: skip


def test_a_batch_that_fails_is_on_record_as_failed_and_stores_nothing(client, sql, monkeypatch):
    load_parents(client)

    def broken(*args, **kwargs):
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(LoadSession, "store_rejects", broken)  # the batch's last step
    response = batch(client, "hired_employees", [hire(1), hire(2, job_id=99)])
    assert response.status_code == 500
    assert sql("SELECT count(*) FROM hired_employees") == [(0,)]
    assert sql("SELECT count(*) FROM hire_count_changes") == [(0,)]
    assert sql("SELECT status, error FROM loads WHERE table_name = 'hired_employees'") == [
        ("failed", "the disk is on fire")
    ]
    assert sql("SELECT count(*) FROM load_rejects") == [(0,)]


def test_a_batch_whose_record_fails_stores_nothing(client, sql, monkeypatch):
    """A batch is put on record once its rows are in, in its own transaction: when that
    statement fails, neither its rows nor their counts stay, and the connection it leaves
    takes the next batch."""
    load_parents(client)
    records = client.application.extensions["hrapi.ingestor"].records
    with monkeypatch.context() as patched:
        patched.setitem(records.sql, "record_batch", "SELECT 1 / 0 AS id")
        response = batch(client, "hired_employees", [hire(1), hire(2)])
    assert response.status_code == 500
    assert sql("SELECT count(*) FROM hired_employees") == [(0,)]
    assert sql("SELECT count(*) FROM hire_count_changes") == [(0,)]
    assert sql("SELECT status FROM loads WHERE table_name = 'hired_employees'") == [("failed",)]
    assert batch(client, "hired_employees", [hire(1), hire(2)]).get_json()["inserted"] == 2
    assert sql("SELECT count(*) FROM hired_employees") == [(2,)]
