"""Reading curves recorded elsewhere: learning-rate histories in JSON, and delimited tables.

:func:`lrfinder.load_result` reads lrfinder's own JSON results itself and hands every other
file here. Each reader returns plain arrays or raises one
:class:`~lrfinder.errors.LRFinderError` line that names the file and the fix; it never
guesses where the file leaves a choice open.

**JSON.** A history is an object with an ``lr`` and a ``loss`` list, as torch-lr-finder's
``LRFinder.history`` is when saved with ``json.dump`` (``NaN`` included). fastai's names
(``lrs``, ``losses``) and ``learning_rate`` are read too; other keys are ignored.

**Tables.** Rows of numbers separated by ``,``, ``;``, a tab or spaces, in a ``.csv``,
``.tsv``, ``.txt`` or any other file whose text does not start with ``{`` or ``[``:

* the delimiter is sniffed from the rows with :class:`csv.Sniffer` (``;`` and tab before
  ``,``, so that Excel's ``0,001;2,3`` reads as decimal commas), then runs of whitespace;
* quoted numbers, a UTF-8 byte-order mark (Excel's "CSV UTF-8"), UTF-16 (Excel's "Unicode
  Text"), CRLF and blank lines are fine;
* lines starting with ``#`` are comments; the last one above the rows is the header when it
  names the ``lr`` and ``loss`` columns, as ``np.savetxt(..., header="lr,loss")`` writes it;
* with a header, the ``lr``, ``loss``, ``run`` and ``step`` columns are found by name (see
  the ``*_NAMES`` tuples; case, spaces and dashes do not matter) and other columns are
  ignored; a header of two other names means lr then loss.

**Which column is the lr, without a header.** Only a two-column file is read, and only when
its first column *rises*: every value is positive, none is smaller than the one above it,
and the last is larger than the first (a constant column is no sweep, it is a flat loss),
while the second column does not rise. A file whose second column rises instead is refused,
not read as ``loss,lr``: it looks exactly like an ``lr,loss`` file whose rows were sorted by
loss, and reading it as ``loss,lr`` would turn a shuffled file into a confident wrong curve.

**Row order.** The rows of a file without a step column are taken as the order the curve was
recorded in, so their rates must not fall: a file whose rate falls from one row to the next
is refused. Rows sorted by loss in a spreadsheet and a schedule that really goes back down
(a zoom after a sweep, a cyclic schedule) look the same, and sorting the first by lr would
merge the second into one wrong curve; the message says to sort the rows, or to add a step
column. With a step column (``step``, ``iteration`` ...) the rows are put in step order
within each run, so any permutation of the rows reads to the same curve, and rates that go
back down are kept for the analysis to read stretch by stretch.
"""

from __future__ import annotations

import codecs
import csv
import json
import math
import numbers
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from lrfinder.errors import LRFinderError

#: Column and key names for each quantity, compared after :func:`normalise_name`.
LR_NAMES = ("lr", "lrs", "learning_rate", "learning_rates")
LOSS_NAMES = ("loss", "losses")
RUN_NAMES = ("run",)
STEP_NAMES = ("step", "steps", "iteration", "iterations", "iter")

#: How the accepted JSON shape is named in messages.
HISTORY_SHAPE = (
    "a JSON object with 'lr' and 'loss' lists (torch-lr-finder's history saved with json.dump)"
)

#: The fix named when a JSON file is none of the shapes read.
ACCEPTED = f"give an lrfinder --json result, {HISTORY_SHAPE}, or an lr,loss CSV"

#: Delimiters tried in turn with :class:`csv.Sniffer`; whitespace runs come last. ``;`` and
#: tab come before ``,`` because a row ``0,001;2,3`` holds both, and then ``,`` is a decimal.
SNIFF_TIERS = (";\t", ",")

#: How many rows the delimiter is sniffed from.
SNIFF_ROWS = 50

#: Read as a space-separated table: any run of whitespace separates two cells.
WHITESPACE = " "


def normalise_name(name: str) -> str:
    """``"Learning Rate"``, ``"learning-rate"`` and ``"learning_rate"`` all compare equal."""
    return "_".join(name.strip().lower().replace("-", " ").replace("_", " ").split())


#: The first bytes of files people pass by mistake, and what they are.
BINARY_MAGIC = {
    b"\x89PNG\r\n\x1a\n": "a PNG image",
    b"%PDF-": "a PDF document",
    b"PK\x03\x04": "a zip archive (an .npz or .xlsx file?)",
    b"\x93NUMPY": "a NumPy .npy array",
    b"\x1f\x8b": "gzip-compressed",
    b"GIF8": "a GIF image",
    b"\xff\xd8\xff": "a JPEG image",
}


