"""The fast check agrees with the Marshmallow schema: same rows, same values, same problems.

Over large generated corpora of CSV files in every dialect the options name (delimiters, line
ends, quoting, encodings, headers, datetimes with offsets and fractions) and of JSON rows,
the columnar fast check and the schema alone must decide every row alike: the same rows
accepted with values PostgreSQL stores identically, and the same problems for the rest.
"""

from __future__ import annotations

import csv
import gc
import io
import random
import re

import pytest

from hrapi.ingest import CsvInput, CsvOptions, JsonInput
from hrapi.ingest.check import RowCheck
from hrapi.ingest.column_rules import ONE_INSTANT, instants_alike
from hrapi.ingest.row_schemas import UtcInstant
from hrapi.ingest.sources import DELIMITERS
from hrapi.tables import TABLES

IDS = ["1", "7", "42", "2147483647", "2147483648", "9999999999", "99999999999", "0", "-1",
       "007", " 7", "7 ", "+7", "1e3", "", "abc", "1.0", "\uff11\uff12", "1_000", "0x1F",
       "123456789", "1234567890", "1\uff12", "7\u0663", "12\n34", "5\r\n6"]  # fmt: skip
NAMES = ["Ann", "Émile Zola", "名前", "a\tb", "back\\slash", 'quote"inside', "Sales, North",
         'a "b" c', "x" * 1000, "x" * 1001, "", " ", "\t", "\u00a0", "\u2003", "nul\x00",
         "a;b", "a|b", "trailing ", " leading", "=SUM(A1)", "\u200b", "\x0c", "two\nlines",
         "cr\rin", "Łódź", "Ærø", "JosÃ©", "MÃ¼ller Ã©", "Ã", "Â ", "Ã\x81", "Ã€ngel"]  # fmt: skip
TIMES = ["2021-11-07T02:48:42Z", "2021-01-01T00:00:00.1Z", "2021-01-01T00:00:00.123456Z",
         "2021-01-01T00:00:00.1234567Z", "2021-06-30T23:59:59+00:00", "2021-06-30T23:59:59-05:00",
         "2021-12-31T23:30:00-05:00", "2021-01-01T00:10:00+14:00", "2021-01-01T00:10:00+14:30",
         "2021-01-01T00:10:00+15:00", "2021-01-01T00:10:00-00:00", "2021-01-01T00:10:00+0530",
         "2021-06-30T23:59:59", "2021-06-30", "2021-02-29T00:00:00Z", "2020-02-29T12:00:00Z",
         "2021-13-01T00:00:00Z", "2021-01-01T24:00:00Z", "2021-01-01T23:59:60Z",
         "0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00",
         "9999-12-31T23:59:59Z", "9999-12-31T23:59:59-01:00", "2021-01-01t00:00:00z",
         "2021-01-01 00:00:00Z", "20210101T000000Z", "yesterday", "2021-1-1T0:0:0Z",
         "2021-01-01T00:00Z", "2021-01-01T00:00:00.Z", "2021-04-31T00:00:00Z",
         "2021-03-04T05:06:07.5+05:30", "2021-01-01T00:00:00+05:75", "2021-01-01T00:00:00-14:00",
         "2021-01-01T00:00:00-14:01", "2024-02-29T23:30:00-05:00", "2100-02-29T00:00:00Z",
         "2000-02-29T00:00:00.5+01:00", "0999-12-31T23:59:59Z", "9000-01-01T00:00:00Z",
         "8999-12-31T23:59:59.999999-14:00", "1000-01-01T00:00:00+14:00", "2021-02-30T00:00:00",
         "0000-01-01T00:00:00", "2021-01-01T00:00:00.1234567", "2021-01-01T00:00:00Z\n",
         "\uff12021-01-01T00:00:00Z", "2021-01-01T00:00:00\u00a0", "",
         "2021-07-27 16:02:08+00", "2021-07-27 16:02:08.123456-05", "2021-12-31 23:30:00-0500",
         "2021-01-01T00:10:00+14", "2021-01-01T00:10:00+1400", "2021-01-01 00:10:00+15",
         "2021-01-01 00:10:00+1401", "2021-03-31 22:00:00-02", "2021-06-30  23:00:00+00",
         "2021-06-30 23:00:00 +00", "2021-06-30 23:00:00+5", "2021-06-30 23:00:00+005",
         "2021-06-30 23:00+00", "2021-06-30T23:00-05:00", "2021-06-30T23Z", "2021-06-30 23:00.5Z",
         "2021-06-30 23:0Z", "2021-06-30 23:00:0Z", "2021-07-27 16:02:08.1234567 +00:00",
         "2021-07-27T16:02:08.123 Z", "2021-07-27T16:02:08.123456789-05:00",
         "2021-12-31T23:59:59.9999999Z", "2021-07-27T16:02:08.1234565Z",
         "2021-07-27T16:02:08.0000005+01:00", "2021-07-27t16:02:08z", "2021-07-27T16:02:08 z",
         "2021-07-27T16:02:08  +00:00", "8999-12-31T23:59:59.99999999Z",
         "9999-12-31T23:59:59.9999999Z", "2021-07-27T16:02:08.1234567890123Z",
         "2021-07-27T16:02:08,1234567Z", "2021-07-27 16:02 +05", "2021-07-27T16:02:08 +05:30 ",
         "2021-07-27 +00:00", "2021-07-27T16:02:08.5 -0800"]  # fmt: skip
