"""A large CSV read by helper processes gives what a reading in order gives, whatever its
dialect, quotes, line ends, header or defects (blocks made tiny here so that a small file is
many blocks, and cuts fall everywhere)."""

from __future__ import annotations

import csv
import io
import multiprocessing
import random

import pytest

from hrapi.ingest import parallel
from hrapi.ingest.check import RowCheck
from hrapi.ingest.pieces import IdOrder, direct_piece, staged_piece
from hrapi.ingest.sources import CsvInput, CsvOptions
from hrapi.tables import TABLES
from tests.helpers import load_parents, upload_csv
from tests.test_fast_check import PARENTS, corpus_rows, csv_bytes

HIRE = "2021-03-04T05:06:07Z"


def outcome(pieces) -> tuple:
    """Everything a direct load takes from its pieces, joined."""
    pieces, order = list(pieces), IdOrder()
    for piece in pieces:
        order.see(piece)
    return (order.rising, order.bounds(), sum(p.received for p in pieces),
            [r for p in pieces for r in p.rejects], "".join(p.text for p in pieces),
            [v for p in pieces for v in p.typed], sum(p.rows for p in pieces))  # fmt: skip


def in_order(body: bytes, options: CsvOptions, make=direct_piece) -> tuple:
    table = TABLES["hired_employees"]
    check = RowCheck(table, PARENTS, options.encoding)
    data = CsvInput(io.BytesIO(body), table, options)
    return outcome(make(check, chunk) for chunk in data.chunks())


def helped(body: bytes, options: CsvOptions, make=direct_piece, *, stream_type=io.BytesIO):
    table = TABLES["hired_employees"]
    check = RowCheck(table, PARENTS, options.encoding)
    return outcome(parallel.csv_pieces(CsvInput(stream_type(body), table, options), check, make))


@pytest.fixture
def helpers_used(monkeypatch) -> list:
    """The number of blocks handed to helpers, one entry per reading that used them."""
    used, helped_blocks = [], parallel._helped

    def counting(data, check, make, blocks, order):
        first = blocks.line
        yield from helped_blocks(data, check, make, blocks, order)
        used.append(blocks.line - first)

    monkeypatch.setattr(parallel, "_helped", counting)
    return used


