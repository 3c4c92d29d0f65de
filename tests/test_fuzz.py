"""Fuzzing: schemathesis sends generated requests to every documented operation, to the API
open and with an API key set (then sending it).

No answer may be a 5xx, and every answer must match its documented status codes, content type
and schema. The examples per operation are bounded here (HRAPI_FUZZ_EXAMPLES, 25 by default);
`make fuzz` runs many more.
"""

from __future__ import annotations

import io
import os
from dataclasses import replace

import fastavro
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from hrapi import create_app
from hrapi.api.csv_body import TSV
from hrapi.backups.avro_rows import avro_schema
from hrapi.tables import TABLES
from tests.helpers import load_parents

EXAMPLES = int(os.environ.get("HRAPI_FUZZ_EXAMPLES", "25"))
KEY = "fuzz-key"


@pytest.fixture
def api_schema(app):
    load_parents(app.test_client())  # so that some generated hires reference real rows
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


@pytest.fixture
def keyed_api_schema(settings):
    app = create_app(replace(settings, api_key=KEY))
    headers = {"Authorization": f"Bearer {KEY}"}
    client = app.test_client()
    client.post("/api/v1/tables/departments/upload", data=b"1,Sales\n", headers=headers,
                content_type="text/csv")  # fmt: skip
    yield schemathesis.openapi.from_wsgi("/openapi.json", app)
    app.extensions["hrapi.db"].close()


def _checks_left_out(case) -> list:
    if case.media_type in ("multipart/form-data", "text/csv", TSV, "application/avro"):
        # A CSV (or TSV) or AVRO body is documented as a string of bytes, which says nothing of its
        # content: any bytes are accepted as a CSV file (bad rows are per-row rejects), a file
        # without a single row is a documented 422, and so are bytes that are not a backup,
        # though any string is "valid" to the schema.
        return [schemathesis.checks.negative_data_rejection,
                schemathesis.checks.positive_data_acceptance]  # fmt: skip
    return []


def _avro_file() -> bytes:
    out = io.BytesIO()
    fastavro.writer(out, avro_schema(TABLES["jobs"]), [{"id": 7, "job": "Fuzzer"}])
    return out.getvalue()


# A backup to import is AVRO bytes: any bytes at all, or a file of the jobs' schema.
schemathesis.openapi.media_type(
    "application/avro", st.one_of(st.binary(max_size=2048), st.just(_avro_file()))
)
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                derandomize=True)  # fmt: skip
schema = schemathesis.pytest.from_fixture("api_schema")
keyed_schema = schemathesis.pytest.from_fixture("keyed_api_schema")


@schema.parametrize()
@FUZZ
def test_no_server_errors_and_answers_match_the_document(case):
    case.call_and_validate(excluded_checks=_checks_left_out(case))


@keyed_schema.parametrize()
@FUZZ
def test_the_same_with_an_api_key(case):
    # The key goes with every case, so a case made invalid by leaving it out is sent valid:
    # the open API's test above is the one that asks for invalid requests to be refused.
    excluded = [*_checks_left_out(case), schemathesis.checks.negative_data_rejection]
    case.call_and_validate(headers={"Authorization": f"Bearer {KEY}"},
                           excluded_checks=excluded)  # fmt: skip
