"""Run the teaching notebooks as a reader would and save them with their outputs.

The ``.py`` files in ``notebooks/`` are the sources (jupytext percent format); the
``.ipynb`` files are what a reader opens, and the repository page shows, so they are
committed *with* the outputs of a full run: its figures and printed numbers. Run this
after editing a source::

    python scripts/execute_notebooks.py [01_range_test ...]

It uses the full budget (``LRFINDER_NOTEBOOK_BUDGET=full``) and MNIST when it is found
(``$LRFINDER_DATA``, else ``../shared/data`` beside the repository), and runs the kernel
in this interpreter. The tests execute the notebooks again, fresh, at the small budget.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
CELL_TIMEOUT = 1800  # seconds per cell at the full budget


def execute(name: str) -> Path:
    notebook = jupytext.read(NOTEBOOK_DIR / f"{name}.py")
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    client.execute()
    for index, cell in enumerate(notebook.cells):  # keep the outputs, not the timings
        cell.metadata.pop("execution", None)
        cell.id = f"cell-{index}"  # the same on every run (jupytext draws random ones)
    notebook.metadata.pop("widgets", None)
    path = NOTEBOOK_DIR / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = sorted(p.stem for p in NOTEBOOK_DIR.glob("*.py"))
    parser.add_argument("names", nargs="*", default=default, help="notebooks to run")
    args = parser.parse_args()
    os.environ["LRFINDER_NOTEBOOK_BUDGET"] = "full"
    os.environ.setdefault("LRFINDER_DATA", str(ROOT.parent / "shared" / "data"))
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    for name in args.names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        print(f"wrote {execute(name)}")


if __name__ == "__main__":
    main()
