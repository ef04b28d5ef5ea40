"""The two CSV files owners open in Excel: they follow the database, which remembers what each holds.

incidents.csv is rewritten (atomically) with its rows completed in place; sessions.csv is
appended to. A file Excel saved again as "ANSI" is read as such and written on in its own
encoding, the owner's rows byte for byte.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import sqlite3
from pathlib import Path

from sentinel.files import atomic_write
from sentinel.timefmt import hms, stamp

INCIDENT_HEADER = ["Start Time", "End Time", "Duration", "Cause", "Notes"]
SESSION_HEADER = ["PC", "IP", "Start Time", "End Time", "Duration", "Notes"]
NOTES_SQL = ("CASE WHEN end_wall IS NULL THEN CASE WHEN closed_hours THEN 'ongoing, closed hours' ELSE 'ongoing' END "
             "ELSE CASE WHEN closed_hours THEN 'closed hours' ELSE 'resolved' END END")
ANSI = "cp1252"  # what Excel writes as "CSV" on a Western Windows


def sync_incidents(conn: sqlite3.Connection, path: Path) -> None:
    """Add and complete the rows of incidents.csv the database says it does not hold yet."""
    pending = conn.execute(
        f"SELECT key, cause, start_wall, end_wall, duration_s, {NOTES_SQL} FROM incidents "
        f"WHERE csv_state != {NOTES_SQL} ORDER BY id").fetchall()
    if not pending:
        return
    rows, encoding = read_csv(path, INCIDENT_HEADER)
    index = {(r[0], r[3]): i for i, r in enumerate(rows) if len(r) >= 5}
    for _, cause, start, end, duration, notes in pending:
        row = [stamp(start), stamp(end), hms(duration), cause, notes]
        where = index.get((row[0], cause))
        if where is None:
            index[(row[0], cause)] = len(rows)
            rows.append(row)
        else:
            rows[where] = row
    write_csv(path, INCIDENT_HEADER, rows, encoding)
    conn.executemany(f"UPDATE incidents SET csv_state = {NOTES_SQL} WHERE key = ?", [(key,) for key, *_ in pending])


def append_sessions(conn: sqlite3.Connection, path: Path) -> None:
    """Append the ended sessions sessions.csv does not hold yet; never half a row."""
    pending = conn.execute(
        "SELECT key, pc, ip, start_wall, end_wall, duration_s, notes FROM sessions "
        "WHERE end_wall IS NOT NULL AND csv_written = 0 ORDER BY end_wall, id").fetchall()
    if not pending:
        return
    try:
        existing = path.read_bytes()
    except FileNotFoundError:
        existing = b""
    encoding = _decode(existing)[1]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if not existing:
        writer.writerow(SESSION_HEADER)
    for _, pc, ip, start, end, duration, notes in pending:
        writer.writerow(_fit([pc, ip, stamp(start), stamp(end), hms(duration), notes], encoding))
    data = _encode(buffer.getvalue(), encoding)
    with open(path, "ab", buffering=0) as out:
        size = os.fstat(out.fileno()).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[out.write(view):]
            os.fsync(out.fileno())
        except OSError:
            os.ftruncate(out.fileno(), size)  # no half row (a full disk): the whole rows come on the retry
            raise
    conn.executemany("UPDATE sessions SET csv_written = 1 WHERE key = ?", [(k,) for k, *_ in pending])


def _decode(data: bytes) -> tuple[str, str]:
    """Text and encoding of a CSV we write into: UTF-8 (with or without BOM), else Excel's "ANSI".

    cp1252 with surrogateescape gives back every byte as it was on writing, so rows we only
    carry over stay byte for byte what the owner saved, whatever the code page.
    """
    try:
        return data.decode("utf-8-sig"), "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    except UnicodeDecodeError:
        return data.decode(ANSI, "surrogateescape"), ANSI


def _encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding, "surrogateescape" if encoding == ANSI else "replace")


def _fit(cells: list[str], encoding: str) -> list[str]:
    """New cells as the file's encoding can hold them (a name outside cp1252 gets '?')."""
    if encoding != ANSI:
        return cells
    return [cell.encode(ANSI, "replace").decode(ANSI) for cell in cells]


def read_csv(path: Path, header: list[str]) -> tuple[list[list[str]], str]:
    """Data rows of an existing CSV (rows we did not write, e.g. the seed's, are kept), and its encoding."""
    try:
        text, encoding = _decode(path.read_bytes())
    except FileNotFoundError:
        return [], "utf-8"
    rows = list(csv.reader(io.StringIO(text)))
    return (rows[1:] if rows and rows[0] == header else rows), encoding


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write(path, _encode(buffer.getvalue(), encoding))
