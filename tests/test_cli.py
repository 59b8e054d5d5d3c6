"""The ``lrfinder`` command line, end to end through its entry point (and a real process).

Every run uses digits with a short schedule and a small network, so the whole file
takes a few seconds. The fixtures live here, not in conftest.py.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_run import Outcome, run_cli

from lrfinder import cli
from lrfinder.errors import LRFinderError
from lrfinder.results import SCHEMA_VERSION, RangeTestResult, load_result

#: Small, fast settings: 100 rates from 1e-4 to 10 and 16 hidden units on digits. Twenty
#: steps per decade leave the analysis enough points to find a rate for every optimizer.
FAST = ["--num", "100", "--start", "1e-4", "--hidden", "16"]

MAGIC = {".png": b"\x89PNG\r\n\x1a\n", ".pdf": b"%PDF-"}


def invoke(args, **kwargs) -> Outcome:
    return run_cli(args, **kwargs)


def assert_image(path: Path) -> None:
    data = path.read_bytes()
    if path.suffix == ".svg":
        assert data.lstrip().startswith(b"<?xml") and b"<svg" in data[:2000]
    else:
        assert data.startswith(MAGIC[path.suffix]), data[:16]


def assert_bad_input(result, *needles: str) -> str:
    """Exit 2, exactly one line on stderr naming the input, nothing else, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("lrfinder: error: "), line
    assert "Traceback" not in result.output
    assert result.stdout == ""
    for needle in needles:
        assert needle in line, f"{needle!r} not in {line!r}"
    return line


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """One search whose --json, --csv and --plot files the other tests read."""
    folder = tmp_path_factory.mktemp("search")
    paths = {k: folder / f"run.{k}" for k in ("json", "csv", "png")}
    result = invoke(
        [
            "search",
            *FAST,
            "--json",
            paths["json"],
            "--csv",
            paths["csv"],
            "--plot",
            paths["png"],
        ]
    )
    assert result.exit_code == 0, result.output
    return result, paths


@pytest.fixture(scope="module")
def foreign_csv(tmp_path_factory) -> Path:
    """An lr,loss curve as another framework would record it (header, then rows)."""
    lrs = np.logspace(-6, 1, 120)
    x = np.log10(lrs)
    loss = 0.3 + 2.0 / (1 + np.exp((x + 3) / 0.4)) + 0.5 * np.exp((x + 0.5) / 0.15)
    path = tmp_path_factory.mktemp("foreign") / "history.csv"
    rows = "\n".join(f"{a!r},{b!r}" for a, b in zip(lrs.tolist(), loss.tolist(), strict=True))
    path.write_text("lr,loss\n" + rows + "\n")
    return path


# --------------------------------------------------------------------------- help


def test_help_lists_every_command():
    result = invoke(["--help"])
    assert result.exit_code == 0
    for command in ("search", "analyze", "plot", "compare"):
        assert command in result.stdout


