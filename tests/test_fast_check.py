"""The fast row checks agree with the Marshmallow schema: same rows, same values, same reasons.

Over a large generated corpus of CSV lines (valid ones and every kind of near miss), the CSV
path with the fast checks (whole lines, and per field for rejected rows) and the CSV path with
only the schema must produce the same records: the same rows accepted, the same reasons for
the rest, and values that PostgreSQL stores identically.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import re

import pytest

from hrapi.csv_source import Block, csv_records, json_raw
from hrapi.row_check import HireBlockCheck, Rejected, RowChecker, one_of
from hrapi.tables import TABLES

IDS = ["1", "7", "42", "2147483647", "2147483648", "9999999999", "99999999999", "0", "-1",
       "007", " 7", "7 ", "+7", "1e3", "", "abc", "1.0", "\uff11\uff12", "1_000",
       "0x1F"]  # fmt: skip
NAMES = ["Ann", "Émile Zola", "名前", "a\tb", "back\\slash", 'quote"inside', '"Sales, North"',
         '"a ""b"" c"', "x" * 1000, "x" * 1001, "", " ", "\t", "\u00a0", "\u2003", "nul\x00",
         "a,b", "trailing ", " leading", "=SUM(A1)", "\u200b", "\x0c"]  # fmt: skip
TIMES = ["2021-11-07T02:48:42Z", "2021-01-01T00:00:00.1Z", "2021-01-01T00:00:00.123456Z",
         "2021-01-01T00:00:00.1234567Z", "2021-06-30T23:59:59+00:00", "2021-06-30T23:59:59-05:00",
         "2021-06-30T23:59:59", "2021-06-30", "2021-02-29T00:00:00Z", "2020-02-29T12:00:00Z",
         "2021-13-01T00:00:00Z", "2021-01-01T24:00:00Z", "2021-01-01T23:59:60Z",
         "0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
         "2021-01-01t00:00:00z", "2021-01-01 00:00:00Z", "20210101T000000Z", "yesterday",
         "2021-1-1T0:0:0Z", "2021-01-01T00:00Z", "2021-01-01T00:00:00.Z", ""]  # fmt: skip
ENDINGS = ["\n", "\r\n", "\r"]


def corpus_line(rng: random.Random, table) -> str:
    def pick(choices, plain):
        return plain if rng.random() < 0.6 else rng.choice(choices)

    if table.name == "hired_employees":
        fields = [pick(IDS, str(rng.randrange(1, 5000))), pick(NAMES, "Person"),
                  pick(TIMES, "2021-03-04T05:06:07Z"), pick(IDS, "3"), pick(IDS, "9")]  # fmt: skip
    else:
        fields = [pick(IDS, str(rng.randrange(1, 5000))), pick(NAMES, "Name")]
    if rng.random() < 0.03:
        fields.pop(rng.randrange(len(fields)))
    if rng.random() < 0.03:
        fields.append("extra")
    return ",".join(fields) + rng.choice(ENDINGS)


def records(text: str, table, fast: bool) -> list[tuple]:
    stream = io.BytesIO(text.encode("utf-8"))
    return list(csv_records(stream, table, RowChecker(table, fast=fast)))


def normalised(record: tuple, table) -> tuple:
    """Values as PostgreSQL would store them (the fast path sends their text)."""
    if isinstance(record, Rejected):
        return tuple(record)
    position, raw, *values = record
    out = []
    for column, given in zip(table.columns, values, strict=True):
        value = given
        if column == "datetime" and isinstance(given, str):
            value = dt.datetime.fromisoformat(given).astimezone(dt.UTC)
        elif column in ("id", "department_id", "job_id") and isinstance(given, str):
            value = int(given)
        out.append(value)
    return (position, raw, *out)


@pytest.mark.parametrize("table_name", list(TABLES))
def test_fast_and_schema_paths_agree_on_a_large_corpus(table_name):
    table = TABLES[table_name]
    rng = random.Random(f"corpus-{table_name}")
    text = "".join(corpus_line(rng, table) for _ in range(40_000))
    fast = records(text, table, fast=True)
    plain = records(text, table, fast=False)
    assert len(fast) == len(plain) > 30_000
    fast_hits = sum(1 for r in fast if not isinstance(r, Rejected) and isinstance(r[2], str))
    assert fast_hits > 5_000  # the fast check really ran
    assert sum(1 for r in plain if isinstance(r, Rejected)) > 5_000  # and so did rejects
    for a, b in zip(fast, plain, strict=True):
        assert normalised(a, table) == normalised(b, table)


def test_postgresql_reads_fast_path_text_as_the_schema_values(sql):
    table = TABLES["hired_employees"]
    checker = RowChecker(table)
    for when in [*TIMES, "2021-07-04T12:34:56.5Z", "1999-12-31T23:59:59.999999Z"]:
        fast = checker.fast_record(1, f"1,Ann,{when},1,1\n")
        if fast is None:
            continue
        slow = records(f"1,Ann,{when},1,1\n", table, fast=False)[0]
        assert sql("SELECT %s::timestamptz = %s", [fast[4], slow[4]]) == [(True,)]


JSON_VALUES = [1, 7, 2147483647, 2147483648, 0, -1, True, False, None, 1.0, 1.5, "7", "007",
               "x", "", " ", "\u00a0", "a\x00b", "x" * 1000, "x" * 1001, [], {}, [1], {"a": 1},
               "2021-11-07T02:48:42Z", "2021-11-07T02:48:42.5Z", "2021-11-07T02:48:42+02:00",
               "2021-11-07T02:48:42", "2021-02-30T00:00:00Z", "2021-11-07", 1636253322,
               "Émile", "quote\"and,comma", "lone\ud800", "\udfff"]  # fmt: skip


def json_corpus_row(rng: random.Random, table):
    plain = {"id": rng.randrange(1, 10**6), "department": "Sales", "job": "Clerk",
             "name": "Ann", "datetime": "2021-03-04T05:06:07Z", "department_id": 3,
             "job_id": 9}  # fmt: skip
    row = {c: plain[c] if rng.random() < 0.6 else rng.choice(JSON_VALUES) for c in table.columns}
    if rng.random() < 0.05:
        row.pop(rng.choice(table.columns))
    if rng.random() < 0.05:
        row["extra"] = 1
    if rng.random() < 0.02:
        return rng.choice([None, [], "row", 5])
    return row


@pytest.mark.parametrize("table_name", list(TABLES))
def test_fast_and_schema_paths_agree_on_json_rows(table_name):
    table = TABLES[table_name]
    rng = random.Random(f"json-{table_name}")
    rows = [json_corpus_row(rng, table) for _ in range(8_000)]
    fast = [RowChecker(table).json_record(i, row) for i, row in enumerate(rows)]
    plain = [RowChecker(table, fast=False).json_record(i, row) for i, row in enumerate(rows)]
    assert sum(1 for r in fast if not isinstance(r, Rejected) and r[1] is None) > 800
    assert sum(1 for r in plain if isinstance(r, Rejected)) > 800
    for a, b in zip(fast, plain, strict=True):
        if not isinstance(a, Rejected) and a[1] is None:  # raw text left out, made on demand
            a = (a[0], json_raw(rows[a[0]]), *a[2:])  # noqa: PLW2901
        assert normalised(a, table) == normalised(b, table)


def plain_json_hire(rng: random.Random, i: int) -> dict:
    """A JSON hire of the plain kind, with every day a month can have."""
    when = f"{rng.choice([2020, 2021])}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 32):02d}"
    fraction = rng.choice(["", ".5", ".123456"])
    return {"id": i, "name": rng.choice([*NAMES[:3], "x" * 1000]),
            "datetime": f"{when}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:59{fraction}Z",
            "department_id": rng.choice([1, 2, 12, 100, 7]),
            "job_id": rng.randrange(1, 190)}  # fmt: skip


def test_plain_rows_of_json_batches_agree_with_the_schema():
    """What json_copy_text copies (whole batches checked a column at a time, or rows split out
    of a batch with a near miss), the schema accepts with the same values and parents."""
    table = TABLES["hired_employees"]
    rng = random.Random("json-batches")
    departments = frozenset({*range(1, 13), 100})
    jobs = frozenset(range(1, 181))
    parents = {"department_id": departments, "job_id": jobs}
    checker, schema = RowChecker(table), RowChecker(table, fast=False)
    whole = split = 0
    for _ in range(3_000):
        rows = [plain_json_hire(rng, i) for i in range(1, rng.randrange(2, 8))]
        if rng.random() < 0.5:  # a near miss, somewhere
            rows.insert(rng.randrange(len(rows) + 1), json_corpus_row(rng, table))
        text, others = checker.json_copy_text(rows, parents)
        lines = text.split("\n")
        assert lines.pop() == ""
        copied = [i for i in range(len(rows)) if i not in others]
        assert len(lines) == len(copied)
        whole += not others
        split += bool(others and copied)
        for line, position in zip(lines, copied, strict=True):
            record = schema.json_record(position, rows[position])
            assert not isinstance(record, Rejected)
            assert record[5] in departments and record[6] in jobs
            assert normalised((position, record[1], *line.split("\t")), table) == normalised(
                record, table
            )
    assert whole > 500 and split > 500  # both ways really ran


@pytest.mark.parametrize("seed", range(20))
def test_one_of_matches_exactly_the_given_ids(seed):
    rng = random.Random(seed)
    ids = {rng.randrange(1, 3000) for _ in range(rng.choice([0, 1, 5, 50, 500]))}
    pattern = re.compile(one_of(str(i) for i in ids))
    for number in range(0, 3100):
        for text in (str(number), f"0{number}"):
            assert bool(pattern.fullmatch(text)) == (text == str(number) and number in ids)


def expand(record, table) -> list[tuple]:
    """A Block as the line-by-line records it stands for."""
    if not isinstance(record, Block):
        return [record]
    lines = record.copy_text.split("\n")[:-1]
    return [(record.first_line + i, line.replace("\t", ","), *line.split("\t"))
            for i, line in enumerate(lines)]  # fmt: skip


@pytest.mark.parametrize("miss_rate", [0.0003, 0.035])
def test_block_checks_agree_with_line_checks(miss_rate):
    table = TABLES["hired_employees"]
    rng = random.Random(f"blocks-{miss_rate}")
    department_ids = {*range(1, 13), 100, 1000} - {7}  # gaps and shared prefixes
    job_ids = set(range(1, 181)) - {18, 42, 108}
    departments = frozenset(map(str, department_ids)) | frozenset(department_ids)
    jobs = frozenset(map(str, job_ids)) | frozenset(job_ids)
    lines = []
    for i in range(1, 60_001):
        if rng.random() < miss_rate:  # a near miss: checked line by line
            miss = corpus_line(rng, table)
            if miss_rate > 0.01:  # frequent misses of the historical kind: no quotes, \n only
                miss = miss.replace('"', "").replace("\r\n", "\n").replace("\r", "\n")
            lines.append(miss)
        else:
            day = rng.randrange(1, 32) if rng.random() < 0.2 else rng.randrange(1, 29)
            department = rng.choice([7, 10, 13, 101, 1001]) if rng.random() < 0.001 else (
                rng.choice([1, 2, 3, 11, 12, 100, 1000]))  # fmt: skip
            job = rng.randrange(1, 200)  # some missing
            year = rng.choice([2020, 2021])  # February 29 exists in one of them
            lines.append(f"{i},Name {rng.choice(NAMES[:3])},{year}-{rng.randrange(1, 13):02d}-"
                         f"{day:02d}T10:11:12Z,{department},{job}\n")  # fmt: skip
    text = "".join(lines)
    blocked_checker = RowChecker(table)
    blocked_checker.block_check = HireBlockCheck(departments, jobs)
    blocked = list(csv_records(io.BytesIO(text.encode()), table, blocked_checker))
    assert sum(1 for r in blocked if isinstance(r, Block)) >= 10
    in_blocks = "".join(r.copy_text for r in blocked if isinstance(r, Block))
    assert all(f"-{day}T" in in_blocks for day in (29, 30, 31))  # the month ends went in too
    plain = records(text, table, fast=False)
    expanded = [row for record in blocked for row in expand(record, table)]
    # Rows a block accepted must be accepted line by line with the same values and parents.
    by_line = {r[0]: r for r in plain}
    for record in blocked:
        if not isinstance(record, Block):
            continue
        for row in expand(record, table):
            reference = by_line[row[0]]
            assert normalised(row, table) == normalised(reference, table)
            assert row[5] in departments and row[6] in jobs
    assert [normalised(r, table) for r in expanded] == [normalised(r, table) for r in plain]
