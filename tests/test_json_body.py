"""hrapi.api.json_body.loads reads every body as the json module does: same values, same types.

Over generated documents (batches of rows with every kind of value, and the inputs where
orjson and the json module are known to differ), a document the json module reads gives
the same value from loads, compared type and all (1, 1.0 and True are equal in Python, not
here); a document it refuses, loads refuses with json.JSONDecodeError. Through the API, the
bodies where the two differ are answered as the json module reads them, never with a 500.
"""

from __future__ import annotations

import json
import math
import random

import pytest

from hrapi.api.json_body import loads
from hrapi.ingest.rejects import RAW_TOO_DEEP

DIFFERING = [
    "NaN", "Infinity", "-Infinity", "[1e400]", "-1e400", "1e-400", '"\\ud800"', '"\\udfff x"',
    '{"\\ud800": 1}', '"\\ud83d\\ude00"', "18446744073709551615", "18446744073709551616",
    "-9223372036854775808", "-9223372036854775809", "9223372036854775808",
    "100000000000000000000000000000", "-100000000000000000000000000000",
    '{"rows": [{"id": 12345678901234567890}]}', "[0.1, -0.0, 5e-324, 1.7976931348623157e308]",
    '{"a": 1, "a": 2}', "\ufeff{}", "[1,]", '{"a": 1,}', "'a'", '"\t"', "[01]", "1.", ".5",
    '"\\u0000"', '"\x7f"', " [ 1 , 2 ] ", "[1] x", "", "null", "true", "tru", "[1 2]",
    "\ufeff", "\ufeff[1]", "\ufeff\ufeff[1]", " \ufeff[1]",
]  # fmt: skip
BAD_UTF8 = [
    b'"\xff"', b'"\xed\xa0\x80"', b'"\xc0\xaf"', b'["\xe2\x82"]', b"\x00", b'"\xf4\x90\x80\x80"',
]  # fmt: skip


def same(a, b) -> bool:
    """Equal values of the same types, all the way down (NaN equal to NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return a == b


def assert_reads_as_json_does(body: bytes) -> None:
    """As the json module reads the body's UTF-8 text, a byte order mark skipped (which
    RFC 8259 allows, and json.loads does for bytes)."""
    try:
        expected = json.loads(body.removeprefix(b"\xef\xbb\xbf").decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        with pytest.raises(json.JSONDecodeError):
            loads(body)
        return
    got = loads(body)
    assert same(got, expected), body[:200]


def random_value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(12 if depth < 3 else 9)
    if kind == 0:
        return rng.randrange(-(10**3), 10**3)
    if kind == 1:  # around the 64-bit edges, where orjson turns integers into floats
        edge = rng.choice([2**63, 2**64, 10**18, 10**19, 10**25])
        return rng.choice([1, -1]) * (edge + rng.randrange(-3, 4))
    if kind == 2:
        return rng.choice([rng.random(), rng.uniform(-1e308, 1e308), 5e-324, -0.0, 1e16, 0.1])
    if kind == 3:
        return rng.choice([True, False, None])
    if kind == 4:
        letters = 'aé名\t\n\\"/\x00\x1f \U0001f600\ud800'
        return "".join(rng.choice(letters) for _ in range(rng.randrange(8)))
    if kind == 5:
        return rng.choice(["2021-11-07T02:48:42Z", "Marketing", "", " ", "x" * 300])
    if kind in (6, 7, 8):
        return rng.randrange(1, 2**31)
    if kind == 9:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {
        rng.choice(["id", "name", "datetime", "k", "é", ""]): random_value(rng, depth + 1)
        for _ in range(rng.randrange(4))
    }


def random_batch(rng: random.Random) -> dict:
    rows = []
    for i in range(rng.randrange(1, 40)):
        row = {"id": i + 1, "name": f"Person {i}", "datetime": "2021-03-04T05:06:07Z",
               "department_id": 3, "job_id": 9}  # fmt: skip
        for _ in range(rng.randrange(3)):
            row[rng.choice([*row, "extra"])] = random_value(rng)
        rows.append(row if rng.random() < 0.95 else random_value(rng))
    return {"rows": rows}


def test_known_differences_are_read_as_json_reads_them():
    for text in DIFFERING:
        assert_reads_as_json_does(text.encode("utf-8", "surrogatepass"))
    for body in BAD_UTF8:
        assert_reads_as_json_does(body)


def test_generated_batches_are_read_as_json_reads_them():
    rng = random.Random(20261129)
    for _ in range(3000):
        document = random_batch(rng)
        indent = rng.choice([None, None, 1, "\t"])
        text = json.dumps(document, ensure_ascii=rng.random() < 0.5, indent=indent)
        assert_reads_as_json_does(text.encode("utf-8", "surrogatepass"))


def test_deep_nesting_is_refused_or_read_never_an_error_of_another_kind():
    for depth in (900, 1000, 1024, 1025, 5000, 100_000):
        body = ("[" * depth + "]" * depth).encode()
        try:
            value = loads(body)
        except json.JSONDecodeError:
            continue
        for _ in range(depth - 1):
            (value,) = value
        assert value == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ('{"rows": ' + "[" * 100_000 + "]" * 100_000 + "}", 400),
        ('{"rows": [' + "[" * 1000 + "]" * 1000 + "]}", 201),
        ('{"rows": [{"id": 1, "name": NaN}]}', 201),
        ('{"rows": [{"id": -9223372036854775809, "name": "Sales"}]}', 201),
    ],
    ids=["too-deep", "deep-row", "nan", "beyond-64-bit"],
)
def test_bodies_where_the_decoders_differ_get_a_clear_answer(client, body, status):
    response = client.post(
        "/api/v1/tables/departments/batch", data=body, content_type="application/json"
    )
    assert response.status_code == status, response.get_json()
    if status == 201:
        report = response.get_json()
        assert report["rejected"] == 1
        raw = report["rejects"][0]["raw"]
        if "9223372036854775809" in body:  # read as the integer it is, not as a float
            assert raw == '{"id": -9223372036854775809, "name": "Sales"}'
        if body.startswith('{"rows": [[[['):
            assert raw in ("[" * 1000 + "]" * 1000, RAW_TOO_DEEP)
