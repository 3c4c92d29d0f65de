"""The hire_counts summary behind the insights stays exact under every way of writing hires.

After each write (direct and staged uploads, batches, on_conflict=update, restores, and plain
SQL), both insights equal the plain reference queries over hired_employees.
"""

from __future__ import annotations

import time

import pytest

from hrapi import synthetic
from hrapi.app import create_app
from hrapi.ingest import pipeline
from hrapi.insights import Insights
from tests.helpers import (
    SlowBody,
    assert_hire_counts_exact,
    batch,
    load_parents,
    upload_csv,
    upload_in_background,
)

YEARS = (2020, 2021, 2022)


@pytest.fixture
def reference(app, settings):
    return Insights(app.extensions["hrapi.db"], settings.sql_dir, group="insights_reference")


def assert_summary_matches(client, reference):
    for year in YEARS:
        served = client.get(f"/api/v1/insights/hires-by-quarter?year={year}").get_json()
        assert served["rows"] == reference.hires_by_quarter(year), year
        served = client.get(f"/api/v1/insights/departments-above-mean?year={year}").get_json()
        mean, rows = reference.departments_above_mean(year)
        assert (served["mean"], served["rows"]) == (mean, rows), year


def test_every_write_path_keeps_the_summary_exact(client, sql, reference, tmp_path):
    write_every_way(client, sql, reference, tmp_path)


def test_folding_after_every_load_keeps_the_summary_exact(client, sql, reference, tmp_path,
                                                          monkeypatch):  # fmt: skip
    monkeypatch.setattr(pipeline, "FOLD_AFTER_ROWS", 1)
    write_every_way(client, sql, reference, tmp_path)
    last = {"id": 10**6, "name": "Last", "datetime": "2021-01-01T00:00:00Z", "department_id": 1,
            "job_id": 1}  # fmt: skip
    batch(client, "hired_employees", [last])
    assert sql("SELECT count(*) FROM hire_count_changes") == [(0,)]  # all folded
    # and vacuumed: the rows the folds deleted do not pile up (a server may run no autovacuum)
    assert sql("SELECT pg_relation_size('hire_count_changes')") == [(0,)]
    assert_hire_counts_exact(sql)


def test_a_role_that_may_not_skip_key_checks_loads_alike(plain_role_app, sql, reference, tmp_path):
    """Per-row foreign-key checks and the hire_counts trigger (no set-based shortcuts)."""
    ingestor = plain_role_app.extensions["hrapi.ingestor"]
    write_every_way(plain_role_app.test_client(), sql, reference, tmp_path)
    assert ingestor._may_skip is False
    orphan = [{"id": 99_999, "name": "Orphan", "datetime": "2021-01-01T00:00:00Z",
               "department_id": 77, "job_id": 1}]  # fmt: skip
    report = batch(plain_role_app.test_client(), "hired_employees", orphan).get_json()
    assert report["rejects"][0]["reasons"] == ["department_id: department 77 does not exist"]


def write_every_way(client, sql, reference, tmp_path):
    paths = synthetic.generate(tmp_path, hires=800, seed=21)
    data = {name: (path.open("rb"), path.name) for name, path in paths.items()}
    client.post("/api/v1/uploads", data=data, content_type="multipart/form-data")  # direct
    assert sql("SELECT sum(hires) FROM hire_counts")[0][0] > 700
    assert_summary_matches(client, reference)

    more = "".join(f"{i},New {i},2021-0{1 + i % 9}-15T12:00:00Z,{1 + i % 12},{1 + i % 180}\n"
                   for i in range(5000, 5300))  # fmt: skip
    upload_csv(client, "hired_employees", more)  # staged: the table is not empty
    assert_summary_matches(client, reference)

    rows = [{"id": i, "name": "Batch", "datetime": "2022-11-30T23:59:59-05:00",
             "department_id": 2, "job_id": 3} for i in range(6000, 6100)]  # fmt: skip
    batch(client, "hired_employees", rows)
    assert_summary_matches(client, reference)

    moved = [{**row, "datetime": "2020-02-02T02:02:02Z", "department_id": 5} for row in rows[:40]]
    batch(client, "hired_employees", moved, on_conflict="update")
    assert_summary_matches(client, reference)

    backup = client.post("/api/v1/tables/hired_employees/backups").get_json()
    sql("DELETE FROM hired_employees WHERE id % 7 = 0")
    sql("UPDATE hired_employees SET department_id = 1 WHERE id % 11 = 0")
    assert_summary_matches(client, reference)

    client.post("/api/v1/tables/hired_employees/restore", json={"backup": backup["name"]})
    assert_summary_matches(client, reference)

    sql("TRUNCATE hired_employees")
    assert sql("SELECT count(*) FROM hire_counts") == [(0,)]
    assert_summary_matches(client, reference)


