"""Backups one can trust: only our own files, checked rows, download, import and retention."""

from __future__ import annotations

import datetime as dt
import errno
import io
import json
import os
import resource
import threading
import zlib
from dataclasses import replace

import fastavro
import pytest
from hypothesis import given
from hypothesis import settings as settings_of_hypothesis
from hypothesis import strategies as st

from hrapi import create_app
from hrapi.backups.avro_header import Prefixed, encode, read_header
from hrapi.backups.avro_rows import avro_schema
from hrapi.backups.writing import unwritable
from hrapi.tables import TABLES
from tests.helpers import assert_hire_counts_exact, batch, load_parents
from tests.test_backups import TABLE_QUERIES, backup, reseal, restore

HIRE = "2021-03-04T05:06:07Z"


@pytest.fixture
def hires(client):
    load_parents(client)
    rows = [{"id": i, "name": f"Person {i}", "datetime": HIRE, "department_id": 1, "job_id": 2}
            for i in range(1, 21)]  # fmt: skip
    assert batch(client, "hired_employees", rows).status_code == 201
    return client


def avro_bytes(table: str, records: list[dict]) -> bytes:
    out = io.BytesIO()
    fastavro.writer(out, avro_schema(TABLES[table]), records)
    return out.getvalue()


def forge(path, change) -> None:
    """Change a backup's records and make its sidecar match, as a forger would."""
    with path.open("rb") as handle:
        records = list(fastavro.reader(handle))
    change(records)
    path.write_bytes(avro_bytes(path.parent.name, records))
    reseal(path)


def folder(settings, table="hired_employees"):
    return settings.backup_dir / table


def test_a_symlink_named_like_a_backup_is_never_followed(hires, settings, sql, tmp_path):
    real = backup(hires, "hired_employees")
    sql("DELETE FROM hired_employees WHERE id > 10")
    before = sql(TABLE_QUERIES["hired_employees"])
    # A symlink to the real backup, with a sidecar that matches it: still not ours.
    name = "20991231T235959.999999Z.avro"
    (folder(settings) / name).symlink_to(folder(settings) / real["name"])
    (folder(settings) / (name + ".json")).write_text(
        (folder(settings) / (real["name"] + ".json")).read_text())  # fmt: skip
    listing = hires.get("/api/v1/tables/hired_employees/backups").get_json()["backups"]
    assert listing[0]["name"] == name and listing[0]["problem"] == "not a regular file"
    response = restore(hires, "hired_employees", name)
    assert response.status_code == 422 and "cannot be used" in response.get_json()["message"]
    assert sql(TABLE_QUERIES["hired_employees"]) == before
    assert hires.get(f"/api/v1/tables/hired_employees/backups/{name}").status_code == 422
    # {} restores the newest usable backup, the real one
    assert restore(hires, "hired_employees").get_json()["backup"] == real["name"]