ENDINGS = ["\n", "\r\n", "\r"]
INSTANT = UtcInstant()
ENCODINGS = ["utf-8", "latin-1", "cp1252", "utf-16"]


def corpus_rows(rng: random.Random, table, count: int) -> list[list[str]]:
    def pick(choices, plain):
        return plain if rng.random() < 0.6 else rng.choice(choices)

    rows = []
    for _ in range(count):
        if table.name == "hired_employees":
            fields = [pick(IDS, str(rng.randrange(1, 5000))), pick(NAMES, "Person"),
                      pick(TIMES, "2021-03-04T05:06:07Z"), pick(IDS, "3"),
                      pick(IDS, "9")]  # fmt: skip
        else:
            fields = [pick(IDS, str(rng.randrange(1, 5000))), pick(NAMES, "Name")]
        if rng.random() < 0.03:
            fields.pop(rng.randrange(len(fields)))
        if rng.random() < 0.03:
            fields.append("extra")
        rows.append(fields)
    return rows


def csv_bytes(rows, rng: random.Random, delimiter: str, encoding: str, quoting: int) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=DELIMITERS[delimiter], quoting=quoting,
                        lineterminator=rng.choice(ENDINGS))  # fmt: skip
    for row in rows:
        writer.writerow(row)
        if rng.random() < 0.01:
            buffer.write(rng.choice(ENDINGS))  # an empty line
    return buffer.getvalue().encode(encoding, errors="replace")


def decisions(data, table, parents, *, fast: bool, encoding="utf-8") -> dict:
    """{position: ("ok", values as PostgreSQL reads them) or ("rejected", errors)}."""
    check = RowCheck(table, parents, encoding, fast=fast)
    out = {}
    for chunk in data.chunks():
        checked = check.chunk(chunk, data.source)
        lines = checked.copy_text().split("\n")[:-1]  # the COPY text itself, as sent
        for position, line in zip(checked.positions, lines, strict=True):
            out[position] = ("ok", normalised(table, [_uncopied(v) for v in line.split("\t")]))
        for position, values in checked.typed:
            out[position] = ("ok", normalised(table, values))
        for reject in checked.rejects:
            out[reject.position] = ("rejected", reject.errors)
    return out


def _uncopied(text: str) -> str:
    """A field of COPY text as PostgreSQL reads it."""
    return (text.replace("\\\\", "\x00").replace("\\t", "\t").replace("\\n", "\n")
            .replace("\\r", "\r").replace("\x00", "\\"))  # fmt: skip


def normalised(table, values) -> tuple:
    out = []
    for column, given in zip(table.columns, values, strict=True):
        if column == "datetime" and isinstance(given, str):  # as PostgreSQL reads it: see below
            out.append(INSTANT.deserialize(given))
        elif column in ("id", "department_id", "job_id"):
            out.append(int(given))
        else:
            out.append(given)
    return tuple(out)


PARENTS = {"department_id": frozenset({1, 3, 7, 42, "1", "3", "7", "42"}),
           "job_id": frozenset({9, 1, 7, "9", "1", "7"})}  # fmt: skip


