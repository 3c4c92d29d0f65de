"""Loading: sources (CSV dialects, JSON rows), the check, load strategies, rejects, the report.

`Ingestor.load(table, CsvInput(...) | JsonInput(...))` is the one way rows get into a table;
see pipeline for the steps of a load and strategies for how rows reach the table.
"""

from hrapi.db import TableBusy
from hrapi.ingest.json_input import JsonInput
from hrapi.ingest.pipeline import EmptyInput, Ingestor, LoadAborted
from hrapi.ingest.report import LoadReport
from hrapi.ingest.sources import CsvInput, CsvOptions, SourceError
from hrapi.ingest.strategies import Limits

__all__ = ["CsvInput", "CsvOptions", "EmptyInput", "Ingestor", "JsonInput", "Limits",
           "LoadAborted", "LoadReport", "SourceError", "TableBusy"]  # fmt: skip