EDGES = ["1900-01-01 00:00:00+00", "1899-12-31 23:59:59.999999+00", "2099-12-31 23:59:59.999999+00",
         "2100-01-01 00:00:00+00", "2021-03-31 23:59:59.999999+00", "2021-04-01 00:00:00+00",
         "2021-04-01 00:00:00+14", "2021-06-30 20:00:00-05", "2024-02-29 12:00:00+00",
         "0044-03-15 12:00:00+00 BC", "0001-01-01 00:00:00+00", "9999-12-31 23:59:59+00",
         "4713-01-01 00:00:00+00 BC", "200000-06-01 00:00:00+00"]  # fmt: skip


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "America/St_Johns"])
def test_quarters_at_their_edges_whatever_the_session_time_zone(client, sql, zone):
    """Each hire counts in its UTC year and quarter: at quarters' first and last instants,
    around 1900 and 2100 (where an earlier trigger's search gave way to the calendar), in
    years before Christ and far ahead, inserted, moved and deleted in sessions of any time
    zone."""
    upload_csv(client, "departments", "1,D1\n2,D2\n")
    upload_csv(client, "jobs", "1,J1\n")
    values = ", ".join(f"({i}, 'Edge {i}', '{when}'::timestamptz, 1, 1)"
                       for i, when in enumerate(EDGES, start=1))  # fmt: skip
    sql(f"SET timezone = '{zone}'; INSERT INTO hired_employees VALUES {values}")
    assert_hire_counts_exact(sql)
    sql(f"SET timezone = '{zone}'; UPDATE hired_employees SET department_id = 2,"
        " datetime = datetime + interval '1 microsecond' WHERE id % 2 = 0")  # fmt: skip
    assert_hire_counts_exact(sql)
    sql("DELETE FROM hired_employees WHERE id % 3 = 0")
    assert_hire_counts_exact(sql)
    assert sql("SELECT count(*) FROM hire_counts WHERE hires <> 0") != [(0,)]


def test_the_fold_waits_until_the_response_is_sent(client, sql, monkeypatch):
    """A fold due after a load runs once the response has gone (the client does not wait for
    it): not folded while the response is open, folded when the server closes it."""
    monkeypatch.setattr(pipeline, "FOLD_AFTER_ROWS", 1)
    load_parents(client)
    rows = [{"id": 7, "name": "Ann", "datetime": "2021-01-01T00:00:00Z", "department_id": 1,
             "job_id": 1}]  # fmt: skip
    response = client.post("/api/v1/tables/hired_employees/batch", json={"rows": rows},
                           buffered=False)  # fmt: skip
    assert response.status_code == 201
    assert sql("SELECT count(*) FROM hire_count_changes") == [(1,)]  # logged, not folded
    response.close()
    assert sql("SELECT count(*) FROM hire_count_changes") == [(0,)]
    assert sql("SELECT sum(hires) FROM hire_counts") == [(1,)]