def test_a_sidecar_naming_another_file_is_data_not_a_path(hires, settings, sql, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    evil = outside / "evil.avro"
    evil.write_bytes(avro_bytes("hired_employees", [
        {"id": 666, "name": "Evil", "datetime": 0, "department_id": 1, "job_id": 1}]))  # fmt: skip
    info = backup(hires, "hired_employees")
    sidecar = folder(settings) / (info["name"] + ".json")
    meta = json.loads(sidecar.read_text())
    meta["name"] = "../../outside/evil.avro"
    sidecar.write_text(json.dumps(meta))
    response = restore(hires, "hired_employees", info["name"])
    assert response.status_code == 200  # the backup's own file, by its own name
    assert sql("SELECT count(*) FROM hired_employees WHERE id = 666") == [(0,)]
    # and with the evil file's checksum, the backup's own file no longer matches: refused
    import hashlib

    meta["sha256"] = hashlib.sha256(evil.read_bytes()).hexdigest()
    sidecar.write_text(json.dumps(meta))
    assert restore(hires, "hired_employees", info["name"]).status_code == 422
    assert sql("SELECT count(*) FROM hired_employees WHERE id = 666") == [(0,)]


def test_a_backup_without_its_sidecar_is_listed_and_refused(hires, settings, sql):
    info = backup(hires, "hired_employees")
    (folder(settings) / (info["name"] + ".json")).unlink()
    sql("DELETE FROM hired_employees WHERE id > 10")
    before = sql(TABLE_QUERIES["hired_employees"])
    listing = hires.get("/api/v1/tables/hired_employees/backups").get_json()["backups"]
    assert listing[0]["problem"] and listing[0]["rows"] is None
    response = restore(hires, "hired_employees", info["name"])
    assert response.status_code == 422 and "missing" in response.get_json()["message"]
    assert restore(hires, "hired_employees").status_code == 404  # no usable backup at all
    assert sql(TABLE_QUERIES["hired_employees"]) == before


@pytest.mark.parametrize("sidecar", ["not json", "[1, 2]", '{"rows": "many"}',
                                     '{"rows": 1, "bytes": 1, "sha256": "../x", '
                                     '"created_at": "now"}'])  # fmt: skip
def test_an_unreadable_sidecar_is_a_problem_not_a_500(hires, settings, sidecar):
    info = backup(hires, "jobs")
    (folder(settings, "jobs") / (info["name"] + ".json")).write_text(sidecar)
    listing = hires.get("/api/v1/tables/jobs/backups")
    assert listing.status_code == 200 and listing.get_json()["backups"][0]["problem"]
    assert restore(hires, "jobs", info["name"]).status_code == 422


@pytest.mark.parametrize("junk", ["folder", "text", "fifo", "empty"])
def test_junk_named_like_a_backup_never_makes_a_500(hires, settings, sql, junk):
    backup(hires, "jobs")
    name = "20991231T235959.999999Z.avro"
    path = folder(settings, "jobs") / name
    if junk == "folder":
        path.mkdir()
    elif junk == "fifo":
        os.mkfifo(path)
    else:
        path.write_bytes(b"" if junk == "empty" else b"id,job\n1,Clerk\n")
    if junk in ("text", "empty"):
        reseal_new(path)
    before = sql(TABLE_QUERIES["jobs"])
    listing = hires.get("/api/v1/tables/jobs/backups")
    assert listing.status_code == 200
    entry = listing.get_json()["backups"][0]
    assert entry["name"] == name and (entry["problem"] is None) == (junk in ("text", "empty"))
    response = restore(hires, "jobs", name)
    assert response.status_code == 422, response.get_json()
    assert sql(TABLE_QUERIES["jobs"]) == before
    assert hires.get(f"/api/v1/tables/jobs/backups/{name}").status_code in (200, 422)


def reseal_new(path):
    """A sidecar for a file we did not write, as a forger would make it."""
    import hashlib

    data = path.read_bytes()
    meta = {"name": path.name, "table": path.parent.name, "rows": 1, "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(), "created_at": "2099-12-31"}  # fmt: skip
    path.with_name(path.name + ".json").write_text(json.dumps(meta))


BAD_ROWS = [
    ({"name": ""}, "Must not be empty."),
    ({"name": "   "}, "Must not be empty."),
    ({"name": "x" * 5000}, "Longer than 1000 characters."),
    ({"name": "nul\x00here"}, "Contains a NUL character."),
    ({"id": 0}, "Must be between 1 and 2147483647."),
    ({"department_id": -3}, "Must be between 1 and 2147483647."),
    ({"datetime": 253_402_300_800_000_000}, "Is outside the years 1 to 9999 in UTC."),  # 10000
    ({"datetime": -62_135_596_800_000_001, "name": ""}, "Must not be empty."),  # name first
]


@pytest.mark.parametrize(("change", "reason"), BAD_ROWS)
def test_a_backup_with_a_row_the_dictionary_refuses_is_not_restored(
    hires, settings, sql, change, reason
):
    info = backup(hires, "hired_employees")
    forge(folder(settings) / info["name"], lambda records: records[5].update(change))
    sql("DELETE FROM hired_employees WHERE id > 10")
    before = sql(TABLE_QUERIES["hired_employees"])
    response = restore(hires, "hired_employees", info["name"])
    body = response.get_json()
    assert response.status_code == 422, body
    assert "row 6" in body["message"] and reason in body["message"]
    assert body["errors"]["rows"][0]["row"] == 6
    assert body["errors"]["rows"][0]["errors"][0]["message"] == reason
    assert body["errors"]["rows"][0]["errors"][0]["code"] == "constraint-error"
    fields = [e["field"] for e in body["errors"]["rows"][0]["errors"]]
    assert fields == [c for c in TABLES["hired_employees"].columns if c in change]  # in order
    assert sql(TABLE_QUERIES["hired_employees"]) == before


def test_a_backup_with_an_id_twice_is_not_restored(hires, settings, sql):
    info = backup(hires, "hired_employees")
    forge(folder(settings) / info["name"], lambda records: records[3].update(id=records[2]["id"]))
    sql("DELETE FROM hired_employees WHERE id > 10")
    before = sql(TABLE_QUERIES["hired_employees"])
    response = restore(hires, "hired_employees", info["name"])
    assert response.status_code == 422
    assert "more than once" in response.get_json()["message"]
    assert sql(TABLE_QUERIES["hired_employees"]) == before


def test_download_gives_the_file_and_import_stores_it_as_a_new_backup(hires, settings, sql):
    info = backup(hires, "hired_employees")
    download = hires.get(f"/api/v1/tables/hired_employees/backups/{info['name']}")
    assert download.status_code == 200
    assert download.mimetype == "application/avro"
    assert download.data == (folder(settings) / info["name"]).read_bytes()
    before = sql(TABLE_QUERIES["hired_employees"])
    sql("DELETE FROM hired_employees")
    imported = hires.post("/api/v1/tables/hired_employees/backups", data=download.data,
                          content_type="application/avro")  # fmt: skip
    entry = imported.get_json()
    assert imported.status_code == 201, entry
    assert entry["name"] != info["name"] and entry["rows"] == info["rows"] == 20
    assert entry["sha256"] == info["sha256"] and entry["problem"] is None
    names = [b["name"] for b in
             hires.get("/api/v1/tables/hired_employees/backups").get_json()["backups"]]  # fmt: skip
    assert names == [entry["name"], info["name"]]
    report = restore(hires, "hired_employees", entry["name"]).get_json()
    assert report["inserted"] == 20
    assert sql(TABLE_QUERIES["hired_employees"]) == before


def test_another_writers_backup_with_metadata_of_its_own_is_read_and_kept_as_it_came(
    hires, settings, sql
):
    """Other writers add metadata (keys beyond ASCII too): the copy of the header fastavro reads
    behind (avro_header) keeps it, and the file stored is the one sent, byte for byte."""
    when = dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)
    records = [{"id": 500 + i, "name": f"Other {i}", "datetime": when + dt.timedelta(days=i),
                "department_id": 1, "job_id": 2} for i in range(3)]  # fmt: skip
    out = io.BytesIO()
    fastavro.writer(out, avro_schema(TABLES["hired_employees"]), records, codec="deflate",
                    metadata={"créé par": "outil ✓", "notes": "x" * 5000})  # fmt: skip
    imported = hires.post("/api/v1/tables/hired_employees/backups", data=out.getvalue(),
                          content_type="application/avro")  # fmt: skip
    entry = imported.get_json()
    assert imported.status_code == 201, entry
    assert (folder(settings) / entry["name"]).read_bytes() == out.getvalue()
    sql("DELETE FROM hired_employees")
    assert restore(hires, "hired_employees", entry["name"]).get_json()["inserted"] == 3
    assert sql("SELECT id, datetime FROM hired_employees ORDER BY id") == [
        (r["id"], r["datetime"]) for r in records]  # fmt: skip


def test_download_of_an_unknown_backup_is_404(hires):
    backup(hires, "jobs")
    for name in ("20990101T000000.000000Z.avro", "..%2F..%2Fetc%2Fpasswd", "x.json"):
        assert hires.get(f"/api/v1/tables/jobs/backups/{name}").status_code == 404
    assert hires.get("/api/v1/tables/salaries/backups/x.avro").status_code == 404


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"not avro at all", "not an AVRO file"),
        (b"Obj\x01garbage", "not an AVRO file"),
        ("other schema", "does not have the schema"),
        ("bad row", "Must not be empty."),
        ("truncated", "cannot be read"),
        ("trailing", "cannot be read"),
        ("no schema", "not an AVRO file (its header has no schema)"),
        ("huge metadata", "not an AVRO file (its header holds more than 1 MiB of metadata)"),
        ("cut header", "not an AVRO file (the file ends inside its header)"),
    ],
)
def test_an_import_that_is_not_a_valid_backup_is_422_and_leaves_nothing(
    hires, settings, body, words
):
    good = avro_bytes("jobs", [{"id": i, "job": f"Job {i}"} for i in range(1, 500)])
    if body == "other schema":
        body = avro_bytes("departments", [{"id": 1, "department": "x"}])
    elif body == "bad row":
        body = avro_bytes("jobs", [{"id": 1, "job": "ok"}, {"id": 2, "job": ""}])
    elif body == "truncated":
        body = good[: len(good) - 30]
    elif body == "trailing":
        body = good + b"more"
    elif body == "no schema":
        body = b"Obj\x01" + _avro_long(0) + bytes(16) + good[-16:]
    elif body == "huge metadata":  # a value said to be a terabyte long
        body = b"Obj\x01" + _avro_long(1) + _avro_long(11) + b"avro.schema" + _avro_long(1 << 40)
    elif body == "cut header":
        body = good[:40]
    response = hires.post("/api/v1/tables/jobs/backups", data=body,
                          content_type="application/avro")  # fmt: skip
    assert response.status_code == 422, response.get_json()
    assert words in response.get_json()["message"]
    jobs = folder(settings, "jobs")
    assert not (list(jobs.iterdir()) if jobs.exists() else [])


