"""Insights: answers equal an independent computation in Python, on any time zone or collation."""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from dataclasses import replace

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from hrapi import create_app, synthetic
from tests.helpers import batch, upload_csv

TRICKY_DEPARTMENTS = "1,sales\n2,Sales\n3,alpha\n4,Beta\n5,Quiet\n6,=cmd()\n"
TRICKY_JOBS = "1,zeta\n2,Alpha\n3,alpha\n4,-minus\n"
# Instants near year and quarter edges: their UTC year/quarter differs from UTC+14 or UTC-12.
TRICKY_HIRES = [
    (1, "2020-12-31T23:59:59Z", 1, 1),
    (2, "2021-01-01T00:00:00Z", 1, 1),
    (3, "2021-03-31T23:59:59Z", 2, 2),
    (4, "2021-04-01T00:00:00Z", 2, 3),
    (5, "2021-06-30T13:00:00Z", 3, 1),
    (6, "2021-12-31T23:30:00Z", 4, 4),
    (7, "2022-01-01T00:00:00Z", 4, 4),
    (8, "2021-07-01T10:00:00+14:00", 6, 2),  # 2021-06-30T20:00Z: Q2 in UTC
    (9, "2021-09-30T23:00:00-12:00", 6, 2),  # 2021-10-01T11:00Z: Q4 in UTC
]


def load_tricky(client, parents=True, id_offset=0):
    if parents:
        upload_csv(client, "departments", TRICKY_DEPARTMENTS)
        upload_csv(client, "jobs", TRICKY_JOBS)
    rows = [{"id": id_offset + i, "name": f"P{i}", "datetime": when, "department_id": d,
             "job_id": j} for i, when, d, j in TRICKY_HIRES]  # fmt: skip
    assert batch(client, "hired_employees", rows).get_json()["inserted"] == len(rows)


