"""Curves recorded elsewhere: the files people have, read correctly or refused in one line.

Every case writes its file into ``tmp_path``. The cases under "works today" passed before
the reader learnt the other formats and must keep passing; every other case is a format
that was refused or, worse, misread by the reader of commit e605aeb, which fails them.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from cli_run import run_cli
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lrfinder import RangeTestResult, load_result
from lrfinder.errors import LRFinderError

LRS = [0.001, 0.01, 0.1]
LOSSES = [2.3, 2.0, 1.5]


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode("utf-8"))  # no newline translation: CRLF stays CRLF
    return path


def refused(path: Path, *needles: str) -> str:
    """The file is refused in one line that names it and every needle."""
    with pytest.raises(LRFinderError) as info:
        load_result(path)
    message = str(info.value)
    assert "\n" not in message, message
    for needle in (str(path), *needles):
        assert needle in message, f"{needle!r} not in {message!r}"
    return message


def sweep(n: int = 120) -> tuple[list[float], list[float]]:
    """A range test's curve: falls fastest near 1e-3, bottoms out, blows up near 0.3."""
    lrs = np.logspace(-6, 1, n)
    x = np.log10(lrs)
    loss = 0.3 + 2.0 / (1 + np.exp((x + 3) / 0.4)) + 0.5 * np.exp((x + 0.5) / 0.15)
    return lrs.tolist(), loss.tolist()


# --------------------------------------------------------------------- works today


WORKS_TODAY = {
    "plain": "lr,loss\n0.001,2.3\n0.01,2.0\n0.1,1.5\n",
    "keras learning_rate": "epoch,loss,learning_rate\n0,2.3,0.001\n1,2.0,0.01\n2,1.5,0.1\n",
    "keras lr": "loss,lr\n2.3,0.001\n2.0,0.01\n1.5,0.1\n",
    "fastai": "lrs,losses\n0.001,2.3\n0.01,2.0\n0.1,1.5\n",
    "pandas index": ",lr,loss\n0,0.001,2.3\n1,0.01,2.0\n2,0.1,1.5\n",
    "capitals and a space": "Learning Rate,Loss\n0.001,2.3\n0.01,2.0\n0.1,1.5\n",
    "extra columns": "lr,smooth_loss,loss,accuracy\n0.001,2.2,2.3,0.1\n0.01,2.1,2.0,0.2\n"
    "0.1,1.6,1.5,0.3\n",
    "CRLF": "lr,loss\r\n0.001,2.3\r\n0.01,2.0\r\n0.1,1.5\r\n",
    "blank lines, spaces": "lr, loss\n\n 0.001, 2.3\n0.01 ,2.0\n\n0.1,1.5\n\n",
    "quoted header": '"lr","loss"\n0.001,2.3\n0.01,2.0\n0.1,1.5\n',
    "any two names": "rate,value\n0.001,2.3\n0.01,2.0\n0.1,1.5\n",
    "no header": "0.001,2.3\n0.01,2.0\n0.1,1.5\n",
    "lrfinder search --csv": "step,lr,loss\n0,0.001,2.3\n1,0.01,2.0\n2,0.1,1.5\n",
}


@pytest.mark.parametrize("content", WORKS_TODAY.values(), ids=WORKS_TODAY.keys())
def test_the_formats_that_worked_keep_working(tmp_path, content):
    result = load_result(write(tmp_path, "history.csv", content))
    assert result.lrs.tolist() == LRS
    assert result.losses.tolist() == LOSSES
    assert (result.slow_learner, result.cold_start_gain) == (False, 1.0)