@pytest.mark.parametrize("table_name", list(TABLES))
@pytest.mark.parametrize("delimiter", list(DELIMITERS))
def test_fast_check_and_schema_agree_on_csv_of_every_dialect(table_name, delimiter):
    table = TABLES[table_name]
    rng = random.Random(f"corpus-{table_name}-{delimiter}")
    parents = PARENTS if table_name == "hired_employees" else None
    fast_hits = rejected = 0
    for round_ in range(4):
        encoding = ENCODINGS[round_]
        quoting = rng.choice([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])
        rows = corpus_rows(rng, table, 6_000)
        body = csv_bytes(rows, rng, delimiter, encoding, quoting)
        if round_ == 1:
            body = b"\xff\xfe" + body if encoding == "utf-16" else body + b"9,\xff\xfe\n"
        options = CsvOptions(delimiter, encoding, "auto")
        fast = decisions(CsvInput(io.BytesIO(body), table, options), table, parents, fast=True,
                         encoding=encoding)  # fmt: skip
        plain = decisions(CsvInput(io.BytesIO(body), table, options), table, parents,
                          fast=False, encoding=encoding)  # fmt: skip
        assert fast == plain
        assert len(fast) >= 6_000
        check = RowCheck(table, parents, encoding)
        for chunk in CsvInput(io.BytesIO(body), table, options).chunks():
            fast_hits += check.chunk(chunk, "csv").plain
        rejected += sum(1 for kind, _ in fast.values() if kind == "rejected")
    assert fast_hits > 2_000  # the fast check really ran
    assert rejected > 2_000  # and so did the schema


def test_postgresql_reads_fast_instants_as_the_schema_values(sql):
    """Every form of instant the fast check passes on as text, PostgreSQL reads as the same
    instant the schema makes of it (fractions finer than a microsecond rounded alike, halves
    and carries into the next second, day and year included)."""
    table = TABLES["hired_employees"]
    rng = random.Random("instants")
    times = [*TIMES]
    for _ in range(600):
        fraction = rng.choice(["", ".5", ".123456", ".000001", ".99", ".1234567", ".1234565",
                               ".0000005", ".0000015", ".9999995", ".99999995", ".123456789",
                               ".000000499", ".12345650"])  # fmt: skip
        zone = rng.choice(
            [
                "Z",
                "+00:00",
                "-05:00",
                "+05:30",
                "+14:00",
                "-13:59",
                "-00:00",
                "+15:00",
                "+19:30",
                "-23:00",
                "+0530",
                "z",
                "+05",
                "-0800",
                "+14",
                "-1359",
                "-00",
            ]
        )
        date = f"{rng.randrange(1000, 9000)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        clock = f"{rng.randrange(24):02d}:{rng.randrange(60):02d}"
        clock += rng.choice(["", f":{rng.randrange(60):02d}"])
        if rng.random() < 0.2:  # the last instant of a year, to carry into the next
            date, clock = f"{rng.randrange(1000, 8999)}-12-31", "23:59:59"
        space = rng.choice(["", "", " "])  # SQL Server's datetimeoffset: a space before it
        fraction = fraction if ":" in clock[3:] else ""
        times.append(f"{date}{rng.choice('T t')}{clock}{fraction}{space}{zone}")
    rows = [[str(i + 1), "Ann", when, "1", "9"] for i, when in enumerate(times)]
    body = "".join(",".join(row) + "\n" for row in rows).encode()
    check = RowCheck(table, PARENTS)
    passed = 0
    for chunk in CsvInput(io.BytesIO(body), table).chunks():
        checked = check.chunk(chunk, "csv")
        for text in (row[2] for row in checked.rows):
            expected = INSTANT.deserialize(text)
            assert sql("SELECT %s::timestamptz = %s", [text, expected]) == [(True,)], text
            passed += 1
    assert passed > 300


JSON_VALUES = [1, 7, 2147483647, 2147483648, 0, -1, True, False, None, 1.0, 1.5, "7", "007",
               "x", "", " ", "\u00a0", "a\x00b", "x" * 1000, "x" * 1001, [], {}, [1], {"a": 1},
               "2021-11-07T02:48:42Z", "2021-11-07T02:48:42.5Z", "2021-11-07T02:48:42+02:00",
               "2021-11-07T02:48:42", "2021-02-30T00:00:00Z", "2021-11-07", 1636253322,
               "Émile", "quote\"and,comma", "lone\ud800", "\udfff", "tab\there",
               "back\\"]  # fmt: skip


def json_corpus_row(rng: random.Random, table):
    plain = {"id": rng.randrange(1, 10**6), "department": "Sales", "job": "Clerk",
             "name": "Ann", "datetime": "2021-03-04T05:06:07Z", "department_id": 3,
             "job_id": 9}  # fmt: skip
    row = {c: plain[c] if rng.random() < 0.6 else rng.choice(JSON_VALUES) for c in table.columns}
    if rng.random() < 0.05:
        row.pop(rng.choice(table.columns))
    if rng.random() < 0.05:
        row["extra"] = 1
    if rng.random() < 0.02:  # not an object, some of them as long as a row has fields
        return rng.choice([None, [], "row", 5, ["x"] * len(table.columns),
                           "x" * len(table.columns)])  # fmt: skip
    return row


