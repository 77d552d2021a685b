"""Rows that arrive as text: CSV lines (after a header line) or JSON lines, parsed chunk by chunk as they come.

A live source (a pipe, a file that grows, a message broker) delivers bytes in pieces that need not end at a line
break. :class:`LineReader` keeps the unfinished line, parses every complete one into a float32 row of the model's
features (and its time, when a time column is named), and reports a malformed line by its number and problem
instead of failing the whole stream. A well-formed chunk is parsed in one vectorised pass; only a chunk that holds a
bad line is parsed again line by line to find it.

JSON lines are objects (``{"time": "...", "a": 1.5, "b": 2}``, keys by column name, others ignored) or arrays of
the feature values in the model's order.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field

import numpy as np

from reconad.errors import InputError

FORMATS = ("auto", "csv", "jsonl")
MAX_LINE = 1 << 20  # bytes: a "line" longer than this is not a sensor row (and must not grow memory without end)
SEPARATORS = (",", ";", "\t", "|")


@dataclass
class Parsed:
    """The rows of a chunk: ``rows`` ``(k, D)`` float32, their ``times`` (or None), the ``bad`` lines as
    ``(line number, problem)`` pairs, and ``stopped``: a bad line ended the reading (policy ``stop``).
    ``repeated`` are the lines skipped because their time is not after the previous row's."""

    rows: np.ndarray
    times: list | None
    bad: list[tuple[int, str]] = field(default_factory=list)
    stopped: bool = False
    repeated: list[tuple[int, str]] = field(default_factory=list)