def test_version_short_help_and_python_dash_m():
    from lrfinder import __version__

    assert invoke(["--version"]).stdout == f"lrfinder {__version__}\n"
    assert invoke(["-h"]).stdout == invoke(["--help"]).stdout
    assert "Usage: lrfinder search [OPTIONS]" in invoke(["search", "-h"]).stdout
    out = subprocess.run(
        [sys.executable, "-m", "lrfinder", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0 and out.stdout.strip() == f"lrfinder {__version__}"


def test_help_reads_well():
    top = invoke(["--help"]).stdout
    assert "..." not in top.split("Commands:")[1]  # each command's whole first line
    for command in ("search", "compare", "verify", "analyze", "plot"):
        text = invoke([command, "--help"]).stdout
        usage = text.splitlines()[0]
        assert "{" not in usage, usage
        options = text.split("Options:")[1]
        assert "<" not in options.replace("<reason>", ""), (command, options)
    assert "--optimizer NAME" in invoke(["search", "--help"]).stdout
    assert "Usage: lrfinder analyze [OPTIONS] RESULT" in invoke(["analyze", "--help"]).stdout


def test_no_arguments_prints_help():
    result = invoke([])
    assert result.exit_code == 0
    assert "search" in result.stdout


@pytest.mark.parametrize("command", ["search", "analyze", "plot", "compare"])
def test_each_command_has_help(command):
    result = invoke([command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.stdout


def test_choices_and_documented_defaults_match_the_library():
    from lrfinder import rangetest
    from lrfinder.analysis import METHODS
    from lrfinder.network import ACTIVATIONS
    from lrfinder.optimizers import OPTIMIZERS

    assert [o.value for o in cli.OptimizerName] == list(OPTIMIZERS)
    assert [a.value for a in cli.Activation] == list(ACTIVATIONS)
    assert [m.value for m in cli.Method] == list(METHODS)
    text = " ".join(invoke(["search", "--help"]).stdout.split())
    assert f"[default: {rangetest.DEFAULT_START:g}]" in text
    assert f"[default: {rangetest.DEFAULT_END:g}]" in text
    assert f"[default: {rangetest.DEFAULT_NUM}]" in text
    assert f"[default: {rangetest.DEFAULT_STOP_FACTOR:g}]" in text


def test_importing_the_cli_loads_no_heavy_library():
    code = (
        "import sys, lrfinder.cli; "
        "print(sorted(m for m in ('matplotlib', 'scipy', 'sklearn', 'rich') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- search


def test_search_prints_the_answer_first_then_the_tables(saved):
    result, _ = saved
    out = result.stdout
    for needle in ("Suggestion", "band", "steepest descent", "minimum loss", "divergence"):
        assert needle in out
    for method in cli.Method:
        assert method.value in out
    assert "stop reason" in out
    first = out.splitlines()[0]
    assert first.startswith("suggested lr ") and first.endswith(" for sgd on digits")
    assert "(band " in first
    assert out.index("suggested lr") < out.index("Suggestion")
    assert "see why above" in out  # auto's "why" is in the first table only
    second = out.splitlines()[1]
    assert second.startswith("train with: one_cycle(max_lr=") and "total_steps=66)" in second


def test_search_json_follows_the_schema(saved):
    _, paths = saved
    data = json.loads(paths["json"].read_text())
    expected = {
        "schema",
        "lrs",
        "losses",
        "run_losses",
        "stop_reason",
        "stop_reasons",
        "settings",
        "val_steps",
        "val_losses",
        "suggestion",
    }
    assert expected <= set(data)
    assert data["schema"] == SCHEMA_VERSION
    n = len(data["lrs"])
    assert 10 < n <= 100
    assert len(data["losses"]) == n and len(data["run_losses"]) == 1
    assert data["settings"]["optimizer"] == "sgd"
    assert data["settings"]["planned_steps"] == 100
    assert data["settings"]["data"] == "digits"
    suggestion = data["suggestion"]
    assert {"lr", "band", "method", "reason", "landmarks"} <= set(suggestion)
    assert set(suggestion["landmarks"]) == {"fall_start", "steepest", "minimum", "divergence"}
    assert suggestion["lr"] is not None and suggestion["lr"] > 0


def test_search_json_reloads_to_the_same_suggestion(saved):
    result, paths = saved
    reloaded = load_result(paths["json"])
    assert f"suggested lr {reloaded.suggestion:.3g} " in result.stdout.splitlines()[0]


def test_search_csv_has_step_lr_loss_rows(saved):
    _, paths = saved
    comment, *lines = paths["csv"].read_text().splitlines()
    data = json.loads(paths["json"].read_text())
    prefix = "# lrfinder settings: "
    assert comment.startswith(prefix)  # what the analysis reads besides the curve
    carried = json.loads(comment[len(prefix) :])
    assert carried["optimizer"] == data["settings"]["optimizer"] == "sgd"
    assert carried["momentum_lag"] == 0.0
    assert lines[0] == "step,lr,loss"
    rows = np.array([[float(c) for c in line.split(",")] for line in lines[1:]])
    assert rows.shape == (len(data["lrs"]), 3)
    np.testing.assert_array_equal(rows[:, 0], np.arange(len(rows)))
    np.testing.assert_array_equal(rows[:, 1], data["lrs"])
    np.testing.assert_array_equal(rows[:, 2], data["losses"])


def test_search_plot_is_a_png(saved):
    _, paths = saved
    assert_image(paths["png"])


def test_search_quiet_prints_only_the_number():
    result = invoke(["search", *FAST, "--optimizer", "adam", "--quiet"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert float(lines[0]) > 0


def test_search_repeats_write_one_csv_block_per_run(tmp_path):
    csv = tmp_path / "runs.csv"
    out = tmp_path / "runs.json"
    result = invoke(["search", *FAST, "--repeats", "2", "--csv", csv, "--json", out, "-q"])
    assert result.exit_code == 0, result.output
    comment, *lines = csv.read_text().splitlines()
    assert comment.startswith("# lrfinder settings: ")
    assert lines[0] == "step,run,lr,loss"
    runs = {int(line.split(",")[1]) for line in lines[1:]}
    assert runs == {0, 1}
    assert len(json.loads(out.read_text())["run_losses"]) == 2


def test_search_segments_schedule(tmp_path):
    out = tmp_path / "seg.json"
    result = invoke(
        ["search", "--hidden", "16", "--segments", "1e-3:1e-3:2,1e-2:1e-2:2", "--json", out, "-q"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    # 10 rates of the first decade and 9 new ones of the second, two steps each
    assert data["settings"]["planned_steps"] == 38
    assert data["lrs"][:4] == [1e-3, 1e-3, 2e-3, 2e-3]


def test_search_linear_mode(tmp_path):
    out = tmp_path / "lin.json"
    args = ["search", "--hidden", "16", "--mode", "linear", "--start", "0.01", "--end", "1"]
    result = invoke([*args, "--num", "40", "--json", out, "-q"])
    assert result.exit_code == 0, result.output
    lrs = np.array(json.loads(out.read_text())["lrs"])
    assert lrs[0] == pytest.approx(0.01)
    np.testing.assert_allclose(np.diff(lrs), 0.99 / 39)


def test_search_on_a_users_npz_file(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    path = tmp_path / "mine.npz"
    np.savez(path, x=x, y=y)
    result = invoke(["search", "--dataset", path, *FAST, "--batch-size", "32", "-q"])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1


def test_search_per_epoch_and_zoom_into_a_first_run(tmp_path):
    per_epoch = tmp_path / "epochs.json"
    args = ["search", "--dataset", "double-arc", "--hidden", "8", "--segments", "1e-2:1e-2:2"]
    result = invoke([*args, "--per", "epoch", "--json", per_epoch, "-q"])
    assert result.exit_code == 0, result.output
    saved = load_result(per_epoch)
    assert saved.settings["per"] == "epoch" and saved.val_steps is not None
    first, zoomed = tmp_path / "first.json", tmp_path / "zoomed.json"
    assert invoke(["search", "--optimizer", "adam", "--json", first, "-q"]).exit_code == 0
    result = invoke(["search", "--optimizer", "adam", "--zoom", first, "--json", zoomed, "-q"])
    assert result.exit_code == 0, result.output
    band = load_result(first).analysis.suggestion.band
    assert load_result(zoomed).lrs[0] == pytest.approx(band[0])
    assert "linear(" in load_result(zoomed).settings["schedule"]
    wrong = invoke(["search", "--zoom", first])  # sgd, but the first run was adam's
    assert_bad_input(wrong, "--zoom", "adam", "--optimizer adam")


def test_ctrl_c_saves_the_partial_result_to_the_json_path(tmp_path, monkeypatch):
    interrupt_after(monkeypatch, 25)
    out = tmp_path / "partial.json"
    result = invoke(["search", *FAST, "--json", out])
    assert result.exit_code == 130
    assert "interrupted" in result.stderr and str(out) in result.stderr
    assert "Traceback" not in result.output
    saved = load_result(out)
    assert saved.lrs.size == 25
    assert saved.stop_reason.startswith("interrupted")


def test_ctrl_c_without_json_saves_in_the_current_folder(tmp_path, monkeypatch):
    interrupt_after(monkeypatch, 10)
    monkeypatch.chdir(tmp_path)
    result = invoke(["search", *FAST, "--quiet"])
    assert result.exit_code == 130
    written = list(tmp_path.glob("lrfinder-interrupted-*.json"))
    assert len(written) == 1
    assert written[0].name in result.stderr
    assert load_result(written[0]).lrs.size > 0


def test_compare_trains_with_the_schedule_asked_for(tmp_path):
    runs = {}
    for kind in ("constant", "onecycle"):
        out = tmp_path / f"{kind}.json"
        args = ["compare", "--optimizer", "adam", "--epochs", "1", "--schedule", kind, *FAST]
        result = invoke([*args, "--json", out, "-q"])
        assert result.exit_code == 0, result.output
        runs[kind] = json.loads(out.read_text())["optimizers"][0]
    assert runs["constant"]["train_schedule"] == "constant"
    assert runs["constant"]["peak_lr"] == runs["constant"]["lr"]
    assert runs["onecycle"]["trained_with"].startswith("one_cycle(max_lr=")
    assert runs["onecycle"]["peak_lr"] > runs["onecycle"]["lr"]


def test_ctrl_c_during_compare_saves_the_optimizers_that_finished(tmp_path, monkeypatch):
    interrupt_after(monkeypatch, 200)  # in adam's range test: sgd took 100 + 22 steps
    out = tmp_path / "partial.json"
    args = ["compare", "--optimizer", "sgd", "--optimizer", "adam", "--epochs", "1", *FAST]
    result = invoke([*args, "--json", out])
    assert result.exit_code == 130
    assert result.stderr.splitlines() == [
        f"lrfinder: interrupted; the optimizers that had finished (sgd) are in {out}"
    ]
    saved = json.loads(out.read_text())
    assert [run["optimizer"] for run in saved["optimizers"]] == ["sgd"]
    assert saved["optimizers"][0]["final_accuracy"] is not None
    assert saved["settings"]["interrupted"] == "interrupted after 1 of 2 optimizers"


def test_ctrl_c_at_once_during_compare_saves_an_empty_comparison(tmp_path, monkeypatch):
    interrupt_after(monkeypatch, 10)
    monkeypatch.chdir(tmp_path)
    result = invoke(["compare", "--optimizer", "adam", *FAST])
    assert result.exit_code == 130
    (written,) = tmp_path.glob("lrfinder-compare-interrupted-*.json")
    assert "(none)" in result.stderr and written.name in result.stderr
    assert json.loads(written.read_text())["optimizers"] == []


def interrupt_after(monkeypatch, calls: int) -> None:
    """Press Ctrl-C during training step ``calls``."""
    from lrfinder.network import TwoLayerNet

    original = TwoLayerNet.loss_and_grads
    count = {"n": 0}

    def loss_and_grads(self, x, y):
        count["n"] += 1
        if count["n"] > calls:
            raise KeyboardInterrupt
        return original(self, x, y)

    monkeypatch.setattr(TwoLayerNet, "loss_and_grads", loss_and_grads)


def test_unexpected_errors_exit_1_with_one_line(monkeypatch):
    import lrfinder.rangetest

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(lrfinder.rangetest, "find_lr", broken)
    monkeypatch.delenv(cli.DEBUG_ENV, raising=False)
    result = invoke(["search", *FAST])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"lrfinder: error: RuntimeError: boom (set {cli.DEBUG_ENV}=1 to see the traceback)"
    ]
    monkeypatch.setenv(cli.DEBUG_ENV, "1")
    result = invoke(["search", *FAST])
    assert isinstance(result.exception, RuntimeError)


def test_a_failed_output_loses_none_of_the_others(tmp_path):
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full (a device on which every write fails)")
    plot = tmp_path / "ok.png"
    result = invoke(["search", *FAST, "--json", "/dev/full", "--plot", plot])
    assert result.exit_code == 2
    assert result.stdout.startswith("suggested lr ")  # the answer, first
    assert "Suggestion" in result.stdout  # and the tables
    assert_image(plot)  # the other output is written
    errors = result.stderr.splitlines()
    assert len(errors) == 1 and errors[0].startswith("lrfinder: error: --json: ")
    assert "/dev/full" in errors[0] and "space" in errors[0].lower()


def test_a_failed_plot_still_prints_the_tables_and_writes_the_json(tmp_path, monkeypatch):
    import lrfinder.plotting

    def broken(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(lrfinder.plotting, "plot_result", broken)
    saved_json = tmp_path / "ok.json"
    result = invoke(["search", *FAST, "--plot", tmp_path / "lr.png", "--json", saved_json])
    assert result.exit_code == 2
    assert "Suggestion" in result.stdout and f"wrote {saved_json}" in result.stdout
    assert load_result(saved_json).suggestion is not None
    assert result.stderr.splitlines() == [
        f"lrfinder: error: --plot: cannot write {str(tmp_path / 'lr.png')!r}: Read-only file system"
    ]


# --------------------------------------------------------------------------- analyze / plot


def test_analyze_a_saved_json_matches_the_search(saved):
    search_result, paths = saved
    result = invoke(["analyze", paths["json"]])
    assert result.exit_code == 0, result.output
    assert "Suggestion" in result.stdout and "stop reason" in result.stdout
    assert "imported curve" not in result.stdout  # find_lr recorded its optimizer
    first = result.stdout.splitlines()[0]
    assert search_result.stdout.splitlines()[0] == first + " on digits"  # analyze knows no data


def test_analyze_reads_the_csv_that_search_wrote(saved):
    _, paths = saved
    from_json = invoke(["analyze", paths["json"], "-q"])
    from_csv = invoke(["analyze", paths["csv"], "-q"])
    assert from_csv.exit_code == 0, from_csv.output
    assert from_csv.stdout == from_json.stdout


def test_a_csv_export_reads_back_to_the_suggestion_of_its_json(tmp_path):
    """The CSV carries the optimizer, its momentum lag and cold-start gain: an Adam search's
    CSV analysed again gives the JSON's answer, not one read without the lag."""
    paths = {k: tmp_path / f"run.{k}" for k in ("json", "csv")}
    search = invoke(
        ["search", "--optimizer", "adam", "-q", "--json", paths["json"], "--csv", paths["csv"]]
    )
    assert search.exit_code == 0, search.output
    from_csv = invoke(["analyze", paths["csv"], "-q"])
    assert from_csv.exit_code == 0, from_csv.output
    assert from_csv.stdout == invoke(["analyze", paths["json"], "-q"]).stdout == search.stdout
    result = load_result(paths["csv"])
    assert result.settings["optimizer"] == "adam" and result.settings["momentum_lag"] > 0
    words = " ".join(invoke(["analyze", paths["csv"]]).stdout.replace("│", " ").split())
    assert cli.IMPORTED_OPTIMIZER_NOTE[:40] not in words  # the optimizer is known


def test_analyze_momentum_reads_an_imported_curve_back_by_its_lag(saved):
    _, paths = saved
    plain = invoke(["analyze", paths["csv"], "-q"])
    told = invoke(["analyze", paths["csv"], "-q", "--momentum", "0.9"])
    assert told.exit_code == 0, told.output
    expected = load_result(paths["csv"]).suggest(momentum_lag=9.0).lr
    assert float(told.stdout) == pytest.approx(expected, rel=1e-5)
    assert float(told.stdout) < float(plain.stdout)
    full = invoke(["analyze", paths["csv"], "--momentum", "0.9"])
    words = " ".join(full.stdout.replace("│", " ").split())  # the reason, unwrapped
    assert "9 steps old on average" in words


@pytest.mark.parametrize("command", ["analyze", "plot"])
def test_a_curve_whose_answer_hangs_on_an_unknown_momentum_asks_for_it(tmp_path, command):
    """A 100-step torch-lr-finder history: without and with momentum 0.9 the answers lie
    outside each other's band, so printing either would be a guess; --momentum settles it."""
    history = Path(__file__).parent / "data" / "torch_lr_finder_history.json"
    figure = tmp_path / "lr.png"
    extra = ["-o", figure] if command == "plot" else ["-q"]
    line = assert_bad_input(invoke([command, history, *extra]), str(history), "--momentum 0.9")
    assert "does not say" in line and "--momentum 0 " in line
    assert not figure.exists()
    for beta in ("0", "0.9"):
        told = invoke([command, history, *extra, "--momentum", beta])
        assert told.exit_code == 0, told.output
    if command == "analyze":
        plain = invoke([command, history, *extra, "--momentum", "0"])
        assert float(told.stdout) < float(plain.stdout)


@pytest.mark.parametrize("beta", ["1", "-0.5"])
def test_analyze_refuses_a_momentum_outside_0_1(saved, beta):
    _, paths = saved
    assert_bad_input(invoke(["analyze", paths["csv"], "--momentum", beta]), "--momentum", "[0, 1)")


@pytest.mark.parametrize("method", [m.value for m in cli.Method])
def test_analyze_quiet_with_each_method(saved, method):
    _, paths = saved
    result = invoke(["analyze", paths["json"], "--method", method, "-q"])
    assert result.exit_code == 0, result.output
    expected = load_result(paths["json"]).suggest(method).lr
    line = result.stdout.strip()
    if expected is None:
        assert line.startswith("none: ")
    else:
        assert float(line) == pytest.approx(expected, rel=1e-5)


def test_analyze_a_csv_from_another_framework(foreign_csv):
    result = invoke(["analyze", foreign_csv])
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert first.startswith("suggested lr ") and " for " not in first
    # its optimizer is unknown, and the output says what that turns off
    words = " ".join(result.stdout.replace("│", " ").split())
    assert "unknown (an imported curve)" in words and "give --momentum 0.9" in words
    told = invoke(["analyze", foreign_csv, "--momentum", "0.9"])
    assert "give --momentum" not in " ".join(told.stdout.replace("│", " ").split())
    lr = float(invoke(["analyze", foreign_csv, "-q"]).stdout)
    assert 1e-4 < lr < 1e-1  # the curve falls fastest at 1e-3 and blows up near 0.3


def test_search_with_a_linear_schedule_reads_the_fall():
    # it used to say "flat": the noise was measured on the uneven spacing of the rates
    result = invoke(["search", "--mode", "linear", "-q"])
    assert result.exit_code == 0, result.output
    assert float(result.stdout.strip()) > 0


def test_analyze_says_when_the_curve_is_ambiguous(tmp_path):
    x = np.log10(np.logspace(-7, 1, 400))
    loss = 0.4 + 1.9 / (1 + np.exp((x + 4.5) / 0.2)) + 0.8 * np.exp(-(((x + 2.5) / 0.4) ** 2))
    loss = loss + 0.5 * np.exp((x + 0.3) / 0.1)  # two good regions, a hump between them
    path = tmp_path / "two.csv"
    path.write_text(
        "lr,loss\n" + "".join(f"{10**a:.17g},{b:.17g}\n" for a, b in zip(x, loss, strict=True))
    )
    result = invoke(["analyze", path])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.replace("│", " ").split())  # the table's cells wrap
    assert "caution" in text and "2 separate good regions" in text
    assert result.stdout.splitlines()[0].endswith("; the curve is ambiguous, see why below")


def test_analyze_reports_no_suggestion_for_a_flat_curve(tmp_path):
    path = tmp_path / "flat.csv"
    path.write_text("\n".join(f"{lr!r},2.3" for lr in np.logspace(-5, 0, 50).tolist()) + "\n")
    result = invoke(["analyze", path, "-q"])
    assert result.exit_code == 0
    assert result.stdout.startswith("none: ")


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_plot_writes_a_valid_image(saved, tmp_path, suffix):
    _, paths = saved
    out = tmp_path / f"figure{suffix}"
    result = invoke(["plot", paths["json"], "-o", out])
    assert result.exit_code == 0, result.output
    assert_image(out)


def test_plot_accepts_a_foreign_csv(foreign_csv, tmp_path):
    out = tmp_path / "curve.png"
    result = invoke(["plot", foreign_csv, "--output", out, "--method", "valley"])
    assert result.exit_code == 0, result.output
    assert_image(out)


# --------------------------------------------------------------------------- compare


def test_compare_two_optimizers(tmp_path):
    out, fig = tmp_path / "cmp.json", tmp_path / "cmp.svg"
    args = ["compare", "--optimizer", "sgd", "--optimizer", "adam", "--epochs", "2"]
    args += [*FAST, "--target", "0.5", "--json", out, "--plot", fig]
    result = invoke(args)
    assert result.exit_code == 0, result.output
    for needle in ("sgd", "adam", "epoch 1", "epoch 2", "steps to 50%", "final acc"):
        assert needle in result.stdout
    assert "fastest to 50% validation accuracy" in result.stdout
    assert_image(fig)
    data = json.loads(out.read_text())
    assert data["target"] == 0.5 and data["epochs"] == 2
    assert [o["optimizer"] for o in data["optimizers"]] == ["sgd", "adam"]
    for entry in data["optimizers"]:
        assert entry["lr"] > 0
        assert [e["epoch"] for e in entry["epochs"]] == [1, 2]
        assert 0 <= entry["final_accuracy"] <= 1
        assert entry["steps_to_target"] is None or entry["steps_to_target"] > 0


def test_compare_quiet_one_line_per_optimizer():
    args = ["compare", "--optimizer", "rmsprop", "--optimizer", "momentum", "--epochs", "1"]
    result = invoke([*args, *FAST, "-q"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["rmsprop", "momentum"]
    for line in lines:
        name, lr, steps, accuracy = line.split()
        assert float(lr) > 0 and 0 <= float(accuracy) <= 1


def test_compare_library_uses_the_same_initial_weights():
    from lrfinder.compare import compare_optimizers
    from lrfinder.datasets import load_dataset
    from lrfinder.schedules import LearningRateSearcher

    data = load_dataset("digits")
    schedule = LearningRateSearcher.exponential(1e-5, 10, 60)
    one = compare_optimizers(data, ["adam"], n_hidden=16, epochs=1, schedule=schedule)
    two = compare_optimizers(data, ["sgd", "adam"], n_hidden=16, epochs=1, schedule=schedule)
    a, b = one.runs[0], two.runs[1]
    assert a.lr == b.lr
    np.testing.assert_array_equal(a.history.val_accuracy, b.history.val_accuracy)
    # the history starts at step 0 (before training) and ends on the epoch boundary
    assert a.history.steps[0] == 0 and a.epoch_steps[-1] == a.history.steps[-1]


# --------------------------------------------------------------------------- real process


def test_console_script_end_to_end(tmp_path):
    exe = shutil.which("lrfinder")
    if exe is None:
        pytest.skip("the lrfinder console script is not installed")
    env = {**os.environ, "COLUMNS": "120"}
    env.pop(cli.DEBUG_ENV, None)
    out = tmp_path / "run.json"
    ok = subprocess.run(
        [exe, "search", *FAST, "--json", str(out), "-q"], capture_output=True, text=True, env=env
    )
    assert ok.returncode == 0, ok.stderr
    assert math.isfinite(float(ok.stdout))
    assert load_result(out).settings["optimizer"] == "sgd"
    bad = subprocess.run(
        [exe, "search", "--segments", "1e-4:x:10"], capture_output=True, text=True, env=env
    )
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("lrfinder: error: --segments: segment 1 '1e-4:x:10': STEP")


# --------------------------------------------------------------------------- bad input


def _bad_files(folder: Path) -> dict[str, Path]:
    """Broken data and result files, written once per test into ``folder``."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 3))
    files = {}
    files["corrupt.npz"] = folder / "corrupt.npz"
    files["corrupt.npz"].write_bytes(b"PK\x03\x04 this is not a zip archive")
    files["nan.csv"] = folder / "nan.csv"
    rows = [f"{a},{b},{c},{i % 2}" for i, (a, b, c) in enumerate(x)]
    rows[5] = "0.1,nan,0.3,1"
    files["nan.csv"].write_text("\n".join(rows) + "\n")
    files["mismatch.npz"] = folder / "mismatch.npz"
    np.savez(files["mismatch.npz"], x=x, y=np.arange(39) % 2)
    files["labels.npz"] = folder / "labels.npz"
    np.savez(files["labels.npz"], x=x, y=np.array([0, 2, 5, 7] * 10))
    files["corrupt.json"] = folder / "corrupt.json"
    files["corrupt.json"].write_text('{"schema": 1, "lrs": [0.1, ')
    files["wrong.json"] = folder / "wrong.json"
    files["wrong.json"].write_text('{"schema": 1, "lrs": [0.1]}')
    files["text.csv"] = folder / "text.csv"
    files["text.csv"].write_text("lr,loss\n1e-4,2.3\n1e-3,two point one\n")
    files["empty"] = folder / "empty"
    files["empty"].mkdir()
    files["one_row.csv"] = folder / "one_row.csv"
    files["one_row.csv"].write_text("x1,x2,y\n1,2,0\n")
    files["ragged.csv"] = folder / "ragged.csv"
    files["ragged.csv"].write_text("1,2,0\n3,4\n5,6,1\n")
    files["image.json"] = folder / "image.json"
    files["image.json"].write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    files["negative.json"] = folder / "negative.json"
    files["negative.json"].write_text(
        json.dumps(
            {
                "schema": SCHEMA_VERSION,
                "lrs": [-1e-7, 1e-6, 1e-5],
                "losses": [2.3, 2.2, 2.1],
                "run_losses": [[2.3, 2.2, 2.1]],
                "stop_reason": "completed the schedule",
                "stop_reasons": ["completed the schedule"],
                "settings": {},
                "slow_learner": False,
                "cold_start_gain": 1.0,
            }
        )
    )
    return files


#: (arguments, words the one-line message must contain). ``{name}`` is a file from
#: :func:`_bad_files`; ``{tmp}`` is the test's temporary folder.
BAD_INPUTS = [
    # schedules
    (["search", "--segments", ""], ["segment spec is empty"]),
    (["search", "--segments", "1e-4:1e-4"], ["--segments", "START:STEP:ITERS[:END]"]),
    (["search", "--segments", "1e-4:1e-4:10:1:5"], ["--segments", "START:STEP:ITERS[:END]"]),
    (["search", "--segments", "abc:1e-4:10"], ["--segments", "START must be a number"]),
    (["search", "--segments", "1e-4:1e-4:2.5"], ["--segments", "ITERS must be a whole number"]),
    (["search", "--segments", "1e-4:1e-4:0"], ["--segments", "iterations must be"]),
    (["search", "--segments", "1e-4:0:10"], ["--segments", "step must be a finite number > 0"]),
    (["search", "--segments", "1e-2:1e-3:10:1e-3"], ["--segments", "end must be >= start"]),
    (["search", "--segments", "1e-4:1e-4:10,,1e-3:1e-3:10"], ["--segments", "segment 2"]),
    (["search", "--segments", "1e-4:1e-4:10", "--start", "1e-5"], ["--segments", "--start"]),
    (["search", "--start", "-1"], ["--start", "> 0"]),
    (["search", "--start", "0"], ["--start", "> 0"]),
    (["search", "--end", "nan"], ["--end", "> 0"]),
    (["search", "--start", "1e-2", "--end", "1e-3"], ["--start/--end", "end must be > start"]),
    (["search", "--num", "1"], ["--num"]),
    (["search", "--num", "many"], ["--num"]),
    (["search", "--num", "100000000"], ["--num", "1,000,000", "fewer rates"]),
    (["search", "--seed", "-1"], ["--seed", "greater than or equal to 0"]),
    (["search", "--mode", "cosine"], ["--mode", "exp", "linear"]),
    # model, optimizer and run control
    (["search", "--optimizer", "nesterov"], ["--optimizer", "adam"]),
    (["search", "--activation", "swish"], ["--activation", "relu"]),
    (["search", "--hidden", "0"], ["--hidden"]),
    (["search", "--batch-size", "0"], ["--batch-size"]),
    (["search", "--repeats", "0"], ["--repeats"]),
    (["search", "--stop-factor", "1"], ["--stop-factor", "> 1"]),
    (["search", "--method", "median"], ["--method", "valley"]),
    (["search", "--no-such-option"], ["--no-such-option"]),
    # data
    (["search", "--dataset", "imagenet"], ["--dataset", "unknown dataset", "digits"]),
    (["search", "--dataset", "{tmp}/missing.npz"], ["--dataset", "does not exist"]),
    (["search", "--dataset", "{corrupt.npz}"], ["--dataset", "not a readable .npz"]),
    (["search", "--dataset", "{nan.csv}"], ["--dataset", "NaN"]),
    (["search", "--dataset", "{mismatch.npz}"], ["--dataset", "40 rows", "39"]),
    (["search", "--dataset", "{labels.npz}"], ["--dataset", "0..k-1"]),
    (
        ["search", "--dataset", "mnist", "--data-dir", "{empty}", "--no-download"],
        ["--dataset", "mnist", "--data-dir"],
    ),
    (["search", "--n-samples", "0"], ["--n-samples"]),
    (["search", "--dataset", "{one_row.csv}"], ["--dataset", "1 row of data", "at least 3"]),
    (["search", "--dataset", "{ragged.csv}"], ["--dataset", "line 2 has 2 values", "line 1"]),
    # output paths, checked before any training
    (["search", "--json", "{tmp}/no/such/folder/run.json"], ["--json", "does not exist"]),
    (["search", "--csv", "{tmp}/no/such/folder/run.csv"], ["--csv", "does not exist"]),
    (["search", "--plot", "{tmp}/curve.txt"], ["--plot", ".png"]),
    (["search", "--json", "{empty}"], ["--json", "is a folder"]),
    # analyze and plot
    (["analyze", "{tmp}/missing.json"], ["missing.json", "does not exist"]),
    (["analyze", "{corrupt.json}"], ["corrupt.json", "not valid JSON"]),
    (["analyze", "{wrong.json}"], ["wrong.json", "losses"]),
    (["analyze", "{text.csv}"], ["text.csv", "line 3", "lr,loss"]),
    (["analyze"], ["RESULT"]),
    (["analyze", "{text.csv}", "--method", "best"], ["--method"]),
    (["analyze", "{empty}"], ["is a folder"]),
    (["analyze", "{image.json}"], ["image.json", "is a PNG image", "--json"]),
    (["analyze", "{negative.json}"], ["negative.json", "lrs[0] = -1e-07", "positive"]),
    (["plot", "{corrupt.json}", "-o", "{tmp}/fig.png"], ["corrupt.json"]),
    (["plot", "{text.csv}", "-o", "{tmp}/no/such/fig.png"], ["--output", "does not exist"]),
    (["plot", "{text.csv}", "-o", "{tmp}/fig.jpg"], ["--output", ".png"]),
    (["plot", "{text.csv}"], ["--output"]),
    # compare
    (["compare", "--optimizer", "lbfgs"], ["--optimizer", "sgd"]),
    (["compare", "--target", "1.5"], ["--target", "(0, 1]"]),
    (["compare", "--epochs", "0"], ["--epochs"]),
    (["compare", "--plot", "{tmp}/cmp.gif"], ["--plot", ".svg"]),
    (["compare", "--dataset", "{labels.npz}"], ["--dataset", "0..k-1"]),
]


@pytest.mark.parametrize(("args", "needles"), BAD_INPUTS, ids=lambda v: " ".join(v)[:60])
def test_bad_input_exits_2_with_one_line(args, needles, tmp_path, monkeypatch):
    # mnist must not be found in a real cache or data folder, nor downloaded
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("LRFINDER_DATA", raising=False)
    files = {"tmp": tmp_path, **_bad_files(tmp_path)}
    filled = []
    for arg in args:
        for name, path in files.items():
            arg = arg.replace("{" + name + "}", str(path))
        filled.append(arg)
    assert_bad_input(invoke(filled), *needles)


def test_there_are_at_least_25_distinct_bad_inputs():
    assert len({tuple(args) for args, _ in BAD_INPUTS}) >= 25


def test_mnist_offline_without_files_is_bad_input_when_the_download_fails(tmp_path, monkeypatch):
    from lrfinder.datasets import _download

    def offline(url, dest, sha256):
        raise OSError("network is unreachable")

    monkeypatch.setattr(_download, "_fetch", offline)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("LRFINDER_DATA", raising=False)
    result = invoke(["search", "--dataset", "mnist", "--data-dir", tmp_path / "mnist"])
    assert_bad_input(result, "--dataset", "could not download mnist", "--data-dir")


def test_search_says_when_the_default_test_was_extended():
    result = invoke(["search", "--dataset", "spiral", "--optimizer", "adam"])
    assert result.exit_code == 0, result.output
    assert "saw no learning" in result.stdout
    assert "steps recorded" in result.stdout


SLOW = ["search", "--dataset", "spiral", "--optimizer", "adam"]  # a slow learner


def test_search_verifies_a_slow_learner_without_being_asked():
    result = invoke(SLOW)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("suggested lr")  # the answer still comes first
    assert "saw no learning at first (a slow learner)" in result.stdout
    assert lines[-1].startswith("verified learning rate for adam: ")
    quiet = invoke([*SLOW, "-q"])  # only the verified rate
    assert quiet.exit_code == 0 and len(quiet.stdout.split()) == 1
    assert float(quiet.stdout) == pytest.approx(float(lines[-1].split()[5]), rel=0.01)


@pytest.mark.parametrize("flags", [["--no-verify"], ["--method", "steepest"]])
def test_search_leaves_a_slow_learner_unverified_when_told_or_for_another_method(flags):
    result = invoke([*SLOW, *flags])
    assert result.exit_code == 0, result.output
    assert "saw no learning" in result.stdout  # the extended test's note
    assert "verified" not in result.stdout and "short runs from scratch" not in result.stdout


@pytest.mark.parametrize("quiet", [False, True])
def test_a_verification_nobody_asked_for_that_fails_leaves_the_suggestion(monkeypatch, quiet):
    from lrfinder import verification

    def refuse(*args, **kwargs):
        raise LRFinderError("data has 9 rows, too few to hold some out for scoring")

    monkeypatch.setattr(verification, "verify", refuse)
    result = invoke([*SLOW, *(["-q"] if quiet else [])])
    assert result.exit_code == 0, result.output  # the range test asked for went fine
    assert result.stderr.startswith("lrfinder: warning: could not verify the suggestion (data")
    assert "verified" not in result.stdout
    if quiet:  # the suggestion, printed in place of the verified rate
        assert len(result.stdout.split()) == 1 and float(result.stdout) > 0
    else:
        assert result.stdout.startswith("suggested lr")
    asked = invoke([*SLOW, "--verify", "-q"])
    assert_bad_input(asked, "too few to hold some out")


def test_search_verifies_nothing_unasked_where_the_test_saw_learning():
    result = invoke(["search", *FAST])
    assert result.exit_code == 0, result.output
    assert "verified" not in result.stdout and "Verification" not in result.stdout


def _warnings_of(result) -> list[str]:
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert all(line.startswith("lrfinder: warning: ") for line in lines), lines
    return lines


def test_a_batch_larger_than_the_data_is_warned_about_once_and_the_run_goes_on():
    lines = _warnings_of(invoke(["search", *FAST, "--batch-size", "5000", "-q"]))
    assert len(lines) == 1 and "batch_size=5000 is larger than digits (1437 rows)" in lines[0]
    lines = _warnings_of(invoke(["search", *FAST, "--n-samples", "20", "-q"]))
    assert len(lines) == 1 and "(20 rows)" in lines[0]  # fewer samples than one batch


def test_an_option_given_twice_is_warned_about():
    lines = _warnings_of(invoke(["search", *FAST, "--optimizer", "adam", "--optimizer=sgd", "-q"]))
    assert lines == [
        "lrfinder: warning: --optimizer was given 2 times; only the last one (sgd) counts"
    ]
    both = invoke(["compare", "--optimizer", "adam", "--optimizer", "sgd", "--help"])
    assert both.stderr == ""  # compare takes several


def test_half_integer_labels_are_said_to_be_read_as_regression(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 3))
    np.savez(tmp_path / "half.npz", x=x, y=np.where(x[:, 0] > 0, 1.5, 0.5))
    lines = _warnings_of(invoke(["search", *FAST, "--dataset", tmp_path / "half.npz", "-q"]))
    assert len(lines) == 1 and "read as regression targets" in lines[0]


# --------------------------------------------------------------------------- verify

#: Short verification probes: rungs of 5, 13 and 32 steps.
VERIFY_FAST = ["--verify-steps", "32"]


@pytest.fixture(scope="module")
def verified(tmp_path_factory):
    """One ``search --verify`` whose files the verify tests read."""
    folder = tmp_path_factory.mktemp("verify")
    paths = {k: folder / name for k, name in (("json", "run.json"), ("verify", "v.json"))}
    paths["png"] = folder / "v.png"
    result = invoke(
        [
            "search",
            *FAST,
            "--optimizer",
            "adam",
            "--verify",
            *VERIFY_FAST,
            "--json",
            paths["json"],
            "--verify-json",
            paths["verify"],
            "--plot",
            paths["png"],
        ]
    )
    assert result.exit_code == 0, result.output
    return result, paths


def test_verify_is_a_command_with_help():
    assert "verify" in invoke(["--help"]).stdout
    text = " ".join(invoke(["verify", "--help"]).stdout.split())
    assert "RUN" in text and "--jobs" in text and "--lrs" in text and "--plot" in text
    search = " ".join(invoke(["search", "--help"]).stdout.split())
    assert "--verify" in search and "--verify-steps" in search and "--jobs" in search


def test_search_verify_prints_the_probe_table_and_the_verdict(verified):
    result, paths = verified
    out = result.stdout
    assert "Verification: held-out loss" in out
    assert "seed 0" in out and "seed 1" in out and "diverged" in out and "chosen" in out
    flat = " ".join(out.split())  # the reason is wrapped to the terminal's width
    assert "grid search" in flat and "13/32 steps" in flat  # the budget is stated
    assert out.startswith("suggested lr ") and " for adam on digits" in out.splitlines()[0]
    last = [line for line in out.splitlines() if not line.startswith("wrote ")][-1]
    assert last.startswith("verified learning rate for adam: ")
    from lrfinder.verification import load_verification

    v = load_verification(paths["verify"])
    assert f"{v.lr:.3g}" in last
    # the last column shows the chosen rate where its confirmation stopped
    reached = max(p.steps_trained for p in v.probes_of(v.lr))
    assert reached not in v.budgets  # the cost target stopped it short of 32
    assert f"at {reached}" in out
    assert load_result(paths["json"]).suggestion == v.suggestion
    assert_image(paths["png"])


def test_search_verify_quiet_prints_only_the_verified_rate(verified):
    _, paths = verified
    from lrfinder.verification import load_verification

    v = load_verification(paths["verify"])
    result = invoke(["search", *FAST, "--optimizer", "adam", "--verify", *VERIFY_FAST, "-q"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"{v.lr:.6g}"]


def test_verify_a_saved_run_gives_the_same_answer_with_two_jobs(verified, tmp_path):
    _, paths = verified
    serial = invoke(["verify", paths["json"], "--steps", "32", "-q"])
    parallel = invoke(["verify", paths["json"], "--steps", "32", "--jobs", "2", "-q"])
    assert serial.exit_code == parallel.exit_code == 0, serial.output + parallel.output
    assert serial.stdout == parallel.stdout
    from lrfinder.verification import load_verification

    assert float(serial.stdout) == pytest.approx(load_verification(paths["verify"]).lr, rel=1e-5)


def test_verify_given_rates_writes_json_and_plot(verified, tmp_path):
    _, paths = verified
    out, png = tmp_path / "v.json", tmp_path / "v.svg"
    result = invoke(
        ["verify", paths["json"], "--lrs", "0.01,0.1", "--steps", "16", "--seeds", "1"]
        + ["--json", out, "--plot", png]
    )
    assert result.exit_code == 0, result.output
    assert "the suggestion was not probed" in result.stdout
    from lrfinder.verification import load_verification

    assert load_verification(out).candidates == (0.01, 0.1)
    assert_image(png)


def test_the_verify_table_says_how_a_probe_diverged(verified):
    _, paths = verified
    result = invoke(["verify", paths["json"], "--lrs", "0.01,10000", "--steps", "16"])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if line.strip("│ ").startswith("1e+04"))
    assert "non-finite" in row or "blew up" in row, row


def test_a_stand_in_probed_from_scratch_shows_no_mean_at_step_0(capsys):
    """A stand-in trained from scratch to step 58 reached no rung: its row has no step and no
    mean (the untrained loss at step 0 is no score), and its score shows at 58."""
    from lrfinder.cli import _describe_verification
    from lrfinder.verification import Probe, Verification

    def probe(lr, seed, steps, losses):
        return Probe(lr, seed, steps, losses, (math.nan,) * len(steps), False)

    v = Verification(
        lr=1.69,
        suggestion=None,
        candidates=(0.3, 1.69),
        probes=(
            probe(0.3, 0, (0, 10, 26), (2.5, 0.9, 0.56)),
            probe(0.3, 1, (0, 10, 26), (2.5, 0.9, 0.59)),
            probe(1.69, 0, (0, 58), (2.5, 1.2)),
            probe(1.69, 1, (0, 58), (2.5, 1.3)),
        ),
        confirmed=None,
        reason="r",
        budgets=(10, 26, 64),
        decided_at=26,
        metric="loss",
        steps_spent=0,
        grid_steps=1,
        settings={"seeds": [0, 1]},
    )
    _describe_verification(v)
    row = next(line for line in capsys.readouterr().out.splitlines() if "1.69" in line)
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert cells[1:5] == ["-", "-", "-", "-"] and cells[5] == "1.25", cells


def test_ctrl_c_during_verify_saves_the_finished_probes(verified, tmp_path, monkeypatch):
    _, paths = verified
    interrupt_after(monkeypatch, 20)  # rung 0 is 3 steps a probe
    out = tmp_path / "partial.json"
    result = invoke(["verify", paths["json"], "--steps", "32", "--json", out])
    assert result.exit_code == 130
    assert str(out) in result.stderr and "Traceback" not in result.output
    from lrfinder.verification import load_verification

    partial = load_verification(out)
    assert partial.lr is None and 0 < partial.steps_spent <= 20


def test_ctrl_c_during_search_verify_keeps_the_range_test(tmp_path, monkeypatch):
    import importlib

    module = importlib.import_module("lrfinder.verification")
    calls = {"n": 0}
    original = module._advance

    def advance(*args):
        calls["n"] += 1
        if calls["n"] > 3:
            raise KeyboardInterrupt
        return original(*args)

    monkeypatch.setattr(module, "_advance", advance)
    monkeypatch.chdir(tmp_path)
    result = invoke(["search", *FAST, "--verify", *VERIFY_FAST, "-q"])
    assert result.exit_code == 130
    (partial,) = tmp_path.glob("lrfinder-verify-interrupted-*.json")
    (run,) = tmp_path.glob("lrfinder-interrupted-*.json")
    assert partial.name in result.stderr and run.name in result.stderr
    assert load_result(run).suggestion is not None
    assert module.load_verification(partial).steps_spent > 0


def test_sigint_to_parallel_verify_exits_130_and_saves(verified, tmp_path):
    """A real Ctrl-C (SIGINT to the process group, as a terminal sends it) with --jobs 2."""
    import signal
    import time

    exe = shutil.which("lrfinder")
    if exe is None or not Path("/proc/self/task").is_dir():
        pytest.skip("needs the lrfinder console script and Linux's /proc")
    _, paths = verified
    out = tmp_path / "partial.json"
    args = [exe, "verify", str(paths["json"]), "--jobs", "2", "--steps", "100000", "--json"]
    proc = subprocess.Popen(
        [*args, str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # as from a terminal: a shell that runs this suite in the background (CI started
        # with '&') has SIGINT ignored, and a child would inherit that
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:  # until the workers run
        if children.exists() and children.read_text().split():
            break
        time.sleep(0.2)
    time.sleep(3.0)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    # (a worker still starting up may print its own KeyboardInterrupt; the command's
    # last word is its one line)
    assert err.splitlines()[-1].startswith("lrfinder: interrupted; ")
    assert str(out) in err.splitlines()[-1]
    from lrfinder.verification import load_verification

    assert load_verification(out).lr is None


BAD_VERIFY_INPUTS = [
    (["verify", "{tmp}/missing.json"], ["missing.json", "does not exist"]),
    (["verify", "{run}", "--lrs", "a,b"], ["--lrs", "comma-separated"]),
    (["verify", "{run}", "--lrs", "0.1,-1"], ["lrs", "positive"]),
    (["verify", "{run}", "--steps", "2"], ["--steps"]),
    (["verify", "{run}", "--seeds", "0"], ["--seeds"]),
    (["verify", "{run}", "--jobs", "0"], ["--jobs", "-1"]),
    (["verify", "{run}", "--plot", "{tmp}/v.txt"], ["--plot", ".png"]),
    (["verify", "{run}", "--json", "{tmp}/no/such/v.json"], ["--json", "does not exist"]),
    (["verify", "{run}", "--dataset", "imagenet"], ["--dataset", "unknown dataset"]),
    (["verify", "{csv}"], ["does not record its dataset", "--dataset"]),
    (["search", "--verify-steps", "32"], ["--verify-steps", "--verify"]),
    (["search", "--verify", "--jobs", "-2"], ["--jobs"]),
]


@pytest.mark.parametrize(("args", "needles"), BAD_VERIFY_INPUTS, ids=lambda v: " ".join(v)[:60])
def test_bad_verify_input_exits_2_with_one_line(args, needles, verified, tmp_path):
    _, paths = verified
    csv = tmp_path / "curve.csv"
    csv.write_text(
        "lr,loss\n" + "\n".join(f"{10 ** (k / 10 - 4)},{1 - k / 100}" for k in range(40))
    )
    files = {"tmp": tmp_path, "run": paths["json"], "csv": csv}
    filled = []
    for arg in args:
        for name, path in files.items():
            arg = arg.replace("{" + name + "}", str(path))
        filled.append(arg)
    assert_bad_input(invoke(filled), *needles)


@pytest.mark.parametrize("framework", ["torch", "keras"])
def test_verify_refuses_a_frameworks_run_and_says_what_to_do(tmp_path, framework):
    lrs = np.geomspace(1e-5, 1, 60)
    result = RangeTestResult.from_curve(lrs, 2.3 - np.tanh(np.log10(lrs) + 3))
    path = result.to_json(tmp_path / "run.json")
    data = json.loads(path.read_text())
    data["settings"] = {"framework": framework, "optimizer": "torch.optim.Adam"}
    path.write_text(json.dumps(data))
    line = assert_bad_input(invoke(["verify", path, "--dataset", "digits"]), framework)
    assert "cannot rebuild" in line


def test_analyze_presmoothed_detects_reads_raw_or_undoes_a_given_factor():
    history = Path(__file__).parent / "data" / "torch_lr_finder_history.json"
    plain = ["--momentum", "0"]  # the presmoothing alone (the momentum read-back is off)
    detected = invoke(["analyze", history, "-q", *plain])
    raw = invoke(["analyze", history, "--presmoothed", "no", "-q", *plain])
    given = invoke(["analyze", history, "--presmoothed", "0.95", "-q", *plain])
    assert detected.exit_code == raw.exit_code == given.exit_code == 0, detected.output
    assert detected.stdout == given.stdout != raw.stdout  # torch-lr-finder's default, 0.95
    assert float(raw.stdout) > float(detected.stdout)  # the EMA's lag pushes the rate up
    assert_bad_input(invoke(["analyze", history, "--presmoothed", "x"]), "--presmoothed", "0.95")
    assert_bad_input(invoke(["analyze", history, "--presmoothed", "1.5"]), "presmoothed")