def decode(raw: bytes, source: str) -> str:
    """The text of a file: UTF-8 with or without a byte-order mark, or UTF-16 with one.

    A binary file (an image, an archive) is named for what it is, whatever its suffix.
    """
    for magic, kind in BINARY_MAGIC.items():
        if raw.startswith(magic):
            raise LRFinderError(
                f"{source} is {kind}, not a result; give the file written by --json, or a "
                "text table of lr,loss rows"
            )
    utf16 = raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    encoding, name = ("utf-16", "UTF-16") if utf16 else ("utf-8-sig", "UTF-8")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as err:
        raise LRFinderError(
            f"{source} is not {name} text (byte {err.start} cannot be decoded); save it as "
            "UTF-8 text (in Excel: CSV UTF-8)"
        ) from None


def looks_like_json(text: str) -> bool:
    """True when the text starts, after any whitespace, like a JSON object or array."""
    return text.lstrip()[:1] in ("{", "[")


# ------------------------------------------------------------------------------ JSON


def history_curve(data, source: str) -> tuple[np.ndarray, np.ndarray]:
    """``(lrs, losses)`` of a learning-rate history, in recorded order.

    Parameters
    ----------
    data
        What :func:`json.loads` returned for a file that is not an lrfinder result.
    source
        Names the file in messages.
    """
    keys = {normalise_name(k): k for k in data} if isinstance(data, dict) else {}
    lr_key = next((keys[n] for n in LR_NAMES if n in keys), None)
    loss_key = next((keys[n] for n in LOSS_NAMES if n in keys), None)
    if lr_key is None or loss_key is None:
        what = (
            "an object with no 'schema' field (lrfinder's results have one) and no 'lr' and "
            "'loss' lists"
            if isinstance(data, dict)
            else f"a JSON {_json_type(data)}"
        )
        raise LRFinderError(f"{source} holds {what}; {ACCEPTED}")
    return _numbers(data[lr_key], lr_key, source), _numbers(data[loss_key], loss_key, source)


def _json_type(value) -> str:
    if value is None:
        return "null"
    for kind, name in ((bool, "boolean"), (list, "array"), (dict, "object"), (str, "string")):
        if isinstance(value, kind):
            return name
    return "number"


def _numbers(values, key: str, source: str) -> np.ndarray:
    """A JSON list of numbers as float64; null is a missing value (NaN)."""
    if not isinstance(values, list):
        raise LRFinderError(
            f"{source}: {key!r} must be a list of numbers, got a JSON {_json_type(values)}"
        )
    out = np.empty(len(values))
    for index, value in enumerate(values):
        if value is None:
            out[index] = math.nan
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            out[index] = float(value)
        else:
            raise LRFinderError(
                f"{source}: {key!r} must be a list of numbers, but item {index} is {value!r}"
            )
    return out


# ----------------------------------------------------------------------------- tables