def test_duplicate_rates_repeated_runs_and_nan_rows_keep_working(tmp_path):
    held = "lr,loss\n0.001,2.3\n0.001,2.2\n0.01,2.0\n0.01,1.9\n0.1,1.5\n"
    result = load_result(write(tmp_path, "held.csv", held))
    assert result.lrs.tolist() == [0.001, 0.001, 0.01, 0.01, 0.1]
    assert result.losses.tolist() == [2.3, 2.2, 2.0, 1.9, 1.5]
    runs = "step,run,lr,loss\n0,0,0.1,3\n1,0,0.2,2\n0,1,0.1,5\n1,1,0.2,4\n"
    result = load_result(write(tmp_path, "runs.csv", runs))
    assert result.n_runs == 2 and result.losses.tolist() == [4.0, 3.0]
    result = load_result(write(tmp_path, "nan.csv", "lr,loss\n0.001,2.3\n0.01,nan\n0.1,1.5\n"))
    assert np.isnan(result.losses[1]) and result.lrs.tolist() == LRS
    flat = "".join(f"{lr!r},2.3\n" for lr in np.logspace(-5, 0, 20).tolist())
    assert load_result(write(tmp_path, "flat.csv", flat)).losses.tolist() == [2.3] * 20


# --------------------------------------------------------- torch-lr-finder's history


def test_a_torch_lr_finder_history_saved_with_json_dump_is_a_curve(tmp_path):
    lrs, losses = sweep()
    losses[40] = math.nan  # json.dump writes NaN, and json reads it back
    path = tmp_path / "history.json"
    path.write_text(json.dumps({"lr": lrs, "loss": losses}))
    result = load_result(path)
    np.testing.assert_array_equal(result.lrs, lrs)
    np.testing.assert_array_equal(result.losses, losses)
    assert (result.slow_learner, result.cold_start_gain, result.n_runs) == (False, 1.0, 1)
    rows = "".join(f"{a!r},{b!r}\n" for a, b in zip(lrs, losses, strict=True))
    same = load_result(write(tmp_path, "history.csv", "lr,loss\n" + rows))
    assert same == RangeTestResult.from_curve(lrs, losses, settings=same.settings)
    assert result.suggestion is not None and same.suggestion == result.suggestion


def test_a_history_smoothed_during_the_test_is_unsmoothed_in_every_format(tmp_path):
    """torch-lr-finder's default history (EMA 0.95), as JSON, as fastai's names, as CSV."""
    fixture = Path(__file__).parent / "data" / "torch_lr_finder_history.json"
    history = json.loads(fixture.read_text())
    lrs, losses = history["lr"], history["loss"]
    rows = "".join(f"{a!r},{b!r}\n" for a, b in zip(lrs, losses, strict=True))
    paths = [
        fixture,
        write(tmp_path, "fastai.json", json.dumps({"lrs": lrs, "losses": losses})),
        write(tmp_path, "history.csv", "lr,loss\n" + rows),
    ]
    results = [load_result(path) for path in paths]
    for result in results:
        assert result.settings["presmoothed_beta"] == 0.95
        assert "un-smoothed" in result.note and "un-smoothed" in result.analysis.reason
        np.testing.assert_array_equal(result.losses, results[0].losses)
    as_given = load_result(paths[2], presmoothed=False)
    np.testing.assert_array_equal(as_given.losses, losses)
    assert as_given.note is None


@pytest.mark.parametrize(
    "data",
    [
        {"lrs": LRS, "losses": LOSSES},  # fastai's recorder attributes
        {"learning_rate": LRS, "loss": LOSSES, "smooth_f": 0.05},  # and a key of its own
    ],
)
def test_histories_with_other_key_names(tmp_path, data):
    path = tmp_path / "history.json"
    path.write_text(json.dumps(data))
    result = load_result(path)
    assert result.lrs.tolist() == LRS and result.losses.tolist() == LOSSES