def test_a_first_load_has_the_summary_rebuilt_after_its_response(client, sql, app, reference,
                                                                 tmp_path):  # fmt: skip
    """A first load of hires does not count them as it goes (its trigger is off inside its
    transaction): it marks the summary stale, the insights count the table itself meanwhile,
    writes of that time are counted once, and the summary is rebuilt from the table once the
    response has gone, replacing what was folded and logged before."""
    paths = synthetic.generate(tmp_path, hires=800, seed=5)
    for name in ("departments", "jobs"):
        upload_csv(client, name, paths[name].read_bytes())
    # counts of hires written and deleted before: folded and logged, netting to zero
    sql("INSERT INTO hired_employees VALUES (1, 'Gone', '2021-05-05T00:00:00Z', 1, 1),"
        " (2, 'Gone', '2020-01-01T00:00:00Z', 2, 2)")  # fmt: skip
    app.extensions["hrapi.ingestor"].fold_hire_counts()
    sql("DELETE FROM hired_employees")
    assert sql("SELECT count(*) FROM hire_counts_folded") == [(2,)]

    response = client.post("/api/v1/tables/hired_employees/upload", content_type="text/csv",
                           data=paths["hired_employees"].read_bytes(), buffered=False)  # fmt: skip
    assert response.status_code == 201
    assert sql("SELECT load_id FROM hire_counts_stale") == [(response.get_json()["load_id"],)]
    assert sql("SELECT count(*) FROM hire_count_changes") == [(2,)]  # the two deletions only
    assert sql("SELECT tgenabled FROM pg_trigger WHERE tgname = 'hire_counts_insert'") == [("A",)]
    assert_summary_matches(client, reference)
    assert app.extensions["hrapi.insights"].years() == reference.years() == [2021, 2022]
    # meanwhile: new hires, and hires of the first load moved (their old counts were never in
    # the summary: the rebuild counts the table as it is, and takes these changes in)
    new = [{"id": 9000 + i, "name": "New", "datetime": "2022-12-31T23:59:59Z",
            "department_id": 1, "job_id": 1} for i in range(5)]  # fmt: skip
    assert batch(client, "hired_employees", new).status_code == 201
    moved = [{"id": i, "name": name, "datetime": "2020-06-06T06:06:06Z", "department_id": d,
              "job_id": j} for i, name, d, j in sql(
        "SELECT id, name, department_id, job_id FROM hired_employees WHERE id < 9000"
        " ORDER BY id LIMIT 7")]  # fmt: skip
    assert batch(client, "hired_employees", moved, on_conflict="update").status_code == 201
    assert_summary_matches(client, reference)

    response.close()  # the rebuild runs
    assert sql("SELECT count(*) FROM hire_counts_stale") == [(0,)]
    assert sql("SELECT count(*) FROM hire_count_changes") == [(0,)]
    assert_hire_counts_exact(sql)
    assert_summary_matches(client, reference)


def test_a_write_under_way_during_the_rebuild_is_counted_once(client, sql, app, tmp_path):
    """The rebuild counts the table and deletes the logged changes and marks in one snapshot:
    a batch that commits while it runs (its changes not seen) is folded later, and a first
    load's mark made after it stays for the next rebuild."""
    paths = synthetic.generate(tmp_path, hires=300, seed=8)
    for name in ("departments", "jobs"):
        upload_csv(client, name, paths[name].read_bytes())
    ingestor = app.extensions["hrapi.ingestor"]
    response = client.post("/api/v1/tables/hired_employees/upload", content_type="text/csv",
                           data=paths["hired_employees"].read_bytes(), buffered=False)  # fmt: skip
    assert response.status_code == 201
    # a batch holds its rows uncommitted while the rebuild takes its snapshot
    database = app.extensions["hrapi.db"]
    with database.connection() as conn:
        conn.execute("INSERT INTO hired_employees VALUES (7777, 'Late', '2021-08-08T08:08:08Z',"
                     " 1, 1)")  # fmt: skip
        conn.execute("INSERT INTO hire_counts_stale (load_id) VALUES (0)")  # a later mark
        response.close()  # the rebuild runs beside this open transaction
        assert sql("SELECT load_id FROM hire_counts_stale") == []
        conn.commit()
    assert sql("SELECT load_id FROM hire_counts_stale") == [(0,)]  # stays for the next one
    assert sql("SELECT count(*) FROM hire_count_changes") == [(1,)]  # the late hire's
    assert_hire_counts_exact(sql)
    ingestor.fold_hire_counts()
    assert sql("SELECT count(*) FROM hire_counts_stale") == [(0,)]
    assert_hire_counts_exact(sql)


