"""Restores isolated from concurrent writers, sets of all three tables, and their CLI."""

from __future__ import annotations

import itertools
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from tests.helpers import assert_hire_counts_exact, batch, load_synthetic
from tests.test_backups import TABLE_QUERIES, backup, restore

HIRE = "2021-03-04T05:06:07Z"


@pytest.fixture
def loaded(client, tmp_path):
    load_synthetic(client, tmp_path / "data", hires=300, seed=11)
    return client


def hires(first: int, count: int) -> list[dict]:
    return [{"id": i, "name": f"Writer {i}", "datetime": HIRE, "department_id": 1 + i % 5,
             "job_id": 1 + i % 7} for i in range(first, first + count)]  # fmt: skip


def wait_for_lock_waiters(database_url, count: int, timeout: float = 10) -> None:
    """Until `count` sessions wait for a lock on hired_employees."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = "
                "'hired_employees'::regclass").fetchone()[0]  # fmt: skip
            if waiting >= count:
                return
            time.sleep(0.02)
    raise AssertionError(f"fewer than {count} sessions waited for hired_employees")


def test_a_restore_waits_for_a_writer_in_flight_and_batches_wait_for_it(loaded, database_url, sql):
    """A write that commits while the restore is staged is replaced by the backup; a batch
    sent while the restore runs waits for it, and its rows are there afterwards."""
    info = backup(loaded, "hired_employees")
    expected = sql(TABLE_QUERIES["hired_employees"])
    results = {}
    with psycopg.connect(database_url) as writer:  # a writer in flight: not committed yet
        writer.execute("INSERT INTO hired_employees VALUES (900001, 'In flight', %s, 1, 1)",
                       (HIRE,))  # fmt: skip
        restoring = threading.Thread(target=lambda: results.update(
            restore=restore(loaded, "hired_employees", info["name"])))  # fmt: skip
        restoring.start()
        wait_for_lock_waiters(database_url, 1)  # the restore, staged, waits for the writer
        batching = threading.Thread(target=lambda: results.update(
            batch=batch(loaded, "hired_employees", hires(900100, 3))))  # fmt: skip
        batching.start()
        wait_for_lock_waiters(database_url, 2)  # the batch waits behind the restore
        writer.commit()
    restoring.join(10)
    batching.join(10)
    assert results["restore"].status_code == 200, results["restore"].get_json()
    assert results["restore"].get_json()["deleted"] == 1  # the write that came before it
    assert results["batch"].status_code == 201
    assert results["batch"].get_json()["inserted"] == 3
    after = sql(TABLE_QUERIES["hired_employees"])
    assert [r for r in after if r[0] < 900000] == expected
    assert [r[0] for r in after if r[0] >= 900000] == [900100, 900101, 900102]
    assert_hire_counts_exact(sql)


def test_a_restore_racing_with_three_writers_leaves_the_backup_plus_later_batches(loaded, sql):
    info = backup(loaded, "hired_employees")
    backed_up = sql(TABLE_QUERIES["hired_employees"])
    stop = threading.Event()
    done: list[tuple[float, float, int, int]] = []  # (sent, answered, first id, status)
    ids = itertools.count(1_000_000, 50)
    lock = threading.Lock()

    def writer():
        while not stop.is_set():
            with lock:
                first = next(ids)
            sent = time.monotonic()
            status = batch(loaded, "hired_employees", hires(first, 50)).status_code
            done.append((sent, time.monotonic(), first, status))

    with ThreadPoolExecutor(3) as pool:
        writers = [pool.submit(writer) for _ in range(3)]
        time.sleep(0.3)
        restores = []
        for _ in range(3):
            started = time.monotonic()
            response = restore(loaded, "hired_employees", info["name"])
            restores.append((started, time.monotonic(), response))
            time.sleep(0.2)
        stop.set()
        for future in writers:
            future.result()
    assert all(r.status_code == 200 for _, _, r in restores)
    assert all(status == 201 for *_, status in done)
    after = {row[0]: row for row in sql(TABLE_QUERIES["hired_employees"])}
    assert all(after.get(row[0]) == row for row in backed_up)  # the backup, exactly
    last_start, last_end = restores[-1][0], restores[-1][1]
    for sent, answered, first, _ in done:
        present = [i in after for i in range(first, first + 50)]
        assert all(present) or not any(present)  # a batch is all or nothing
        if answered < last_start:
            assert not any(present), f"batch {first} came before the last restore"
        if sent > last_end:
            assert all(present), f"batch {first} came after the last restore"
    others = set(after) - {row[0] for row in backed_up}
    assert all(i >= 1_000_000 for i in others)
    assert_hire_counts_exact(sql)


def test_a_set_is_one_snapshot_and_restores_all_three_tables(loaded, settings, sql):
    made = loaded.post("/api/v1/backups")
    entry = made.get_json()
    assert made.status_code == 201, entry
    before = {table: sql(query) for table, query in TABLE_QUERIES.items()}
    assert {t: v["rows"] for t, v in entry["tables"].items()} == {
        t: len(rows) for t, rows in before.items()}  # fmt: skip
    manifest = json.loads((settings.backup_dir / "sets" / entry["name"] / "manifest.json")
                          .read_text())  # fmt: skip
    assert manifest["tables"] == entry["tables"]
    assert loaded.get("/api/v1/backups").get_json()["sets"][0]["name"] == entry["name"]
    # Change all three: a new department with hires in it, renamed jobs, deleted hires.
    batch(loaded, "departments", [{"id": 99, "department": "New"}])
    batch(loaded, "hired_employees", [{**hires(5000, 1)[0], "department_id": 99}])
    sql("UPDATE jobs SET job = job || ' (renamed)' WHERE id < 5")
    sql("DELETE FROM hired_employees WHERE id < 50")
    response = loaded.post(f"/api/v1/backups/{entry['name']}/restore")
    report = response.get_json()
    assert response.status_code == 200, report
    assert report["tables"]["departments"]["deleted"] == 1
    assert report["tables"]["jobs"]["updated"] == 4
    assert report["tables"]["hired_employees"]["deleted"] == 1
    assert {table: sql(query) for table, query in TABLE_QUERIES.items()} == before
    assert_hire_counts_exact(sql)


def test_a_set_with_a_changed_file_or_an_unknown_name_is_refused(loaded, settings, sql):
    entry = loaded.post("/api/v1/backups").get_json()
    sql("DELETE FROM hired_employees WHERE id < 50")
    before = sql(TABLE_QUERIES["hired_employees"])
    assert loaded.post("/api/v1/backups/20990101T000000.000000Z/restore").status_code == 404
    assert loaded.post("/api/v1/backups/..%2Fhired_employees/restore").status_code == 404
    long_name = loaded.post(f"/api/v1/backups/{'x' * 100_000}/restore")
    assert long_name.status_code == 404 and len(long_name.get_json()["message"]) < 300
    path = settings.backup_dir / "sets" / entry["name"] / "jobs.avro"
    path.write_bytes(path.read_bytes()[:-5])
    response = loaded.post(f"/api/v1/backups/{entry['name']}/restore")
    assert response.status_code == 422 and "changed" in response.get_json()["message"]
    assert sql(TABLE_QUERIES["hired_employees"]) == before


def test_cli_lists_backups_and_makes_and_restores_sets(loaded, runner, sql):
    backup(loaded, "jobs")
    made = runner.invoke(args=["backup", "--set"])
    assert made.exit_code == 0, made.output
    name = made.output.split()[1].rstrip(":")
    listed = runner.invoke(args=["backups"])
    assert listed.exit_code == 0 and name in listed.output and "jobs: 1 backups" in listed.output
    only_jobs = runner.invoke(args=["backups", "jobs"])
    assert "sets" not in only_jobs.output and "rows" in only_jobs.output
    before = sql(TABLE_QUERIES["departments"])
    sql("UPDATE departments SET department = 'x' WHERE id = 1")
    restored = runner.invoke(args=["restore", "--set", name])
    assert restored.exit_code == 0, restored.output
    assert "departments: restored" in restored.output and "1 updated" in restored.output
    assert sql(TABLE_QUERIES["departments"]) == before
    assert runner.invoke(args=["restore"]).exit_code != 0  # a table or --set
    assert runner.invoke(args=["restore", "--set", "nope"]).exit_code != 0