@pytest.mark.parametrize(
    "content, needles",
    [
        ('{"train_loss": [1, 2]}', ["'lr' and 'loss' lists", "torch-lr-finder"]),
        ("[1, 2]", ["a JSON array", "'lr' and 'loss' lists"]),
        ('{"lr": [0.1, 0.2]}', ["'lr' and 'loss' lists"]),
        ('"lr,loss"', ["a JSON string", "'lr' and 'loss' lists"]),
        ('{"lr": [0.1, "fast"], "loss": [2, 1]}', ["'lr'", "item 1", "'fast'"]),
        ('{"lr": 0.1, "loss": [2, 1]}', ["'lr' must be a list of numbers"]),
        ('{"lr": [0.1, 0.2], "loss": [2, 1, 0.5]}', ["same length", "2 and 3"]),
        ("{not json", ["not valid JSON (line 1)", "'lr' and 'loss' lists"]),
    ],
)
def test_a_json_of_another_shape_is_refused_in_one_line(tmp_path, content, needles):
    message = refused(write(tmp_path, "other.json", content), *needles)
    assert "re-create" not in message and "another lrfinder" not in message


# ------------------------------------------------------------- delimited text files


def as_text(delimiter: str, header: str | None = "lr,loss", lrs=LRS, losses=LOSSES) -> str:
    lines = [] if header is None else [header.replace(",", delimiter)]
    lines += [f"{a!r}{delimiter}{b!r}" for a, b in zip(lrs, losses, strict=True)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "name, content",
    [
        ("semicolons.csv", as_text(";")),
        ("tabs.csv", as_text("\t")),
        ("tabs.tsv", as_text("\t")),
        ("tabs.txt", as_text("\t", header=None)),
        ("spaces.txt", as_text(" ")),
        ("excel-de.csv", "lr;loss\r\n0,001;2,3\r\n0,01;2\r\n0,1;1,5\r\n"),  # decimal commas
        ("bom.csv", "\ufeffloss,lr\r\n2.3,0.001\r\n2.0,0.01\r\n1.5,0.1\r\n"),  # Excel's CSV UTF-8
        ("bom-no-header.csv", "\ufeff" + as_text(",", header=None)),  # its first row stays
        ("quoted.csv", '"lr","loss"\n"0.001","2.3"\n"0.01","2.0"\n"0.1","1.5"\n'),
        ("quoted-semicolons.csv", '"lr";"loss"\n"0,001";"2,3"\n"0,01";"2,0"\n"0,1";"1,5"\n'),
        ("text-column.csv", "lr,loss,optimizer\n0.001,2.3,adam\n0.01,2.0,adam\n0.1,1.5,\n"),
        ("no-suffix", as_text(",")),
        ("history.dat", as_text(",", header="# lr,loss")),
    ],
)
def test_delimited_files_people_have(tmp_path, name, content):
    result = load_result(write(tmp_path, name, content))
    assert result.lrs.tolist() == LRS
    assert result.losses.tolist() == LOSSES


def test_excel_unicode_text_is_utf16_with_tabs(tmp_path):
    path = write(tmp_path, "excel.txt", as_text("\t").replace("\n", "\r\n").encode("utf-16"))
    assert load_result(path).lrs.tolist() == LRS


@pytest.mark.parametrize(
    "options",
    [
        dict(header="lr,loss"),  # '# lr,loss' above space-separated rows
        dict(header="lr,loss", delimiter=","),
        dict(header="lr loss"),
        dict(header="lr\tloss", delimiter="\t"),
        dict(header="step,lr,loss", delimiter=",", columns="step"),
        dict(header="lr,loss", delimiter=",", footer="recorded by hand"),
    ],
)
def test_numpy_savetxt_with_a_header(tmp_path, options):
    lrs, losses = sweep(30)
    columns = [lrs, losses]
    if options.pop("columns", None) == "step":
        columns = [list(range(30)), lrs, losses]
    path = tmp_path / "history.txt"
    np.savetxt(path, np.column_stack(columns), **options)
    assert path.read_text().startswith("# ")
    result = load_result(path)
    np.testing.assert_allclose(result.lrs, lrs, rtol=1e-15)
    np.testing.assert_allclose(result.losses, losses, rtol=1e-15)


def test_a_comment_that_names_no_columns_is_only_a_comment(tmp_path):
    path = write(tmp_path, "notes.txt", "# my run\n" + as_text(" ", header=None))
    assert load_result(path).lrs.tolist() == LRS


