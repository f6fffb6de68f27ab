"""CSV that Excel opens as intended: UTF-8 with a byte order mark, one header row, text safe.

Rows are written as they come, a few at a time, so a download of every town's records never
holds the whole file in memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sct_forms.exports.cells import csv_value

#: Excel reads a CSV file as UTF-8 only when it starts with this mark (else as the PC's code page).
BOM = "\ufeff"
# Rows per chunk handed to the server: small enough to stream, large enough to be cheap.
ROWS_PER_CHUNK = 200


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The file as text chunks: the mark and the header, then rows in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow([csv_value(str(label)) for label in header])
    count = 0
    for row in rows:
        writer.writerow([csv_value(value) for value in row])
        count += 1
        if count % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