@pytest.mark.parametrize("table_name", list(TABLES))
def test_fast_check_and_schema_agree_on_json_batches(table_name):
    table = TABLES[table_name]
    rng = random.Random(f"json-{table_name}")
    parents = PARENTS if table_name == "hired_employees" else None
    whole = 0
    for _ in range(400):
        plain_share = rng.choice([1.0, 0.9, 0.5])
        rows = [json_corpus_row(rng, table) if rng.random() > plain_share else
                {"id": i, "department": "D", "job": "J", "name": rng.choice(NAMES[:3]),
                 "datetime": rng.choice(TIMES[:8]), "department_id": 7, "job_id": 1}
                for i in range(1, rng.randrange(2, 40))]  # fmt: skip
        rows = [{c: r[c] for c in table.columns if c in r} if type(r) is dict and "extra" not in r
                else r for r in rows]  # fmt: skip
        fast = decisions(JsonInput(rows, table), table, parents, fast=True)
        plain = decisions(JsonInput(rows, table), table, parents, fast=False)
        assert fast == plain
        whole += all(kind == "ok" for kind, _ in fast.values())
    assert whole > 50


@pytest.mark.parametrize("odd", [["", "Z"], ["", "Z", "x"]])
def test_fast_check_and_schema_agree_on_a_file_of_datetimes_without_zones(odd):
    """A common export mistake, worded column-wise by the fast check: the same problems as
    the schema gives, row by row (with empty cells, unknown departments, and some datetimes
    with a zone or of no known shape among them)."""
    table = TABLES["hired_employees"]
    rng = random.Random("no zones")
    lines = []
    for i in range(1, 9_000):
        stamp = f"{2020 + i % 5}-{1 + i % 12:02d}-{1 + i % 31:02d}T{i % 24:02d}:{i % 60:02d}:07"
        stamp += rng.choice(["", "", "", ".25"]) if i % 97 else rng.choice(odd)
        name = "" if i % 89 == 0 else f"Person {i}"
        department = "99" if i % 83 == 0 else "1"
        lines.append(f"{i},{name},{stamp},{department},9\n")
    body = "".join(lines).encode()
    fast = decisions(CsvInput(io.BytesIO(body), table), table, PARENTS, fast=True)
    plain = decisions(CsvInput(io.BytesIO(body), table), table, PARENTS, fast=False)
    assert fast == plain
    assert sum(1 for kind, _ in fast.values() if kind == "rejected") > 8_500


EXPORTED_FORMS = ["2021-07-27T16:02:08Z", "2021-07-27 16:02:08+00", "2021-07-27 16:02:08+00:00",
                  "2021-07-27 16:02:08.5-05", "2021-07-27T16:02:08-0500", "2021-07-27T16:02Z",
                  "2021-07-27 16:02+05:30", "2021-07-27T16:02:08.1234567Z",
                  "2021-07-27T16:02:08.123456789Z", "2021-07-27 16:02:08.1234567 +00:00",
                  "2021-07-27T16:02:08.123 -05:00", "2021-07-27T16:02:08z"]  # fmt: skip


@pytest.mark.parametrize("when", EXPORTED_FORMS)
def test_the_fast_check_takes_datetimes_as_exports_write_them(when):
    """ISO 8601 as PostgreSQL (a space, +00) and Python (a space, +00:00) write it, offsets as
    +HHMM or +HH, .NET's seven decimals, Java's and Go's nine, SQL Server's space before the
    offset, RFC 3339's lower-case z: whole columns of them pass the fast check (the schema is
    not asked)."""
    table = TABLES["hired_employees"]
    body = "".join(f"{i},Ann,{when},1,9\n" for i in range(1, 101)).encode()
    check = RowCheck(table, PARENTS)
    chunks = [check.chunk(c, "csv") for c in CsvInput(io.BytesIO(body), table).chunks()]
    assert sum(c.plain for c in chunks) == 100
    assert [c for c in chunks if c.typed or c.rejects] == []
    rows = JsonInput([dict(zip(table.columns, (1, "Ann", when, 1, 9), strict=True))], table)
    json_checked = check.chunk(next(rows.chunks()), "json")
    assert (json_checked.plain, json_checked.typed) == (1, [])