@pytest.mark.parametrize(
    "content, needles",
    [
        ("lr,loss\n0.1,abc\n", ["line 2 is not all numbers"]),
        ("lr,loss\n0.1,1,2\n", ["line 2 has 3 columns, expected 2"]),
        ("step,rate,value\n0,0.1,1\n", ["no 'lr' and 'loss' columns"]),
        ("lr,loss\n", ["no lr,loss rows"]),
        ("# just a comment\n", ["no lr,loss rows"]),
        ("0.1\n0.2\n", ["only one column", "';', a tab or spaces"]),
    ],
)
def test_broken_tables_are_refused_in_one_line(tmp_path, content, needles):
    refused(write(tmp_path, "bad.csv", content), *needles)


def test_a_file_that_is_not_text_says_how_to_save_it(tmp_path):
    path = write(tmp_path, "history.csv", b"lr,loss\n0.1,\xe9\n")
    refused(path, "not UTF-8", "CSV UTF-8")


# ------------------------------------------------------------------ header-less files


def test_a_headerless_loss_lr_file_is_refused_not_read_swapped(tmp_path):
    # it used to be read as lr = 2.3, 2.1, 2.2 ... with exit code 0
    path = write(tmp_path, "loss_lr.csv", "2.3,0.001\n2.1,0.01\n2.2,0.1\n")
    refused(path, "no header", "second column rises", "add a first line", "lr,loss")


@pytest.mark.parametrize(
    "content, needles",
    [
        ("0.001,2.3\n0.01,2.4\n0.1,2.5\n", ["both columns rise", "lr,loss"]),
        ("0.1,2.3\n0.01,2.0\n0.001,2.5\n", ["neither column rises", "lr,loss", "step column"]),
        ("0.1,2.3\n", ["neither column rises", "lr,loss"]),
        ("0,0.001,2.3\n1,0.01,2.0\n2,0.1,1.5\n", ["3 columns and no header", "step,lr,loss"]),
    ],
)
def test_headerless_files_are_read_only_when_the_lr_column_is_unambiguous(
    tmp_path, content, needles
):
    refused(write(tmp_path, "plain.csv", content), "no header", *needles)


# ------------------------------------------------------------------------ row order


def test_rows_whose_lr_falls_need_a_step_column(tmp_path):
    # sorted by loss in a spreadsheet: read in file order it was three stretches
    path = write(tmp_path, "sorted.csv", "lr,loss\n0.1,1.5\n0.01,2.0\n0.001,2.3\n")
    refused(path, "line 3", "the lr falls from 0.1 to 0.01", "sort the rows by lr", "step column")


def test_a_step_column_gives_the_order_of_the_rows(tmp_path):
    rows = "step,lr,loss\n2,0.1,1.5\n0,0.001,2.3\n1,0.01,2.0\n"
    result = load_result(write(tmp_path, "steps.csv", rows))
    assert result.lrs.tolist() == LRS and result.losses.tolist() == LOSSES
    # a zoom after the sweep keeps its place: the analysis reads it as its own stretch
    zoom = "step,lr,loss\n0,0.001,2.3\n1,0.01,2.0\n2,0.1,1.5\n3,0.005,1.9\n4,0.006,1.8\n"
    result = load_result(write(tmp_path, "zoom.csv", zoom))
    assert result.lrs.tolist() == [*LRS, 0.005, 0.006]


def test_a_step_twice_in_one_run_is_refused(tmp_path):
    path = write(tmp_path, "twice.csv", "step,lr,loss\n0,0.001,2.3\n1,0.01,2.0\n1,0.1,1.5\n")
    refused(path, "lines 3 and 4", "step 1", "once")


HEADERS = [None, "lr,loss", "loss,lr", "step,lr,loss", "Learning Rate,Loss,accuracy"]