def expected_from_files(paths, year):
    """Both insights computed in plain Python from the CSV files (not with our SQL)."""
    names = {}
    for table in ("departments", "jobs"):
        with paths[table].open(newline="") as handle:
            names[table] = {int(i): name for i, name in csv.reader(handle)}
    quarters = Counter()
    per_department = Counter()
    with paths["hired_employees"].open(newline="") as handle:
        for _id, _name, when, dept, job in csv.reader(handle):
            if "" in (_id, _name, when, dept, job):
                continue
            instant = dt.datetime.fromisoformat(when).astimezone(dt.UTC)
            if instant.year != year:
                continue
            quarters[(int(dept), int(job), (instant.month - 1) // 3 + 1)] += 1
            per_department[int(dept)] += 1
    pairs = sorted(
        {(d, j) for d, j, _ in quarters},
        key=lambda p: (names["departments"][p[0]].lower(), names["departments"][p[0]],
                       names["jobs"][p[1]].lower(), names["jobs"][p[1]]),
    )  # fmt: skip
    by_quarter = [
        {"department": names["departments"][d], "job": names["jobs"][j],
         **{f"Q{q}": quarters[(d, j, q)] for q in (1, 2, 3, 4)}}
        for d, j in pairs
    ]  # fmt: skip
    mean = sum(per_department.values()) / len(names["departments"])
    above = sorted(
        ({"id": d, "department": names["departments"][d], "hired": n}
         for d, n in per_department.items() if n > mean),
        key=lambda r: (-r["hired"], r["department"].lower(), r["department"]),
    )  # fmt: skip
    return by_quarter, round(mean, 2), above


@pytest.fixture
def fixture_files(tmp_path):
    return synthetic.generate(tmp_path / "fixtures", hires=1500, seed=11)


def upload_files(client, paths):
    data = {name: (path.open("rb"), path.name) for name, path in paths.items()}
    response = client.post("/api/v1/uploads", data=data, content_type="multipart/form-data")
    assert response.status_code == 201


@pytest.mark.parametrize("year", [2021, 2022])
def test_answers_equal_an_independent_computation(client, fixture_files, year):
    upload_files(client, fixture_files)
    by_quarter, mean, above = expected_from_files(fixture_files, year)
    assert by_quarter and above
    got = client.get(f"/api/v1/insights/hires-by-quarter?year={year}").get_json()
    assert got == {"year": year, "rows": by_quarter}
    got = client.get(f"/api/v1/insights/departments-above-mean?year={year}").get_json()
    assert got == {"year": year, "mean": mean, "rows": above}


def test_year_edges_are_utc_and_order_is_case_insensitive(client):
    load_tricky(client)
    rows = client.get("/api/v1/insights/hires-by-quarter?year=2021").get_json()["rows"]
    compact = [(r["department"], r["job"], r["Q1"], r["Q2"], r["Q3"], r["Q4"]) for r in rows]
    assert compact == [
        ("=cmd()", "Alpha", 0, 1, 0, 1),
        ("alpha", "zeta", 0, 1, 0, 0),
        ("Beta", "-minus", 0, 0, 0, 1),
        ("Sales", "Alpha", 1, 0, 0, 0),
        ("Sales", "alpha", 0, 1, 0, 0),
        ("sales", "zeta", 1, 0, 0, 0),
    ]
    above = client.get("/api/v1/insights/departments-above-mean?year=2021").get_json()
    # 7 hires in 2021 over 6 departments (Quiet hired none): mean 1.17.
    assert above["mean"] == 1.17
    assert [(r["department"], r["hired"]) for r in above["rows"]] == [("=cmd()", 2), ("Sales", 2)]


@pytest.fixture
def far_away_database(database_url):
    """A second database with collation "C" and a time zone 14 hours from UTC."""
    name = "hrapi_far_away"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(
            f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
        )
        conn.execute(f"ALTER DATABASE {name} SET timezone TO 'Pacific/Kiritimati'")
    params = conninfo_to_dict(database_url)
    params["dbname"] = name
    yield make_conninfo(**params)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_same_answers_on_a_far_time_zone_and_c_collation(
    client, settings, far_away_database, fixture_files
):
    app = create_app(replace(settings, database_url=far_away_database))
    try:
        far = app.test_client()
        with psycopg.connect(far_away_database) as conn:
            assert conn.execute("SHOW timezone").fetchone()[0] == "Pacific/Kiritimati"
        for each in (client, far):
            upload_files(each, fixture_files)
            load_tricky(each, parents=False, id_offset=100_000)  # instants at year edges
        for path in ("hires-by-quarter", "departments-above-mean"):
            for year in (2020, 2021, 2022):
                url = f"/api/v1/insights/{path}?year={year}"
                assert client.get(url).get_json() == far.get(url).get_json()
    finally:
        app.extensions["hrapi.db"].close()


@pytest.mark.parametrize("year", ["1899", "2101", "abc", "2021.5", ""])
def test_bad_years_are_422(client, year):
    for path in ("hires-by-quarter", "departments-above-mean"):
        response = client.get(f"/api/v1/insights/{path}?year={year}")
        assert response.status_code == 422, (path, year)


def test_year_without_hires_and_default_year(client):
    load_tricky(client)
    assert client.get("/api/v1/insights/hires-by-quarter?year=1999").get_json() == {
        "year": 1999,
        "rows": [],
    }
    assert client.get("/api/v1/insights/departments-above-mean?year=1999").get_json() == {
        "year": 1999,
        "mean": 0.0,
        "rows": [],
    }
    assert client.get("/api/v1/insights/hires-by-quarter").get_json()["year"] == 2021


def test_csv_answers_have_headers_and_are_spreadsheet_safe(client):
    load_tricky(client)
    text = client.get(
        "/api/v1/insights/hires-by-quarter?year=2021", headers={"Accept": "text/csv"}
    ).get_data(as_text=True)
    lines = text.splitlines()
    assert lines[0] == "department,job,Q1,Q2,Q3,Q4"
    assert lines[1] == "'=cmd(),Alpha,0,1,0,1"
    assert "'-minus" in text
    above = client.get("/api/v1/insights/departments-above-mean?year=2021&format=csv")
    assert above.mimetype == "text/csv"
    assert above.get_data(as_text=True).splitlines()[0] == "id,department,hired"


@pytest.mark.parametrize("damage", ["missing", "empty", "broken"])
def test_a_missing_or_broken_insight_file_stops_start_up(settings, tmp_path, damage):
    import shutil

    from hrapi.sql_files import SqlFilesError

    sql_dir = tmp_path / "sql"
    shutil.copytree(settings.sql_dir, sql_dir)
    target = sql_dir / "insights" / "hires_by_quarter.sql"
    if damage == "missing":
        target.unlink()
    elif damage == "empty":
        target.write_text("-- nothing here\n")
    else:
        target.write_text("SELECT department FROM no_such_table WHERE x = %(year)s")
    with pytest.raises(SqlFilesError, match="hires_by_quarter"):
        create_app(replace(settings, sql_dir=sql_dir))
