"""Loading: sources (CSV dialects, JSON rows), the check, load strategies, rejects, the report.

`Ingestor.load(table, CsvInput(...) | JsonInput(...))` is the one way rows get into a table;
see pipeline for the steps of a load and strategies for how rows reach the table.
"""

from hrapi.ingest.pipeline import EmptyInput, Ingestor
from hrapi.ingest.report import LoadReport
from hrapi.ingest.sources import CsvInput, CsvOptions, JsonInput, SourceError

__all__ = ["CsvInput", "CsvOptions", "EmptyInput", "Ingestor", "JsonInput", "LoadReport",
           "SourceError"]  # fmt: skip