def table(header, delimiter, rows):
    """``rows`` of ``(step, lr, loss)`` in the layout ``header`` names."""
    lines = [] if header is None else [header.replace(",", delimiter)]
    for step, lr, loss in rows:
        cells = {
            None: (lr, loss),
            "lr,loss": (lr, loss),
            "loss,lr": (loss, lr),
            "step,lr,loss": (step, lr, loss),
            "Learning Rate,Loss,accuracy": (lr, loss, 0.5),
        }[header]
        lines.append(delimiter.join(repr(c) for c in cells))
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    data=st.data(),
    header=st.sampled_from(HEADERS),
    delimiter=st.sampled_from([",", ";", "\t"]),
    rates=st.lists(st.integers(0, 40), min_size=1, max_size=12),
)
def test_any_permutation_of_the_rows_reads_to_the_same_curve_or_is_refused(
    data, header, delimiter, rates
):
    """The row order of a file without a step column is the order the rows were recorded in.

    So a permutation that lets the rate fall is refused in one line, and one that only moves
    rows of one held rate reads to the same rates, with the same losses at each (or, in a
    header-less file whose losses then rise too, is refused). With a step column the rows
    are put in step order: every permutation reads to the same result.
    """
    lrs = [10 ** (k / 10 - 5) for k in sorted(rates)]
    losses = data.draw(st.lists(st.floats(0.01, 10.0), min_size=len(lrs), max_size=len(lrs)))
    rows = list(zip(range(len(lrs)), lrs, losses, strict=True))
    order = data.draw(st.permutations(range(len(rows))))
    shuffled = [lrs[i] for i in order]
    falls = any(b < a for a, b in zip(shuffled, shuffled[1:], strict=False))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "curve.csv"
        path.write_text(table(header, delimiter, rows))
        try:
            base = load_result(path)
        except LRFinderError:
            assume(False)  # e.g. a header-less file whose losses happen to rise too
        path.write_text(table(header, delimiter, [rows[i] for i in order]))
        try:
            again = load_result(path)
        except LRFinderError as err:
            message = str(err)
            assert header != "step,lr,loss", message
            assert falls or header is None, message
            assert "\n" not in message and str(path) in message
            assert "sort the rows by lr" in message or "add a first line" in message
            return
    assert not falls or header == "step,lr,loss"
    if header == "step,lr,loss":
        assert again == base
    else:
        assert again.lrs.tolist() == base.lrs.tolist()
        for lr in set(lrs):
            at = base.lrs == lr
            assert sorted(again.losses[at]) == sorted(base.losses[at])


# ------------------------------------------------------------------------------ CLI


def invoke(*args):
    return run_cli(args)


def test_cli_analyzes_a_torch_history_and_plots_a_tsv(tmp_path):
    lrs, losses = sweep()
    history = tmp_path / "history.json"
    history.write_text(json.dumps({"lr": lrs, "loss": losses}))
    result = invoke("analyze", history, "-q")
    assert result.exit_code == 0, result.output
    assert 1e-4 < float(result.stdout) < 1e-1
    tsv = write(tmp_path, "history.tsv", as_text("\t", lrs=lrs, losses=losses))
    assert invoke("analyze", tsv, "-q").stdout == result.stdout
    out = tmp_path / "curve.png"
    plotted = invoke("plot", tsv, "-o", out)
    assert plotted.exit_code == 0, plotted.output
    assert out.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    "command, name, content, needles",
    [
        ("analyze", "loss_lr.csv", "2.3,0.001\n2.1,0.01\n2.2,0.1\n", ["add a first line"]),
        ("analyze", "other.json", '{"acc": [0.1]}', ["'lr' and 'loss' lists"]),
        ("plot", "sorted.csv", "lr,loss\n0.1,1.5\n0.01,2.0\n", ["sort the rows by lr"]),
    ],
)
def test_cli_refuses_an_unreadable_curve_with_exit_2_and_one_line(
    tmp_path, command, name, content, needles
):
    path = write(tmp_path, name, content)
    args = [command, path] + (["-o", tmp_path / "x.png"] if command == "plot" else [])
    result = invoke(*args)
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("lrfinder: error: "), result.stderr
    assert "Traceback" not in result.output and result.stdout == ""
    for needle in (name, *needles):
        assert needle in lines[0], lines[0]