class LineReader:
    """Parses text rows for a model with feature columns ``names`` (None: every column but the time one).

    ``fmt`` is ``"csv"`` (the first line is the header), ``"jsonl"`` or ``"auto"`` (JSON lines when the first line
    starts with ``{`` or ``[``). ``time_col`` names the column whose value is each row's time (kept as text).
    ``on_bad="skip"`` drops a malformed line and goes on; ``"stop"`` drops it and everything after it.
    ``n_features`` is how many features the model takes (checked against the header).

    With a time column the rows must come in time order, as ``reconad score`` requires of a table: a row whose
    time is not after the previous row's is skipped and reported in ``repeated`` (``n_repeated`` counts them). Such
    a row is usually delivered twice: MQTT's QoS 1 is *at least once*, and a broker restarted while a message was
    on its way sends it again. Times are compared as numbers, else as dates.
    """

    def __init__(self, names: list[str] | None, n_features: int, *, fmt: str = "auto", time_col: str | None = None,
                 sep: str | None = None, on_bad: str = "skip"):
        if fmt not in FORMATS:
            raise InputError(f"the input format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        if on_bad not in ("skip", "stop"):
            raise InputError(f"the bad-line policy must be 'skip' or 'stop', got {on_bad!r}")
        self.names, self.n_features, self.fmt, self.time_col = names, n_features, fmt, time_col
        self.sep, self.on_bad = sep, on_bad
        self.line_no = 0  # physical lines read so far (the header included)
        self.n_bad = 0
        self.n_repeated = 0
        self._last_time: float | None = None  # the latest time so far, as a number (dates: nanoseconds)
        self._dates: bool | None = None  # whether the time column holds dates (decided by the first times)
        self.stopped = False
        self._pending = b""
        self._index: list[int] | None = None  # CSV: the feature columns' positions in a line
        self._time_index: int | None = None
        self._width = 0  # CSV: fields per line

    def feed(self, data: bytes) -> Parsed:
        """Parse the complete lines in ``data`` (with what was left over from the previous chunk)."""
        if self.stopped:
            return self._empty()
        text = self._pending + data
        cut = text.rfind(b"\n") + 1
        self._pending = text[cut:]
        if len(self._pending) > MAX_LINE:
            self._pending = b""
            start = self.line_no + text[:cut].count(b"\n") + 1
            return self._lines(text[:cut], extra=[(start, f"the line is longer than {MAX_LINE:,} bytes")])
        return self._lines(text[:cut])

    def close(self) -> Parsed:
        """The input ended: parse a last line that had no line break."""
        rest, self._pending = self._pending, b""
        return self._lines(rest + b"\n") if rest.strip() and not self.stopped else self._empty()

    # ---- internals ----------------------------------------------------------------------------------------------

    def _empty(self) -> Parsed:
        return Parsed(np.empty((0, self.n_features), np.float32), [] if self.time_col else None, stopped=self.stopped)

    def _lines(self, data: bytes, extra: list | None = None) -> Parsed:
        text = data.decode("utf-8", errors="replace")
        if self.fmt == "csv" and self._index is not None and not extra:
            first = self.line_no + 1
            fast = self._csv_fast(text, text.count("\n"))
            if fast is not None:
                return self._in_order(fast, list(range(first, first + len(fast.rows))))
        lines = text.split("\n")[:-1]
        first = self.line_no + 1
        self.line_no += len(lines)
        if self.fmt == "auto" and lines:
            head = next((line.strip() for line in lines if line.strip()), "")
            if head:
                self.fmt = "jsonl" if head[0] in "{[" else "csv"
        if self.fmt == "csv" and self._index is None:
            lines, first = self._header(lines, first)
        numbered = [(first + i, line.rstrip("\r")) for i, line in enumerate(lines) if line.strip()]
        if self.fmt == "jsonl":
            rows, times, bad = self._json(numbered)
        else:
            rows, times, bad = self._csv(numbered)
        bad = sorted(bad + (extra or []))
        if bad and self.on_bad == "stop":
            self.stopped = True
            keep = [i for i, (number, _) in enumerate(rows) if number < bad[0][0]]
            rows = [rows[i] for i in keep]
            times = None if times is None else [times[i] for i in keep]
            bad = bad[:1]
        self.n_bad += len(bad)
        array = np.array([values for _, values in rows], dtype=np.float32).reshape(len(rows), self.n_features)
        return self._in_order(Parsed(array, times, bad, self.stopped), [number for number, _ in rows])

    def _in_order(self, parsed: Parsed, numbers: list[int]) -> Parsed:
        """``parsed`` without the rows whose time is not after the previous row's (see the class)."""
        if not parsed.times:
            return parsed
        keys = self._time_keys(parsed.times)
        before = np.maximum.accumulate(np.concatenate([[-np.inf if self._last_time is None else self._last_time],
                                                       np.nan_to_num(keys, nan=-np.inf)]))[:-1]
        keep = keys > before  # NaN (an unreadable time) compares False
        unreadable = np.flatnonzero(np.isnan(keys))
        if len(unreadable) and self.on_bad == "stop":  # nothing from the first bad line on
            keep[unreadable[0]:] = False
            keys[unreadable[0] + 1 :] = 0.0  # neither reported nor kept
            self.stopped = parsed.stopped = True
        if keep.all():
            self._last_time = float(keys[-1])
            return parsed
        for i in np.flatnonzero(~keep):
            if self.stopped and len(unreadable) and i > unreadable[0]:
                break
            if np.isnan(keys[i]):
                parsed.bad.append((numbers[i], f"its time {parsed.times[i]!r} is not a {self._kind()}"))
            else:
                parsed.repeated.append((numbers[i], f"its time {parsed.times[i]!r} is not after the previous row's"))
        parsed.bad.sort()
        self.n_bad += int(np.isnan(keys).sum())
        self.n_repeated += len(parsed.repeated)
        if keep.any():
            self._last_time = float(np.max(keys[keep]))
        parsed.rows = parsed.rows[keep]
        parsed.times = [t for t, k in zip(parsed.times, keep) if k]
        return parsed

    def _kind(self) -> str:
        return "date" if self._dates else "number"

    def _time_keys(self, times: list) -> np.ndarray:
        """Times as comparable float64 numbers (dates as nanoseconds since 1970), NaN where unreadable."""
        import pandas as pd

        values = pd.Series(times, dtype=object)
        if self._dates is None:
            self._dates = bool(pd.to_numeric(values[:1], errors="coerce").isna().iloc[0])  # the first time decides
        if not self._dates:
            return pd.to_numeric(values, errors="coerce").to_numpy(np.float64)
        dates = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
        keys = dates.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(np.float64)
        keys[dates.isna().to_numpy()] = np.nan
        return keys

    def _header(self, lines: list[str], first: int) -> tuple[list[str], int]:
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            header = line.rstrip("\r").lstrip("\ufeff")
            sep = self.sep or next((s for s in SEPARATORS if s in header), ",")
            self.sep = sep
            fields = [name.strip().strip('"') for name in header.split(sep)]
            self._width = len(fields)
            if self.time_col is not None:
                if self.time_col not in fields:
                    raise InputError(f"the header (line {first + i}) has no time column {self.time_col!r}; its "
                                     f"columns are {fields}")
                self._time_index = fields.index(self.time_col)
            wanted = self.names or [name for name in fields if name != self.time_col]
            missing = [name for name in wanted if name not in fields]
            if missing:
                raise InputError(f"the header (line {first + i}) lacks the columns {missing} the model was fitted "
                                 f"on; its columns are {fields}")
            if len(wanted) != self.n_features:
                raise InputError(f"the header (line {first + i}) has {len(wanted)} feature columns but the model "
                                 f"takes {self.n_features}; send its columns (and name the time one, --time-col)")
            self._index = [fields.index(name) for name in wanted]
            return lines[i + 1 :], first + i + 1
        return [], first + len(lines)

    def _csv(self, numbered: list[tuple[int, str]]):
        """Rows as ``(line number, values)`` pairs, times, bad lines: one vectorised pass, else line by line."""
        if not numbered:
            return [], ([] if self.time_col else None), []
        fields = [line.split(self.sep) for _, line in numbered]
        rows, times, bad = [], ([] if self.time_col else None), []
        for (number, _), parts in zip(numbered, fields):
            if len(parts) != self._width:
                bad.append((number, f"it has {len(parts)} fields, the header {self._width}"))
                continue
            problem, values = self._numbers([parts[j] for j in self._index], [self._column(j) for j in self._index])
            if problem:
                bad.append((number, problem))
                continue
            rows.append((number, values))
            if times is not None:
                times.append(parts[self._time_index])
        return rows, times, bad

    def _csv_fast(self, text: str, count: int) -> Parsed | None:
        """``count`` well-formed lines parsed at once by pandas' C parser (the one ``reconad score`` reads a CSV
        with, so the same text gives the same numbers); None when some line may be blank or malformed (they are
        then parsed one by one, to name them)."""
        import pandas as pd

        if "\n\n" in text or "\n\r\n" in text or text.startswith(("\n", "\r\n")):
            return None
        if text.count(self.sep) != count * (self._width - 1):  # pandas would drop a line's extra fields silently
            return None
        options = {"dtype": np.float64}  # every column a number: the cheapest call
        if self._time_index is not None or len(self._index) < self._width:
            columns = sorted(set(self._index) | ({self._time_index} if self._time_index is not None else set()))
            options = {"usecols": columns, "dtype": {j: (str if j == self._time_index else np.float64)
                                                     for j in columns}}
        try:
            frame = pd.read_csv(io.StringIO(text), sep=self.sep, header=None, names=list(range(self._width)),
                                quoting=3, na_filter=False, **options)
        except (ValueError, pd.errors.ParserError):  # a field that is no number, a line short of fields
            return None
        values = frame[self._index].to_numpy(np.float64)
        if len(values) != count or not np.isfinite(values).all():
            return None
        self.line_no += count
        times = None if self._time_index is None else frame[self._time_index].tolist()
        return Parsed(values.astype(np.float32), times)

    def _column(self, j: int) -> str:
        return self.names[self._index.index(j)] if self.names else f"column {j + 1}"

    @staticmethod
    def _numbers(texts: list, columns: list) -> tuple[str | None, list[float]]:
        values = []
        for text, column in zip(texts, columns):
            try:
                if isinstance(text, bool):
                    raise ValueError(text)
                value = float(text)
            except (TypeError, ValueError):
                return f"{column!s} is {str(text)[:40]!r}, not a number", []
            if not math.isfinite(value):
                return f"{column!s} is {str(text)[:40]!r}, not a finite number", []
            values.append(value)
        return None, values

    def _json(self, numbered: list[tuple[int, str]]):
        rows, times, bad = [], ([] if self.time_col else None), []
        for number, line in numbered:
            try:
                item = json.loads(line)
            except ValueError as exc:
                bad.append((number, f"it is not JSON ({exc})"))
                continue
            if isinstance(item, list):
                if self.time_col:
                    bad.append((number, f"an array carries no time; send an object with the key {self.time_col!r}"))
                    continue
                if len(item) != self.n_features:
                    bad.append((number, f"it holds {len(item)} values, the model takes {self.n_features}"))
                    continue
                texts, columns, time = item, [f"value {j + 1}" for j in range(len(item))], None
            elif isinstance(item, dict):
                names = self.names or [f"value {j + 1}" for j in range(self.n_features)]
                missing = [name for name in names if name not in item]
                if missing or (self.time_col and self.time_col not in item):
                    bad.append((number, f"it lacks the keys {missing + ([self.time_col] if self.time_col else [])}"))
                    continue
                texts, columns, time = [item[name] for name in names], names, item.get(self.time_col)
            else:
                bad.append((number, "it is neither a JSON object nor an array"))
                continue
            if any(isinstance(text, str) for text in texts):
                bad.append((number, "a value is a string; send numbers"))
                continue
            problem, values = self._numbers(texts, columns)
            if problem:
                bad.append((number, problem))
                continue
            rows.append((number, values))
            if times is not None:
                times.append(time)
        return rows, times, bad
