"""Endpoints for the stakeholders' insights, as JSON or CSV."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from hrapi.api.formats import csv_also, csv_response, wants_csv
from hrapi.api.json_body import Blueprint
from hrapi.api.schemas import document_errors
from hrapi.insights import QUARTERS, Insights

blp = Blueprint(
    "insights",
    __name__,
    url_prefix="/api/v1/insights",
    description="Hires by quarter and departments above the mean, for any year (UTC)",
)


BAD_YEAR = "year is not an integer in 1900..2100"


class YearArgs(Schema):
    year = fields.Integer(
        load_default=2021,
        validate=validate.Range(min=1900, max=2100),
        metadata={"description": "calendar year in UTC, 1900 to 2100"},
    )
    format = fields.String(
        validate=validate.OneOf(["json", "csv"]),
        metadata={"description": "csv for a CSV answer (same as Accept: text/csv)"},
    )


class QuarterRowSchema(Schema):
    department = fields.String()
    job = fields.String()
    Q1 = fields.Integer()
    Q2 = fields.Integer()
    Q3 = fields.Integer()
    Q4 = fields.Integer()


class HiresByQuarterSchema(Schema):
    year = fields.Integer()
    rows = fields.List(fields.Nested(QuarterRowSchema))


class AboveMeanRowSchema(Schema):
    id = fields.Integer()
    department = fields.String()
    hired = fields.Integer()


class DepartmentsAboveMeanSchema(Schema):
    year = fields.Integer()
    mean = fields.Float(metadata={"description": "hires per department that year, 2 decimals"})
    rows = fields.List(fields.Nested(AboveMeanRowSchema))


def _insights() -> Insights:
    return current_app.extensions["hrapi.insights"]


def _answer(body: dict, header: list[str], name: str):
    """The insight as JSON, or its rows as CSV under a header line."""
    if wants_csv():
        rows = ([row[column] for column in header] for row in body["rows"])
        return csv_response(header, rows, f"{name}-{body['year']}.csv")
    return body


@blp.route("/hires-by-quarter")
class HiresByQuarter(MethodView):
    @blp.arguments(YearArgs, location="query")
    @blp.response(200, HiresByQuarterSchema)
    @blp.doc(**csv_also("HiresByQuarter"))
    @document_errors(blp, 422, 503, e422=BAD_YEAR)
    def get(self, args):
        """Hires per department and job in a year, by quarter.

        Only department and job pairs with at least one hire that year; ordered by
        department, then job (case-insensitive, ties by exact text).
        """
        body = {"year": args["year"], "rows": _insights().hires_by_quarter(args["year"])}
        return _answer(body, ["department", "job", *QUARTERS], "hires-by-quarter")


@blp.route("/departments-above-mean")
class DepartmentsAboveMean(MethodView):
    @blp.arguments(YearArgs, location="query")
    @blp.response(200, DepartmentsAboveMeanSchema)
    @blp.doc(**csv_also("DepartmentsAboveMean"))
    @document_errors(blp, 422, 503, e422=BAD_YEAR)
    def get(self, args):
        """Departments that hired more than the mean of all departments in a year.

        The mean counts every department, one without hires as zero. Ordered by hires,
        most first, ties by department name.
        """
        mean, rows = _insights().departments_above_mean(args["year"])
        body = {"year": args["year"], "mean": mean, "rows": rows}
        return _answer(body, ["id", "department", "hired"], "departments-above-mean")
