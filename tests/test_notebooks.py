"""The teaching notebooks: each runs top to bottom, and each .ipynb matches its .py source.

The notebooks are written as jupytext percent-format ``.py`` files (easy to review) and
shipped as ``.ipynb`` files with the outputs of a full run, so that their figures show on
the repository page. After editing a ``.py``, run::

    python scripts/execute_notebooks.py

Execution uses the small budget (``LRFINDER_NOTEBOOK_BUDGET=ci``: the bundled digits, fewer
repeats and steps) unless the variable is already set, so this file takes well under two
minutes. Set ``LRFINDER_NOTEBOOK_BUDGET=full`` to run them as a reader would.
"""

import ast
import importlib
import json
import os
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = (
    "01_range_test",
    "02_learning_rate_and_optimizers",
    "03_how_optimizers_move",
)
BUDGET_ENV = "LRFINDER_NOTEBOOK_BUDGET"
REGENERATE = "python scripts/execute_notebooks.py {}"
CELL_TIMEOUT = 300  # seconds per cell

#: What the notebooks may import: lrfinder's public API, numpy, matplotlib and os.
ALLOWED_MODULES = {"lrfinder", "numpy", "matplotlib", "os"}


def read_pair(name: str):
    return (
        jupytext.read(NOTEBOOK_DIR / f"{name}.py"),
        nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4),
    )


def test_every_notebook_is_listed():
    shipped = {p.stem for p in NOTEBOOK_DIR.glob("*.ipynb")}
    sources = {p.stem for p in NOTEBOOK_DIR.glob("*.py")}
    assert shipped == sources == set(NOTEBOOKS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_ipynb_matches_its_py_source(name):
    source, shipped = read_pair(name)
    cells = [(c.cell_type, c.source) for c in source.cells]
    assert cells == [(c.cell_type, c.source) for c in shipped.cells], (
        f"notebooks/{name}.ipynb is out of date; run: {REGENERATE.format(name)}"
    )
    assert shipped.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_ipynb_is_shipped_with_the_outputs_of_a_whole_run(name):
    _, shipped = read_pair(name)
    code = [cell for cell in shipped.cells if cell.cell_type == "code"]
    counts = [cell.execution_count for cell in code]
    assert counts == list(range(1, len(code) + 1)), (
        f"notebooks/{name}.ipynb was not run top to bottom; run: {REGENERATE.format(name)}"
    )
    outputs = [output for cell in code for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"], f"{name} holds an error"
    assert any("image/png" in o.get("data", {}) for o in outputs), f"{name} holds no figure"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_uses_only_the_public_api(name):
    tree = ast.parse((NOTEBOOK_DIR / f"{name}.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module]
            if node.module.split(".")[0] == "lrfinder":
                public = set(importlib.import_module(node.module).__all__)
                private = [a.name for a in node.names if a.name not in public]
                assert not private, f"{name} imports non-public {private} from {node.module}"
        else:
            continue
        for module in modules:
            assert module.split(".")[0] in ALLOWED_MODULES, f"{name} imports {module}"


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    """Run the kernel in this interpreter, whatever "python3" kernels the user has installed.

    Jupyter looks in ``JUPYTER_PATH`` before any other folder, so a kernelspec written there
    shadows a user-wide ``python3`` kernel that may point at another Python without lrfinder.
    """
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / "python3"
    spec.mkdir(parents=True)
    kernel = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (lrfinder tests)",
        "language": "python",
    }
    (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    return {
        "JUPYTER_PATH": os.pathsep.join(filter(None, [str(root), os.environ.get("JUPYTER_PATH")])),
        BUDGET_ENV: os.environ.get(BUDGET_ENV, "ci"),
    }


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_top_to_bottom(name, kernel_env, monkeypatch):
    for key, value in kernel_env.items():
        monkeypatch.setenv(key, value)  # the kernel process inherits the environment
    notebook = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails

    images = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if "image/png" in output.get("data", {})
    ]
    assert images, f"{name} showed no figure"
