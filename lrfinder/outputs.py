"""Output files: check each path before a run, then write every output on its own.

A range test can take minutes; a typo in ``--plot`` must not cost the run. So the
rule is in two halves:

* :func:`check_output_path` is called for every output *before* any training. It
  refuses a path whose folder is missing, that names a folder, that has a suffix
  the writer does not support, or that cannot be written, with a one-line message
  naming the option and the fix.
* :func:`write_outputs` writes the outputs *after* the run, each independently: a
  failure of one (a full disk, say) is reported and the others are still written.

The CLI's ``search``, ``compare``, ``plot`` and ``verify`` and
:func:`lrfinder.plotting.save_figure` all use these, so the rule lives here once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from lrfinder.errors import LRFinderError

__all__ = [
    "FIGURE_SUFFIXES",
    "OutputFailure",
    "check_output_path",
    "write_json",
    "write_outputs",
]

#: Figure formats matplotlib writes for us, chosen by the path's suffix.
FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


def check_output_path(path, what: str, suffixes: tuple[str, ...] = ()) -> Path:
    """Return ``path`` (``~`` expanded) if a file can be written there; raise otherwise.

    Parameters
    ----------
    path : str or Path
        The file to be written. An existing file is overwritten.
    what : str
        How the message names it, e.g. ``"--plot"`` or ``"figure"``.
    suffixes : tuple of str, optional
        The suffixes (lower case, with the dot) the writer supports; empty means any.

    Raises
    ------
    LRFinderError
        If the path is a folder, has an unsupported suffix, its folder does not exist,
        or the file or its folder is not writable.
    """
    path = Path(path).expanduser()
    shown = str(path)
    if path.is_dir():
        raise LRFinderError(f"{what} {shown!r} is a folder; give a file name inside it")
    if suffixes and path.suffix.lower() not in suffixes:
        got = f"suffix {path.suffix!r}" if path.suffix else "no suffix"
        raise LRFinderError(
            f"{what} {shown!r} has {got}; use a file name ending in {', '.join(suffixes)}"
        )
    folder = path.parent
    if not folder.is_dir():
        raise LRFinderError(
            f"{what} {shown!r}: folder {str(folder)!r} does not exist; create it first or "
            "choose another path"
        )
    if path.exists() and not os.access(path, os.W_OK):
        raise LRFinderError(f"{what} {shown!r} is not writable; choose another path")
    if not path.exists() and not os.access(folder, os.W_OK):
        raise LRFinderError(
            f"{what} {shown!r}: folder {str(folder)!r} is not writable; choose another path"
        )
    return path


def write_json(data, path, what: str = "result") -> Path:
    """Write ``data`` to ``path`` as strict JSON (no NaN) and return the path.

    The one writer of lrfinder's JSON files (results, verifications, comparisons);
    an error names ``what`` and the file, in one line.
    """
    path = Path(path)
    text = json.dumps(data, indent=1, allow_nan=False)
    try:
        path.write_text(text + "\n", encoding="utf-8")
    except OSError as err:
        raise LRFinderError(f"cannot write {what} to {str(path)!r}: {err.strerror}") from None
    return path


@dataclass(frozen=True)
class OutputFailure:
    """An output that could not be written: which one, where, and why, in one line."""

    what: str
    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.what}: {self.message}"


def _message(err: BaseException, path: Path) -> str:
    if isinstance(err, LRFinderError):  # already names the file and the problem
        return " ".join(str(err).split())
    reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
    return f"cannot write {str(path)!r}: {' '.join(reason.split()) or type(err).__name__}"


def write_outputs(
    outputs: Iterable[tuple[str, Path | None, Callable[[Path], object]]],
    on_written: Callable[[str, Path], None] | None = None,
) -> list[OutputFailure]:
    """Write each output on its own and return the ones that failed.

    Parameters
    ----------
    outputs : iterable of (what, path, write)
        ``write(path)`` writes one output; entries whose ``path`` is None are skipped.
    on_written : callable, optional
        ``on_written(what, path)`` after each output that was written.

    Returns
    -------
    list of OutputFailure
        Empty when everything was written. A writer's :class:`LRFinderError` or
        :class:`OSError` (and any other error of a writer, such as matplotlib's) is
        caught here, so that one failed output never stops the others.
    """
    failures = []
    for what, path, write in outputs:
        if path is None:
            continue
        path = Path(path).expanduser()
        try:
            write(path)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as err:  # noqa: BLE001 - reported, and the next output is written
            failures.append(OutputFailure(what, path, _message(err, path)))
        else:
            if on_written is not None:
                on_written(what, path)
    return failures
