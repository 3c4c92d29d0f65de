"""What a chunk of checked rows becomes for the strategy that loads it: a Piece.

A direct load COPYs a chunk's plain rows into the table as text, its rows the schema decided
as values, and its rejects as COPY rows of load_rejects; a load through staging COPYs each
row's position and values into its stage (the raw text of the few rows a set-based step
rejects is read again from the input: every row's cost a quarter of a staged load's time). A
piece holds that with the counts the report needs, so that the load's own process and its
helpers (parallel) hand a strategy the same thing. Pieces are made where the chunk was read,
and joined in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from operator import itemgetter, lt

from hrapi.ingest.check import Checked, RowCheck
from hrapi.ingest.rejects import Rejected
from hrapi.ingest.sources import Chunk


@dataclass
class Piece:
    """Rows to COPY: the plain ones as COPY text, the ones the schema decided as rows for
    write_row, the rejects; `rows`: how many are copied. `ids`: (first, last) when the ids
    of the copied rows rise strictly, or None for none, and `rising` whether they do."""

    received: int
    rejects: list[Rejected]
    text: str
    typed: list
    rows: int
    ids: tuple[int, int] | None = None
    rising: bool = True


def direct_piece(check: RowCheck, chunk: Chunk) -> Piece:
    """A CSV chunk for COPY into its table."""
    checked = check.chunk(chunk, "csv")
    return Piece(checked.received, checked.rejects, checked.copy_text(),
                 [values for _, values in checked.typed],
                 checked.plain + len(checked.typed))  # fmt: skip


def staged_piece(check: RowCheck, chunk: Chunk) -> Piece:
    """A chunk for COPY into the stage: each row's position and values."""
    source = "csv" if chunk.objects is None else "json"
    checked = check.chunk(chunk, source)
    typed = [(position, *values) for position, values in checked.typed]
    piece = Piece(checked.received, checked.rejects, _staged_text(checked), typed,
                  checked.plain + len(typed), rising=not typed)  # fmt: skip
    if checked.rows and piece.rising:  # the schema's rows' ids are not in `rows`
        ids = list(map(int, map(itemgetter(0), checked.rows)))  # id is every table's first
        piece.rising = all(map(lt, ids, islice(ids, 1, None)))
        piece.ids = (ids[0], ids[-1])
    return piece


def joined(pieces: list[Piece]) -> Piece:
    """Consecutive pieces as one."""
    whole = Piece(0, [], "".join(p.text for p in pieces), [], 0)
    order = IdOrder()
    for piece in pieces:
        whole.received += piece.received
        whole.rejects += piece.rejects
        whole.typed += piece.typed
        whole.rows += piece.rows
        order.see(piece)
        if piece.ids and not whole.ids:
            whole.ids = piece.ids
    whole.rising = order.rising
    if whole.ids:
        whole.ids = (whole.ids[0], order.last)
    return whole


class IdOrder:
    """Whether the ids of a load's staged rows rise strictly, row after row, as in a file
    sorted by id (exports usually are): then no id repeats, and the hash of every staged id
    that reject_duplicates.sql builds (about a second a million rows) is not needed. Rows the
    schema decided count as not rising."""

    def __init__(self):
        self.rising = True
        self.first = None  # the first id seen
        self.last = 0

    def see(self, piece: Piece) -> None:
        self.rising = self.rising and piece.rising and (not piece.ids or piece.ids[0] > self.last)
        if piece.ids:
            self.first = piece.ids[0] if self.first is None else self.first
            self.last = piece.ids[1]

    def bounds(self) -> tuple[int | None, int | None]:
        """The lowest and highest id when they rise (None, None when they do not)."""
        return (self.first, self.last) if self.rising and self.first is not None else (None, None)


def _staged_text(checked: Checked) -> str:
    """The plain rows of a chunk as COPY text of the staging table: position, values."""
    if not checked.plain:
        return ""
    if checked.row_format is not None:  # values not all text (a JSON batch's integers)
        rows = zip(checked.positions, *zip(*checked.rows))  # noqa: B905 - all of one length
        return "".join(map(f"%s\t{checked.row_format}".__mod__, rows))
    columns = [map(str, checked.positions), *zip(*checked.rows)]  # noqa: B905
    return "\n".join(map("\t".join, zip(*columns))) + "\n"  # noqa: B905 - all of one length