def _alike_column(rng: random.Random) -> list[str]:
    """Datetimes of one form (separator, seconds, decimals, zone), digits drawn near each
    field's limits; or one value of TIMES repeated."""
    if rng.random() < 0.1:
        return [rng.choice(TIMES)] * rng.randrange(1, 4)
    sep, seconds, decimals = rng.choice("Tt "), rng.random() < 0.8, rng.choice([0, 0, 1, 6, 7, 9])
    zone = rng.choice(["Z", "z", "+HH", "-HHMM", "+HH:MM", "-HH:MM"])
    space = " " if rng.random() < 0.2 else ""

    def number(*near, top):  # within the field's range more often than not
        return f"{rng.choice(near) if rng.random() < 0.3 else rng.randrange(top + 1):02d}"

    def one() -> str:
        year = rng.choice(["0999", "1000", "2021", "2024", "2100", "8999", "9000", "2021", "2022"])
        month, day = number(0, 1, 2, 4, 12, 13, top=12), number(0, 1, 28, 29, 30, 31, 32, top=31)
        text = f"{year}-{month}-{day}{sep}{number(0, 23, 24, top=23)}:{number(0, 59, 60, top=59)}"
        if seconds:
            text += ":" + number(0, 59, 60, top=59)
            digits = "".join(rng.choice("0123456789") for _ in range(decimals))
            text += f".{digits}" if decimals else ""
        hours, minutes = number(0, 13, 14, 15, top=13), number(0, 30, 59, 60, top=59)
        return text + space + zone.replace("HH", hours).replace("MM", minutes)

    return [one() for _ in range(rng.randrange(1, 12))]


def test_datetimes_written_alike_are_checked_as_bytes_as_the_regex_checks_them():
    """A column of datetimes of one shape is checked a field at a time as bytes
    (column_rules.instants_alike) before the regex: over columns of every form the regex takes,
    with digits near every field's limits, the byte-wise check takes a column only if the
    regex takes each of its values, and takes each such column (but for 14-hour offsets)."""
    rng = random.Random("alike")
    taken = 0
    for _ in range(30_000):
        values = _alike_column(rng)
        alike = instants_alike("\n".join(values), len(values))
        every = all(ONE_INSTANT.fullmatch(v) for v in values)
        assert every or not alike, values
        fourteen = any(re.search(r"[+-]14(?::?00)?$", v) for v in values)  # an offset of 14 h
        assert alike or not every or fourteen or len({len(v) for v in values}) > 1, values
        taken += alike
    assert taken > 2_000


def test_ids_of_ten_digits_up_to_the_largest_integer_pass_the_fast_check():
    """Ids from 1,000,000,000 to 2,147,483,647 (an export's large employee numbers) pass the
    fast check, as text and as JSON strings; one past the largest goes to the schema, which
    refuses it."""
    table = TABLES["hired_employees"]
    ids = [str(i) for i in range(2_147_483_647 - 99, 2_147_483_648)]
    body = "".join(f"{i},Ann,2021-07-27T16:02:08Z,1,9\n" for i in ids).encode()
    check = RowCheck(table, PARENTS)
    chunks = [check.chunk(c, "csv") for c in CsvInput(io.BytesIO(body), table).chunks()]
    assert (sum(c.plain for c in chunks), sum(len(c.typed) for c in chunks)) == (100, 0)
    rows = [dict(zip(table.columns, (i, "Ann", "2021-07-27T16:02:08Z", 1, 9), strict=True))
            for i in [*ids, "2147483648"]]  # fmt: skip
    json_checked = check.chunk(next(JsonInput(rows, table).chunks()), "json")
    assert (json_checked.plain, len(json_checked.rejects)) == (100, 1)


def test_the_garbage_of_rows_the_schema_refuses_is_freed_while_the_collector_is_paused():
    """Marshmallow's refusals leave reference cycles; a load pauses the collector (its helpers
    too), so the check frees them itself: a million refused rows grew each helper by 2 GB."""
    table = TABLES["hired_employees"]
    body = "".join(f"{i}.0,Ann,2021-01-01T00:00:00Z,1,9\n" for i in range(1, 20_001)).encode()
    check = RowCheck(table, PARENTS)
    gc.collect()
    gc.disable()
    try:
        chunks = CsvInput(io.BytesIO(body), table).chunks()
        refused = sum(len(check.chunk(c, "csv").rejects) for c in chunks)
        left = gc.collect()  # what the check left for the collector
    finally:
        gc.enable()
    assert refused == 20_000
    assert left < 50_000  # about 24 objects a refusal: 480,000 in all, were they kept
