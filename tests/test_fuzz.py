"""Fuzzing: schemathesis sends generated requests to every documented operation.

No answer may be a 5xx, and every answer must match its documented status codes, content type
and schema. The number of examples per operation is bounded to keep the suite quick.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.helpers import load_parents


@pytest.fixture
def api_schema(app):
    load_parents(app.test_client())  # so that some generated hires reference real rows
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors_and_answers_match_the_document(case):
    excluded = []
    if case.media_type in ("multipart/form-data", "text/csv"):
        # A CSV body is documented as a string of bytes, which says nothing of its content:
        # any bytes are accepted as a file (bad rows are per-row rejects), and a file without
        # a single row is a documented 422, though any string is "valid" to the schema.
        excluded += [
            schemathesis.checks.negative_data_rejection,
            schemathesis.checks.positive_data_acceptance,
        ]
    case.call_and_validate(excluded_checks=excluded)