def _avro_long(value: int) -> bytes:
    value, out = (value << 1) ^ (value >> 63), bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes([*out, value])


def deflate_bomb(table: str, inflated: int, count: int = 1000) -> bytes:
    """A jobs backup of one block whose records (id 1, an empty job) inflate to `inflated`
    bytes from a few hundred kilobytes."""
    out = io.BytesIO()
    fastavro.writer(out, avro_schema(TABLES[table]), [], codec="deflate")
    header = out.getvalue()  # no block: it ends with the file's sync marker
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = b"\x02\x00" * (1 << 19)
    data = b"".join(deflater.compress(piece) for _ in range(inflated // len(piece)))
    data += deflater.flush()
    return header + _avro_long(count) + _avro_long(len(data)) + data + header[-16:]


@pytest.mark.parametrize("where", ["import", "folder"])
def test_a_block_that_inflates_past_its_bound_is_refused_before_it_is_inflated(
    hires, settings, sql, where
):
    """A deflate bomb: fastavro inflates a block whole (a 1 MB file made 2 GB of records)."""
    body = deflate_bomb("jobs", 96 << 20)
    assert len(body) < 1 << 20
    before = sql(TABLE_QUERIES["jobs"])
    if where == "import":
        response = hires.post("/api/v1/tables/jobs/backups", data=body,
                              content_type="application/avro")  # fmt: skip
    else:
        backup(hires, "jobs")
        path = folder(settings, "jobs") / "20991231T235959.999999Z.avro"
        path.write_bytes(body)
        reseal_new(path)
        response = restore(hires, "jobs", path.name)
    assert response.status_code == 422, response.get_json()
    assert "a block inflates past 64 MiB" in response.get_json()["message"]
    assert sql(TABLE_QUERIES["jobs"]) == before
    small = deflate_bomb("jobs", 1 << 20)  # the same under the bound: read, and refused by rows
    response = hires.post("/api/v1/tables/jobs/backups", data=small,
                          content_type="application/avro")  # fmt: skip
    assert (
        response.status_code == 422 and "job: Must not be empty" in response.get_json()["message"]
    )


@pytest.mark.parametrize("codec", ["bzip2", "xz"])
def test_a_backup_of_another_codec_is_refused_naming_it(hires, codec):
    out = io.BytesIO()
    fastavro.writer(out, avro_schema(TABLES["jobs"]), [{"id": 1, "job": "Clerk"}], codec=codec)
    response = hires.post("/api/v1/tables/jobs/backups", data=out.getvalue(),
                          content_type="application/avro")  # fmt: skip
    assert response.status_code == 422
    assert f"compressed with '{codec}'" in response.get_json()["message"]


def test_blocks_as_large_as_other_writers_make_are_read(hires, sql):
    rows = [{"id": i, "job": f"Job {i} " + "x" * 900} for i in range(1, 20_001)]
    out = io.BytesIO()  # one block of about 18 MB: fastavro's sync interval set past it
    fastavro.writer(out, avro_schema(TABLES["jobs"]), rows, codec="deflate",
                    sync_interval=1 << 26)  # fmt: skip
    response = hires.post("/api/v1/tables/jobs/backups", data=out.getvalue(),
                          content_type="application/avro")  # fmt: skip
    assert response.status_code == 201, response.get_json()
    name = response.get_json()["name"]
    assert restore(hires, "jobs", name).status_code == 200
    assert sql("SELECT count(*), max(id) FROM jobs") == [(20_000, 20_000)]


def test_an_import_of_another_content_type_is_415(hires):
    response = hires.post("/api/v1/tables/jobs/backups", data=b"1,Clerk\n",
                          content_type="text/csv")  # fmt: skip
    assert response.status_code == 415


def test_retention_keeps_the_newest_backups_and_sets(settings, sql):
    app = create_app(replace(settings, backup_keep=2))
    try:
        client = app.test_client()
        load_parents(client)
        made = [backup(client, "jobs")["name"] for _ in range(4)]
        listing = client.get("/api/v1/tables/jobs/backups").get_json()["backups"]
        listed = [b["name"] for b in listing]
        assert listed == made[:1:-1]
        assert sorted(p.name for p in folder(settings, "jobs").iterdir()) == sorted(
            [*made[2:], *(n + ".json" for n in made[2:])])  # fmt: skip
        stray = folder(settings, "jobs") / "notes.txt"  # not ours: never deleted
        stray.write_text("keep me")
        sets = [client.post("/api/v1/backups").get_json()["name"] for _ in range(3)]
        assert [s["name"] for s in client.get("/api/v1/backups").get_json()["sets"]] == \
            sets[:0:-1]  # fmt: skip
        assert stray.exists()
    finally:
        app.extensions["hrapi.db"].close()


def test_listing_and_restore_race_with_backups_being_written(hires, settings):
    """A backup being written is never listed half-done."""
    errors = []

    def write():
        for _ in range(5):
            response = hires.post("/api/v1/tables/jobs/backups")
            if response.status_code != 201:
                errors.append(response.get_json())

    thread = threading.Thread(target=write)
    thread.start()
    while thread.is_alive():
        for entry in hires.get("/api/v1/tables/jobs/backups").get_json()["backups"]:
            if entry["problem"]:
                errors.append(entry)
    thread.join()
    assert not errors


def test_a_restore_into_an_empty_table_goes_straight_in(hires, settings, sql):
    info = backup(hires, "hired_employees")
    before = sql(TABLE_QUERIES["hired_employees"])
    sql("DELETE FROM hired_employees")
    report = restore(hires, "hired_employees", info["name"]).get_json()
    assert (report["inserted"], report["unchanged"], report["rows"]) == (20, 0, 20)
    assert sql(TABLE_QUERIES["hired_employees"]) == before
    assert_hire_counts_exact(sql)
    # the same into an empty table, with an id twice: refused, the table still empty
    forge(folder(settings) / info["name"], lambda records: records[7].update(id=records[3]["id"]))
    sql("DELETE FROM hired_employees")
    response = restore(hires, "hired_employees", info["name"])
    assert response.status_code == 422 and "more than once" in response.get_json()["message"]
    assert sql("SELECT count(*) FROM hired_employees") == [(0,)]


def test_a_backup_folder_that_cannot_be_written_is_a_503_that_names_it(client, settings, sql):
    """HRAPI_BACKUP_DIR under a file: the backup, the set and an import each answer 503 with
    the folder and the reason, and nothing is left; reading and restoring still answer."""
    blocker = settings.backup_dir.parent / "a-file"
    blocker.write_text("not a folder")
    app = create_app(replace(settings, backup_dir=blocker / "backups"))
    try:
        broken = app.test_client()
        load_parents(broken)
        clerk = avro_bytes("jobs", [{"id": 1, "job": "Clerk"}])
        imported = broken.post("/api/v1/tables/jobs/backups", data=clerk,
                               content_type="application/avro")  # fmt: skip
        made = broken.post("/api/v1/tables/jobs/backups"), broken.post("/api/v1/backups")
        for response in (*made, imported):
            assert response.status_code == 503, response.get_json()
            message = response.get_json()["message"]
            assert str(blocker) in message and "Not a directory" in message, message
        assert broken.get("/api/v1/tables/jobs/backups").get_json() == {"backups": []}
        assert broken.post("/api/v1/tables/jobs/restore", json={}).status_code == 404
    finally:
        app.extensions["hrapi.db"].close()
    assert blocker.read_text() == "not a folder"


def test_a_backup_whose_file_cannot_be_written_whole_leaves_nothing(hires, settings):
    """A write refused part-way (here by the process's file size limit, as a full disk would
    refuse it): 503, and no partial file or sidecar is left in the folder."""
    backup(hires, "hired_employees")
    folder_before = sorted(os.listdir(folder(settings)))
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200, limit[1]))  # bytes a file may grow to
    try:
        response = hires.post("/api/v1/tables/hired_employees/backups")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limit)
    assert response.status_code == 503, response.get_json()
    assert "cannot be written (File too large)" in response.get_json()["message"]
    assert sorted(os.listdir(folder(settings))) == folder_before
    assert backup(hires, "hired_employees")["rows"] == 20


def test_a_full_disk_is_507_and_says_to_free_space(tmp_path):
    error = unwritable(tmp_path, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    assert error.status == 507 and "free space on its disk" in str(error)


@settings_of_hypothesis(max_examples=200, deadline=None)
@given(
    meta=st.dictionaries(st.text(max_size=20), st.binary(max_size=300), max_size=6),
    sync=st.binary(min_size=16, max_size=16),
    rest=st.binary(max_size=100),
    sizes=st.lists(st.sampled_from([None, -1, 0, 1, 3, 17, 1000]), min_size=1, max_size=30),
)
def test_a_header_reads_back_as_written_and_the_file_reads_on_behind_its_copy(meta, sync, rest,
                                                                                sizes):  # fmt: skip
    """avro_header: what encode writes, read_header reads (the handle left at the first block),
    and Prefixed gives the new header, then the rest of the file, however it is read."""
    handle = io.BytesIO(encode(meta, sync) + rest)
    header = read_header(handle)
    assert (header.meta, header.sync) == (meta, sync)
    stream, got = Prefixed(b"new header", handle), b""
    for size in sizes:
        got += stream.read(size)
    got += stream.read()
    assert got == b"new header" + rest