def test_the_insights_while_a_first_load_holds_the_table(client, sql):
    """During a first load (the table held until it commits) the insights answer from the
    summary at once; where the summary is stale (a first load's rebuild not made: its process
    ended), they count the table itself, and wait 3 s at most for it, then answer 503, as
    reads of the table do, rather than tie up a worker for the load's length."""
    load_parents(client)
    uploading, answer = upload_in_background(client, SlowBody(40_000, 16))
    held = ("SELECT count(*) FROM pg_locks WHERE relation = 'hired_employees'::regclass AND"
            " mode = 'AccessExclusiveLock' AND granted")  # fmt: skip
    deadline = time.monotonic() + 5
    while sql(held) != [(1,)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sql(held) == [(1,)]
    started = time.monotonic()
    assert client.get("/api/v1/insights/hires-by-quarter?year=2021").status_code == 200
    assert time.monotonic() - started < 1.5
    sql("INSERT INTO hire_counts_stale (load_id) VALUES (0)")
    started = time.monotonic()
    response = client.get("/api/v1/insights/departments-above-mean?year=2021")
    waited = time.monotonic() - started
    assert uploading.is_alive()
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "hired_employees is held by a load" in response.get_json()["message"]
    assert 2.5 < waited < 6
    uploading.join()
    assert answer["response"].status_code == 201
    assert sql("SELECT count(*) FROM hire_counts_stale") == [(0,)]  # its rebuild took both
    assert_hire_counts_exact(sql)


def test_a_stale_summary_is_rebuilt_at_start_up_and_emptied_with_the_table(client, sql,
                                                                           settings):  # fmt: skip
    """A first load whose process ended before its rebuild leaves its mark: the app's next
    start rebuilds the summary in the background, rather than leave the insights counting the
    table until the next fold. Emptying the table empties the summary and its marks."""
    load_parents(client)
    sql(
        "ALTER TABLE hired_employees DISABLE TRIGGER hire_counts_insert;"
        " INSERT INTO hired_employees SELECT i, 'P' || i, timestamptz '2021-01-01 00:00+00'"
        "   + i * interval '1 day', 1 + i % 3, 1 + i % 2 FROM generate_series(1, 500) i;"
        " ALTER TABLE hired_employees ENABLE ALWAYS TRIGGER hire_counts_insert;"
        " INSERT INTO hire_counts_stale (load_id) VALUES (0)"
    )  # as a first load commits
    assert sql("SELECT count(*) FROM hire_count_changes") == [(0,)]
    started = create_app(settings)
    try:
        deadline = time.monotonic() + 10
        while sql("SELECT count(*) FROM hire_counts_stale") != [(0,)]:
            assert time.monotonic() < deadline, "not rebuilt"
            time.sleep(0.05)
        assert_hire_counts_exact(sql)
        assert sql("SELECT sum(hires) FROM hire_counts") == [(500,)]
    finally:
        started.extensions["hrapi.db"].close()
    sql("INSERT INTO hire_counts_stale (load_id) VALUES (0)")
    sql("TRUNCATE hired_employees")
    assert sql("SELECT count(*) FROM hire_counts_stale") == [(0,)]
    assert sql("SELECT count(*) FROM hire_counts") == [(0,)]
