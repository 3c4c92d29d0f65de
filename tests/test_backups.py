"""Backups: AVRO files with real types, exact round trips, and restores that never half-happen."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import time

import fastavro
import psycopg
import pytest

from tests.helpers import batch, load_synthetic, upload_csv

TABLE_QUERIES = {
    "departments": "SELECT id, department FROM departments ORDER BY id",
    "jobs": "SELECT id, job FROM jobs ORDER BY id",
    "hired_employees": "SELECT id, name, datetime, department_id, job_id FROM hired_employees"
    " ORDER BY id",
}


@pytest.fixture
def loaded(client, tmp_path):
    load_synthetic(client, tmp_path / "data", hires=400, seed=5)
    # Microseconds and offsets survive too.
    batch(client, "hired_employees", [
        {"id": 9001, "name": "Micro", "datetime": "2021-05-05T10:11:12.345678+02:00",
         "department_id": 1, "job_id": 1},
    ])  # fmt: skip
    return client


def backup(client, table):
    response = client.post(f"/api/v1/tables/{table}/backups")
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def reseal(path):
    """Make a backup's sidecar match its (changed) file, as a forger would."""
    sidecar = path.with_name(path.name + ".json")
    meta = json.loads(sidecar.read_text())
    data = path.read_bytes()
    meta.update(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
    sidecar.write_text(json.dumps(meta))


def restore(client, table, name=None):
    body = {} if name is None else {"backup": name}
    return client.post(f"/api/v1/tables/{table}/restore", json=body)


@pytest.mark.parametrize("table", list(TABLE_QUERIES))
def test_round_trip_gives_back_exactly_the_rows(loaded, sql, table):
    before = sql(TABLE_QUERIES[table])
    info = backup(loaded, table)
    assert info["rows"] == len(before) and info["table"] == table
    sql(f"UPDATE {table} SET id = id WHERE false")  # no-op; the table is as backed up
    response = restore(loaded, table, info["name"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["unchanged"] == len(before)
    assert sql(TABLE_QUERIES[table]) == before


def test_restore_after_inserts_updates_and_deletes(loaded, sql):
    before = sql(TABLE_QUERIES["hired_employees"])
    info = backup(loaded, "hired_employees")
    batch(loaded, "hired_employees", [
        {"id": 1, "name": "Changed", "datetime": "2022-01-01T00:00:00Z", "department_id": 2,
         "job_id": 2},
        {"id": 7777, "name": "Added", "datetime": "2022-01-01T00:00:00Z", "department_id": 2,
         "job_id": 2},
    ], on_conflict="update")  # fmt: skip
    sql("DELETE FROM hired_employees WHERE id = 2")
    report = restore(loaded, "hired_employees").get_json()  # the newest
    assert report["backup"] == info["name"]
    assert (report["inserted"], report["updated"], report["deleted"]) == (1, 1, 1)
    assert sql(TABLE_QUERIES["hired_employees"]) == before


def test_microseconds_and_time_zones_survive(loaded, sql):
    info = backup(loaded, "hired_employees")
    sql("UPDATE hired_employees SET datetime = datetime + interval '1 microsecond' WHERE id = 9001")
    restore(loaded, "hired_employees", info["name"])
    stored = sql("SELECT datetime FROM hired_employees WHERE id = 9001")[0][0]
    assert stored == dt.datetime(2021, 5, 5, 8, 11, 12, 345678, tzinfo=dt.UTC)


def test_file_reads_with_plain_fastavro_and_has_real_types(loaded, settings, sql):
    info = backup(loaded, "hired_employees")
    path = settings.backup_dir / "hired_employees" / info["name"]
    with path.open("rb") as handle:
        reader = fastavro.reader(handle)
        types = {f["name"]: f["type"] for f in reader.writer_schema["fields"]}
        records = list(reader)
    assert types == {
        "id": "int", "name": "string",
        "datetime": {"type": "long", "logicalType": "timestamp-micros"},
        "department_id": "int", "job_id": "int",
    }  # fmt: skip
    expected = sql(TABLE_QUERIES["hired_employees"])
    assert [tuple(r.values()) for r in records] == expected
    assert not list(path.parent.glob("*.partial"))


def test_listing_is_newest_first(loaded):
    first = backup(loaded, "jobs")
    second = backup(loaded, "jobs")
    listing = loaded.get("/api/v1/tables/jobs/backups").get_json()["backups"]
    assert [b["name"] for b in listing] == [second["name"], first["name"]]
    assert listing[0]["sha256"] == second["sha256"] and listing[0]["bytes"] > 0


@pytest.mark.parametrize(
    "name",
    [
        "../departments/x.avro",
        "/etc/passwd",
        "..%2F..%2Fetc%2Fpasswd",
        "20990101T000000.000000Z.avro",
        "",
        "x.json",
        pytest.param("x" * 100_000, id="x*100000"),
    ],
)
def test_names_that_are_not_listed_backups_are_refused(loaded, name):
    backup(loaded, "departments")
    response = restore(loaded, "departments", name)
    assert response.status_code == 404
    assert "not one of the backups" in response.get_json()["message"]
    assert len(response.get_json()["message"]) < 300  # a long name is not echoed whole


def test_restore_body_of_wrong_shape_is_422(loaded):
    backup(loaded, "jobs")
    assert loaded.post("/api/v1/tables/jobs/restore", json={"file": "x"}).status_code == 422
    assert loaded.post("/api/v1/tables/jobs/restore", json={"backup": 5}).status_code == 422


def test_no_backups_or_unknown_table_is_404(client):
    assert restore(client, "jobs").status_code == 404
    assert client.post("/api/v1/tables/salaries/backups").status_code == 404
    assert client.get("/api/v1/tables/jobs/backups").get_json() == {"backups": []}


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_a_corrupted_file_leaves_the_table_intact(loaded, settings, sql, damage):
    info = backup(loaded, "hired_employees")
    sql("DELETE FROM hired_employees WHERE id > 100")
    before = sql(TABLE_QUERIES["hired_employees"])
    path = settings.backup_dir / "hired_employees" / info["name"]
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
    else:
        data = data[: len(data) // 2]
    path.write_bytes(bytes(data))
    response = restore(loaded, "hired_employees", info["name"])
    assert response.status_code == 422
    assert sql(TABLE_QUERIES["hired_employees"]) == before


def test_a_corrupt_file_whose_checksum_was_updated_still_fails_cleanly(loaded, settings, sql):
    info = backup(loaded, "hired_employees")
    sql("DELETE FROM hired_employees WHERE id > 100")
    before = sql(TABLE_QUERIES["hired_employees"])
    path = settings.backup_dir / "hired_employees" / info["name"]
    data = path.read_bytes()[:-40]
    path.write_bytes(data)
    sidecar = path.with_name(path.name + ".json")
    meta = json.loads(sidecar.read_text())
    meta["sha256"] = hashlib.sha256(data).hexdigest()
    sidecar.write_text(json.dumps(meta))
    assert restore(loaded, "hired_employees", info["name"]).status_code == 422
    assert sql(TABLE_QUERIES["hired_employees"]) == before


def test_a_backup_of_another_schema_is_refused(loaded, settings, sql):
    info = backup(loaded, "jobs")
    path = settings.backup_dir / "jobs" / info["name"]
    fields = [{"name": "id", "type": "long"}, {"name": "job", "type": "string"}]
    schema = {"type": "record", "name": "jobs", "fields": fields}
    with path.open("wb") as handle:
        fastavro.writer(handle, schema, [{"id": 1, "job": "x"}])
    reseal(path)  # its sidecar's checksum made to match: the schema is what refuses it
    before = sql(TABLE_QUERIES["jobs"])
    response = restore(loaded, "jobs", info["name"])
    assert response.status_code == 422 and "schema" in response.get_json()["message"]
    assert sql(TABLE_QUERIES["jobs"]) == before


def test_restoring_parents_that_would_orphan_hires_is_409(client, sql):
    upload_csv(client, "departments", "1,Sales\n")
    upload_csv(client, "jobs", "1,Clerk\n")
    old = backup(client, "departments")
    upload_csv(client, "departments", "2,Legal\n")
    batch(client, "hired_employees", [
        {"id": 1, "name": "A", "datetime": "2021-01-01T00:00:00Z", "department_id": 2, "job_id": 1},
        {"id": 2, "name": "B", "datetime": "2021-01-01T00:00:00Z", "department_id": 2, "job_id": 1},
    ])  # fmt: skip
    response = restore(client, "departments", old["name"])
    assert response.status_code == 409
    assert "2 hires" in response.get_json()["message"]
    assert "(hire ids 1, 2)" in response.get_json()["message"]
    assert sql("SELECT id FROM departments ORDER BY id") == [(1,), (2,)]


def test_restoring_hires_whose_parents_are_gone_is_409(client, sql):
    upload_csv(client, "departments", "1,Sales\n2,Legal\n")
    upload_csv(client, "jobs", "1,Clerk\n")
    batch(client, "hired_employees", [
        {"id": 1, "name": "A", "datetime": "2021-01-01T00:00:00Z", "department_id": 2, "job_id": 1},
    ])  # fmt: skip
    old = backup(client, "hired_employees")
    sql("DELETE FROM hired_employees")
    sql("DELETE FROM departments WHERE id = 2")
    response = restore(client, "hired_employees", old["name"])
    assert response.status_code == 409
    assert "1 hires" in response.get_json()["message"]
    assert "(ids 1)" in response.get_json()["message"]
    assert sql("SELECT count(*) FROM hired_employees") == [(0,)]


def test_cli_backup_and_restore(loaded, runner, sql):
    result = runner.invoke(args=["backup"])
    assert result.exit_code == 0, result.output
    assert all(t in result.output for t in TABLE_QUERIES)
    before = sql(TABLE_QUERIES["jobs"])
    sql("UPDATE jobs SET job = 'renamed' WHERE id = 3")
    result = runner.invoke(args=["restore", "jobs"])
    assert result.exit_code == 0, result.output
    assert "1 updated" in result.output
    assert sql(TABLE_QUERIES["jobs"]) == before
    refused = runner.invoke(args=["restore", "jobs", "../nope.avro"])
    assert refused.exit_code != 0 and "not one of the backups" in refused.output


def test_the_database_encodes_records_exactly_as_avro_readers_read_them(client, settings, sql):
    """Every length of AVRO's variable-length longs, text of every kind, instants from year 1
    to 9999 and before 1970, to the microsecond: what fastavro reads is what is stored, and
    what a restore stores again."""
    names = ["a", "é", "日本語", "tab\there", "line\nbreak\r\n", "back\\slash", "x" * 1000,
             "🙂" * 250, "'quoted' \"twice\"", "\x01control"]  # fmt: skip
    sql("INSERT INTO departments VALUES (1, 'D'), (2147483647, 'Max')")
    sql("INSERT INTO jobs SELECT i, 'J' || i FROM unnest(%s::int[]) AS i",
        ([1, 63, 64, 8191, 8192, 1048575, 1048576, 134217727, 134217728, 2147483647],))  # fmt: skip
    instants = ["0001-01-01T00:00:00Z", "1969-12-31T23:59:59.999999Z", "1970-01-01T00:00:00Z",
                "1970-01-01T00:00:00.000001Z", "2021-06-30T12:34:56.789012+05:30",
                "9999-12-31T23:59:59.999999Z", "1600-02-29T00:00:00-14:00"]  # fmt: skip
    jobs = [row[0] for row in sql("SELECT id FROM jobs ORDER BY id")]
    for i, (name, instant) in enumerate(zip(names * 3, instants * 5, strict=False)):
        sql("INSERT INTO hired_employees VALUES (%s, %s, %s, %s, %s)",
            (jobs[i % len(jobs)] if i < len(jobs) else 1000 + i, name, instant,
             2147483647 if i % 2 else 1, jobs[i % len(jobs)]))  # fmt: skip
    made = {}
    for table, query in TABLE_QUERIES.items():
        info = backup(client, table)
        made[table] = info["name"]
        with (settings.backup_dir / table / info["name"]).open("rb") as handle:
            records = [tuple(r.values()) for r in fastavro.reader(handle)]
        assert records == sql(query), table
        assert info["rows"] == len(records)
    # and restored, into the emptied table and over changed rows, to the microsecond too
    stored = sql(TABLE_QUERIES["hired_employees"])
    sql("DELETE FROM hired_employees")
    assert restore(client, "hired_employees", made["hired_employees"]).status_code == 200
    assert sql(TABLE_QUERIES["hired_employees"]) == stored
    sql("UPDATE hired_employees SET datetime = datetime - interval '1 microsecond' WHERE id > 63")
    sql("DELETE FROM hired_employees WHERE id < 64")
    assert restore(client, "hired_employees", made["hired_employees"]).get_json()["updated"] > 0
    assert sql(TABLE_QUERIES["hired_employees"]) == stored


def test_a_backup_while_a_load_holds_its_table_is_503_and_writes_nothing(loaded, settings, sql,
                                                                         database_url):  # fmt: skip
    """A first load holds its table until it commits (sql/ingest/drop_primary_key.sql): a
    backup of it, alone or in a set, waits 3 s at most, then answers 503 and leaves no file."""
    held, release = threading.Event(), threading.Event()

    def hold():  # as the load does; let go after 15 s at most (a backup that waits: 201, late)
        with psycopg.connect(database_url) as holder:
            holder.execute("LOCK TABLE hired_employees IN ACCESS EXCLUSIVE MODE")
            held.set()
            release.wait(15)

    holding = threading.Thread(target=hold)
    holding.start()
    held.wait(10)
    try:
        started = time.monotonic()
        response = loaded.post("/api/v1/tables/hired_employees/backups")
        waited = time.monotonic() - started
        assert response.status_code == 503 and response.headers["Retry-After"] == "5"
        assert "hired_employees is being loaded" in response.get_json()["message"]
        assert 2.5 < waited < 6
        response = loaded.post("/api/v1/backups")
        assert response.status_code == 503, response.get_json()
        assert backup(loaded, "jobs")["rows"] > 0  # the other tables are not held
    finally:
        release.set()
        holding.join()
    folder = settings.backup_dir / "hired_employees"
    assert not folder.exists() or not list(folder.iterdir())  # not even a partial file
    assert loaded.get("/api/v1/backups").get_json() == {"sets": []}
    stored = sql("SELECT count(*) FROM hired_employees")[0][0]
    assert backup(loaded, "hired_employees")["rows"] == stored  # once the load let go


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", None])
def test_a_restore_whose_choice_is_not_json_is_415_not_the_newest_backup(loaded, sql, content_type):
    """`curl -d '{"backup": ...}'` sends a form: its choice unread, the newest was restored."""
    older = backup(loaded, "jobs")["name"]
    loaded.post("/api/v1/tables/jobs/upload", data="900,Added\n", content_type="text/csv")
    backup(loaded, "jobs")
    loaded.post("/api/v1/tables/jobs/upload", data="901,Later\n", content_type="text/csv")
    before = sql(TABLE_QUERIES["jobs"])
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = loaded.post("/api/v1/tables/jobs/restore", data=f'{{"backup": "{older}"}}',
                           headers=headers)  # fmt: skip
    assert response.status_code == 415, response.get_json()
    assert "application/json" in response.get_json()["message"]
    assert sql(TABLE_QUERIES["jobs"]) == before
    assert loaded.post("/api/v1/tables/jobs/restore").status_code == 200  # no body: the newest
    assert sql("SELECT max(id) FROM jobs") == [(900,)]
    assert restore(loaded, "jobs", older).status_code == 200
    assert sql("SELECT count(*) FROM jobs WHERE id >= 900") == [(0,)]