class Unseekable(io.RawIOBase):
    """A request body: read once, never rewound."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self._data.readinto(buffer)


@pytest.mark.parametrize("block", [7, 64, 333, 4096])
@pytest.mark.parametrize("seed", range(8))
def test_blocks_read_by_helpers_give_what_a_reading_in_order_gives(monkeypatch, block, seed,
                                                                    helpers_used):  # fmt: skip
    monkeypatch.setattr(parallel, "BLOCK_BYTES", block)
    if seed % 3:  # a first block smaller than the helpers' (as in a server), or not
        monkeypatch.setattr(parallel, "FIRST_BLOCK_BYTES", block // 2 + 1)
    rng = random.Random(seed)
    delimiter = rng.choice([",", ";", "|", "tab"])
    encoding = ["utf-8", "latin-1", "cp1252", "utf-16"][seed % 4]
    quoting = rng.choice([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC])
    rows = corpus_rows(rng, TABLES["hired_employees"], 400)
    if seed % 2:
        rows.insert(0, ["job_id", "NAME", "datetime", "department_id", "id"])  # a header
        rows[1:] = [[*row[4:5], *row[1:4], *row[:1]] if len(row) == 5 else row
                    for row in rows[1:]]  # fmt: skip
    body = csv_bytes(rows, rng, delimiter, encoding, quoting)
    if seed == 4:  # UTF-8 with a byte order mark (one in another encoding is a 422)
        body = b"\xef\xbb\xbf" + body
    if encoding == "utf-16":  # and bytes UTF-16 cannot decode: a lone surrogate in a name
        at = body.find("Person".encode("utf-16-le"), len(body) // 2)
        assert at > 0
        body = body[: at + 2] + b"\x00\xd8" + body[at + 4 :]
    options = CsvOptions(delimiter, encoding, "auto")
    expected = in_order(body, options)
    assert expected[2] > 350
    assert helped(body, options) == expected
    assert helped(body, options, stream_type=Unseekable) == expected
    assert helped(body, options, staged_piece) == in_order(body, options, staged_piece)
    assert len(helpers_used) == 3 and min(helpers_used) > 0  # lines past the first block


@pytest.mark.parametrize("block", [5, 40, 1000])
@pytest.mark.parametrize(
    "body",
    [
        b'1,a"b,2021-03-04T05:06:07Z,1,1\n2,"x\ny",2021-03-04T05:06:07Z,1,1\n3,c,X,1,1\n' * 30,
        b'1,"unbalanced,2021-03-04T05:06:07Z,1,1\n' + b"2,b,2021-03-04T05:06:07Z,1,1\n" * 60,
        b"2,b,2021-03-04T05:06:07Z,1,1\n" * 60 + b'3,"open\n4,x,y,1,1\n',
        b"1,cr,2021-03-04T05:06:07Z,1,1\r" * 50 + b"2,lf,2021-03-04T05:06:07Z,1,9\n" * 50,
        b'7,"quoted\r\nbreak",2021-03-04T05:06:07Z,1,1\r\n' * 40 + b"\r\n\r\n8,x,y,1,1",
        b"9,bad \xff byte,2021-03-04T05:06:07Z,1,1\n" * 40 + b"10,\xc3\xa9,2021-03-04T05:06:07Z,1",
        b'"' + b"x" * 300 + b'\n",no line end outside quotes for long\n' + b"11,y,z,1,1\n" * 20,
    ],
    ids=lambda body: repr(body[:24]),
)
def test_cuts_that_fall_inside_quotes_or_odd_line_ends_change_nothing(monkeypatch, block, body):
    monkeypatch.setattr(parallel, "BLOCK_BYTES", block)
    monkeypatch.setattr(parallel, "LONGEST_BLOCK", 256)
    options = CsvOptions()
    assert helped(body, options) == in_order(body, options)
    assert helped(body, options, stream_type=Unseekable) == in_order(body, options)


def test_an_upload_read_by_helpers_loads_as_one_read_in_order(client, sql, monkeypatch,
                                                              helpers_used):  # fmt: skip
    load_parents(client)
    lines = [f"{i},Person {i},{HIRE},{1 + i % 3},{1 + i % 4}\n" for i in range(1, 3001)]
    lines[1000] = "1001,,2021-03-04T05:06:07,1,1\n"  # two problems
    lines[2000] = '2001,"Two\nlines",2021-03-04T05:06:07Z,1,1\n'
    report = upload_csv(client, "hired_employees", "".join(lines)).get_json()
    rows = sql("SELECT * FROM hired_employees ORDER BY id")
    rejects = sql("SELECT line, raw, errors FROM load_rejects ORDER BY line")
    sql("TRUNCATE hired_employees, load_rejects")
    monkeypatch.setattr(parallel, "BLOCK_BYTES", 2000)
    helped_report = upload_csv(client, "hired_employees", "".join(lines)).get_json()
    assert sql("SELECT * FROM hired_employees ORDER BY id") == rows
    assert sql("SELECT line, raw, errors FROM load_rejects ORDER BY line") == rejects
    for key in ("received", "inserted", "rejected", "rejects"):
        assert helped_report[key] == report[key], key
    assert report["received"] == 3000
    assert helpers_used and helpers_used[0] > 1000
    assert 750 < report["rejected"] < 3000  # job 4 does not exist


def test_a_load_through_staging_read_by_helpers_loads_as_one_read_in_order(
    client, sql, monkeypatch, helpers_used
):
    """Jobs go through staging: repeated ids, unchanged rows and conflicts alike."""
    lines = [f"{i},Job {i}\n" for i in range(1, 2001)]
    upload_csv(client, "jobs", "".join(lines[:500]))
    lines[100] = "101,Another title\n"  # a conflict
    lines[1500] = "7,Repeated\n"  # a repeat of an earlier id
    lines[1700] = "x,Not an id\n"
    reports = []
    for block in (None, 700):
        if block:
            monkeypatch.setattr(parallel, "BLOCK_BYTES", block)
        reports.append(upload_csv(client, "jobs", "".join(lines)).get_json())
        reports[-1]["stored"] = sql("SELECT * FROM jobs ORDER BY id")
        reports[-1]["all rejects"] = sql(
            "SELECT line, raw, errors FROM load_rejects WHERE load_id = %s ORDER BY line",
            [reports[-1]["load_id"]],
        )
        sql("DELETE FROM jobs WHERE id > 500")
    in_order_report, helped_report = reports
    for key in (
        "received",
        "inserted",
        "unchanged",
        "rejected",
        "rejects",
        "stored",
        "all rejects",
    ):
        assert helped_report[key] == in_order_report[key], key
    assert (helped_report["inserted"], helped_report["rejected"]) == (1498, 3)
    assert helpers_used


def test_a_reading_stopped_early_leaves_no_helper_behind(monkeypatch, helpers_used):
    """A load that fails while helpers read (the database gone, a repeated id) closes its
    pieces: the helpers are stopped and waited for, whatever they were doing."""
    monkeypatch.setattr(parallel, "BLOCK_BYTES", 4096)
    body = b"".join(b"%d,Person,2021-03-04T05:06:07Z,1,9\n" % i for i in range(1, 20_000))
    table = TABLES["hired_employees"]
    pieces = parallel.csv_pieces(CsvInput(Unseekable(body), table, CsvOptions()),
                                 RowCheck(table, PARENTS), direct_piece)  # fmt: skip
    first = [next(pieces) for _ in range(150)]  # the first block's, then the helpers'
    assert sum(p.received for p in first) > 4000
    assert multiprocessing.active_children()
    pieces.close()
    assert not multiprocessing.active_children()


def test_the_order_of_ids_gives_their_bounds_only_when_they_rise():
    from hrapi.ingest.pieces import Piece

    def piece(ids, rising=True):
        return Piece(0, [], "", [], 0, ids, rising)

    order = IdOrder()
    for each in (piece(None), piece((3, 9)), piece(None), piece((10, 40))):
        order.see(each)
    assert (order.rising, order.bounds()) == (True, (3, 40))
    order.see(piece((40, 50)))  # 40 again
    assert (order.rising, order.bounds()) == (False, (None, None))
    falling = IdOrder()
    falling.see(piece((1, 2), rising=False))
    assert falling.bounds() == (None, None)
    assert IdOrder().bounds() == (None, None)  # no id at all