def table_runs(text: str, source: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """The ``(lrs, losses)`` of each run in a delimited table, runs in order of their number.

    Each run's rows are in step order when the table has a step column, else in file
    order, which must then never let the rate fall (see the module docstring).
    """
    body, comments = _lines(text)
    if not body:
        raise LRFinderError(f"{source} has no lr,loss rows")
    sample = [line for _, line in body[1 : SNIFF_ROWS + 1]] or [body[0][1]]
    delimiter = _sniff(sample)
    if delimiter is None:
        raise LRFinderError(
            f"{source} has only one column; each row must hold lr and loss, separated by "
            "',', ';', a tab or spaces"
        )
    first_line = body[0][1]
    first = _split(first_line, delimiter)
    if all(_number(cell, delimiter) is not None for cell in first):
        names = _header_from_comment(comments, len(first), delimiter)
        rows = body
    else:
        names = _header_names(first_line, first, delimiter, body[1:])
        rows = body[1:]
    width = len(first) if names is None else len(names)
    cells = []
    for number, line in rows:
        row = _split(line, delimiter)
        if len(row) != width:
            raise LRFinderError(
                f"{source} line {number} has {len(row)} columns, expected {width}; "
                "each row must be lr,loss"
            )
        cells.append((number, line, row))
    if not cells:
        raise LRFinderError(f"{source} has no lr,loss rows")
    if names is None:
        lr, loss, run, step = (*_infer_columns(cells, width, delimiter, source), None, None)
    else:
        lr, loss, run, step = _named_columns(names, first_line, source)
    groups: dict[float, list[_Point]] = {}
    for number, line, row in cells:
        wanted = [row[lr], row[loss]]
        wanted += [row[c] for c in (run, step) if c is not None]
        values = [_number(cell, delimiter) for cell in wanted]
        if any(v is None for v in values):
            raise LRFinderError(
                f"{source} line {number} is not all numbers: {line!r}; each row must be lr,loss"
            )
        run_id = values[2] if run is not None else 0.0
        at = values[-1] if step is not None else None
        if at is not None and not math.isfinite(at):
            raise LRFinderError(
                f"{source} line {number} has step {row[step]!r}; steps must be finite numbers"
            )
        groups.setdefault(run_id, []).append(_Point(number, at, values[0], values[1]))
    runs = []
    for run_id in sorted(groups):
        points = groups[run_id]
        if step is not None:
            points = _in_step_order(points, run_id if run is not None else None, source)
        else:
            _check_rising(points, source)
        runs.append((np.array([p.lr for p in points]), np.array([p.loss for p in points])))
    return runs


class _Point(NamedTuple):
    """One row of a table: its line in the file, its step (None without a step column)."""

    line: int
    step: float | None
    lr: float
    loss: float


#: The comment that opens lrfinder's own CSV export: the settings the analysis reads
#: (the optimizer, its momentum lag and cold-start gain), as one JSON object.
SETTINGS_COMMENT = "lrfinder settings:"
#: The settings the CSV export carries.
CSV_SETTINGS = (
    "optimizer",
    "optimizer_hyperparameters",
    "momentum_lag",
    "cold_start_gain",
    "slow_learner",
)


def settings_comment(settings) -> str:
    """The ``# lrfinder settings: {...}`` line for a result's ``settings`` (those of
    :data:`CSV_SETTINGS` it has)."""
    kept = {k: settings[k] for k in CSV_SETTINGS if settings.get(k) is not None}
    return f"# {SETTINGS_COMMENT} {json.dumps(kept, sort_keys=True, default=str)}"


def csv_settings(text: str) -> dict:
    """The settings an lrfinder CSV export carries in its settings comment, else ``{}``
    (a table from anywhere else, or a comment that is not a JSON object: a note)."""
    _, comments = _lines(text)
    for comment in comments:
        if comment.startswith(SETTINGS_COMMENT):
            try:
                value = json.loads(comment[len(SETTINGS_COMMENT) :])
            except json.JSONDecodeError:
                return {}
            return value if isinstance(value, dict) else {}
    return {}


def _lines(text: str):
    """Numbered non-blank lines, and the comments (``#`` lines) above the first of them."""
    body: list[tuple[int, str]] = []
    comments: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if not body:
                comments.append(line.lstrip("#").strip())
            continue  # np.savetxt's footer, or a note between the rows
        body.append((number, line))
    return body, comments


def _sniff(sample: Sequence[str]) -> str | None:
    """The delimiter of these rows, or None when they have one column."""
    text = "\n".join(sample)
    for delimiters in SNIFF_TIERS:
        try:
            return csv.Sniffer().sniff(text, delimiters=delimiters).delimiter
        except csv.Error:
            continue
    if all(len(line.split()) >= 2 for line in sample):
        return WHITESPACE
    return None


def _split(line: str, delimiter: str) -> list[str]:
    if delimiter == WHITESPACE:
        cells = line.split()
    else:
        cells = next(csv.reader([line], delimiter=delimiter, skipinitialspace=True))
    return [cell.strip().strip('"').strip() for cell in cells]


def _number(cell: str, delimiter: str) -> float | None:
    """The cell as a float, or None; ``0,5`` is 0.5 when the delimiter is not a comma."""
    try:
        return float(cell)
    except ValueError:
        pass
    if delimiter != "," and cell.count(",") == 1 and "." not in cell:
        try:
            return float(cell.replace(",", "."))
        except ValueError:
            return None
    return None


def _header_names(line, cells, delimiter, rows) -> list[str]:
    """The header's names; split by another delimiter when the rows' one is not in it.

    ``np.savetxt(..., header="lr,loss")`` writes its rows with spaces by default.
    """
    if len(cells) == 1 and rows:
        width = len(_split(rows[0][1], delimiter))
        other = _split_into(line, width)
        if other is not None:
            return other
    return cells


def _split_into(line: str, width: int) -> list[str] | None:
    for delimiter in (",", ";", "\t", WHITESPACE):
        cells = _split(line, delimiter)
        if len(cells) == width:
            return cells
    return None


def _header_from_comment(comments, width, delimiter) -> list[str] | None:
    """The last comment above the rows, when it names the lr and loss columns."""
    if not comments:
        return None
    cells = _split(comments[-1], delimiter)
    if len(cells) != width:
        cells = _split_into(comments[-1], width)
    if cells is None:
        return None
    if _find(cells, LR_NAMES) is None or _find(cells, LOSS_NAMES) is None:
        return None  # a note, not a header
    return cells


def _find(names: Sequence[str], wanted: tuple[str, ...]) -> int | None:
    for index, name in enumerate(names):
        if normalise_name(name) in wanted:
            return index
    return None


def _named_columns(names, line, source):
    lr, loss = _find(names, LR_NAMES), _find(names, LOSS_NAMES)
    if len(names) == 2 and lr is None and loss is None:
        lr, loss = 0, 1  # any two-column header: lr then loss
    if lr is None or loss is None:
        raise LRFinderError(
            f"{source} header {line!r} has no 'lr' and 'loss' columns; "
            "name them so, or give two unlabelled columns lr,loss"
        )
    return lr, loss, _find(names, RUN_NAMES), _find(names, STEP_NAMES)


def _rises(column: np.ndarray) -> bool:
    """Positive, never falling from one row to the next, and not constant: a rate sweep."""
    return bool(
        np.all(np.isfinite(column))
        and np.all(column > 0)
        and np.all(np.diff(column) >= 0)
        and column[-1] > column[0]
    )


def _infer_columns(cells, width, delimiter, source) -> tuple[int, int]:
    """``(lr, loss)`` of a file without a header, when that is unambiguous."""
    if width != 2:
        raise LRFinderError(
            f"{source} has {width} columns and no header, so which is the lr and which the loss "
            "is not known; add a first line naming them, e.g. step,lr,loss"
        )
    values = []
    for number, line, row in cells:
        parsed = [_number(cell, delimiter) for cell in row]
        if any(v is None for v in parsed):
            raise LRFinderError(
                f"{source} line {number} is not all numbers: {line!r}; each row must be lr,loss"
            )
        values.append(parsed)
    first, second = (_rises(np.array(column)) for column in zip(*values, strict=True))
    if first and not second:
        return 0, 1
    if second and not first:
        problem = (
            "its second column rises from row to row while the first does not, so it may hold "
            "loss,lr (or lr,loss rows sorted by loss)"
        )
    elif first:
        problem = "both columns rise from row to row, so either could be the lr"
    else:
        raise LRFinderError(
            f"{source} has no header, and neither column rises from row to row as a learning "
            "rate does; add a first line naming the columns (lr,loss), and a step column if "
            "the rows are not in the order they were recorded"
        )
    raise LRFinderError(
        f"{source} has no header, and {problem}; add a first line naming the columns: "
        "lr,loss or loss,lr"
    )


def _in_step_order(points, run_id, source):
    """The run's points sorted by step; a step that appears twice is refused."""
    points = sorted(points, key=lambda p: p.step)
    for before, after in zip(points, points[1:], strict=False):
        if before.step == after.step:
            lines = sorted((before.line, after.line))
            of_run = "" if run_id is None else f" of run {run_id:g}"
            raise LRFinderError(
                f"{source} lines {lines[0]} and {lines[1]} both hold step {before.step:g}"
                f"{of_run}; each step must appear once per run"
            )
    return points


def _check_rising(points, source) -> None:
    """Refuse a rate that falls from one row to the next (the file has no step column)."""
    for before, after in zip(points, points[1:], strict=False):
        if after.lr < before.lr:
            old, new = _distinct(before.lr, after.lr)
            raise LRFinderError(
                f"{source} line {after.line}: the lr falls from {old} to {new}, and without a "
                "step column the rows must be in the order they were recorded; sort the rows "
                "by lr if they are one sweep, or add a step column (step,lr,loss) if the "
                "schedule went back down"
            )


def _distinct(a: float, b: float) -> tuple[str, str]:
    """Short forms of two different numbers that still read as different."""
    for digits in (6, 10):
        short = f"{a:.{digits}g}", f"{b:.{digits}g}"
        if short[0] != short[1]:
            return short
    return repr(a), repr(b)
