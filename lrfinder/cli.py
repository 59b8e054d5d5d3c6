"""The ``lrfinder`` command line: ``search``, ``analyze``, ``plot``, ``compare`` and ``verify``.

Each command is thin: it checks its options, calls the library and formats what
comes back. The library modules, and through them scipy, scikit-learn and
matplotlib, are imported inside the commands, so ``lrfinder --help`` stays fast.

Exit codes
----------
0
    Success.
2
    Bad input of any kind (options, segment specs, files, data): one line on
    stderr, ``lrfinder: error: ...``, naming the input and the fix.
1
    Any other failure: one line on stderr; set ``LRFINDER_DEBUG=1`` for the
    traceback.
130
    Interrupted (Ctrl-C). ``search`` first saves the partial result; ``search
    --verify`` and ``verify`` also save the probes that had finished.
"""

from __future__ import annotations

import math
import os
import re
import sys
import time
import warnings
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from lrfinder import names
from lrfinder.errors import LRFinderError, LRFinderWarning
from lrfinder.outputs import FIGURE_SUFFIXES

try:  # typer >= 0.22 ships click inside itself; TyperException is the public base of its errors
    from typer import TyperException as _ClickError
except ImportError:  # pragma: no cover - older typer runs on click itself
    from click import ClickException as _ClickError

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130

#: Set this environment variable to 1 to get the traceback of an unexpected error.
DEBUG_ENV = "LRFINDER_DEBUG"

#: Name of the file a Ctrl-C'd search saves to when no ``--json`` was given.
INTERRUPTED_NAME = "lrfinder-interrupted-{stamp}.json"

#: Name of the file a Ctrl-C'd verification saves its finished probes to when no
#: ``--verify-json`` (``verify --json``) was given.
VERIFY_INTERRUPTED_NAME = "lrfinder-verify-interrupted-{stamp}.json"

#: Name of the file a Ctrl-C'd comparison saves its finished optimizers to when no
#: ``--json`` was given.
COMPARE_INTERRUPTED_NAME = "lrfinder-compare-interrupted-{stamp}.json"

# The choices come from lrfinder.names, which imports nothing, so that building the
# command line loads no numerical code; the library's registries use the same names.


def _choices(name: str, values: tuple[str, ...]) -> type[Enum]:
    return Enum(name, [(value.replace("-", "_"), value) for value in values], type=str)


OptimizerName = _choices("OptimizerName", names.OPTIMIZERS)
Activation = _choices("Activation", names.ACTIVATIONS)
Task = _choices("Task", names.TASKS)
Mode = _choices("Mode", names.MODES)
Method = _choices("Method", names.METHODS)
TrainSchedule = _choices("TrainSchedule", names.TRAIN_SCHEDULES)
Per = _choices("Per", names.PER)
DEFAULT_TRAIN_SCHEDULE = TrainSchedule(names.DEFAULT_TRAIN_SCHEDULE)


def _listed(values) -> str:
    return ", ".join(values)


# --------------------------------------------------------------------------- errors


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _fail(code: int, message: str) -> None:
    typer.echo(f"lrfinder: error: {_one_line(message)}", err=True)
    sys.exit(code)


def _usage_message(err) -> str:
    """One line for one of click's usage errors (a bad option value, an unknown option)."""
    ctx = getattr(err, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    return err.format_message().replace("Value error, ", "").rstrip(".") + hint


def _warning_printer(show_other: Callable) -> Callable:
    """A ``warnings.showwarning`` for one command: lrfinder's own warnings as one line
    each, once per message; any other warning as ``show_other`` shows it."""
    seen: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        if not issubclass(category, LRFinderWarning):
            show_other(message, category, filename, lineno, file, line)
            return
        text = _one_line(str(message))
        if text not in seen:
            seen.add(text)
            typer.echo(f"lrfinder: warning: {text}", err=True)

    return show


#: Options that take several values when repeated; any other option given twice is
#: warned about (click keeps the last one silently).
REPEATABLE = {"compare": {"--optimizer"}}


def _warn_repeated_options(args: list[str]) -> None:
    """Say so when a single-valued option is given twice: only the last one counts."""
    command = next((a for a in args if not a.startswith("-")), None)
    counts: dict[str, int] = {}
    for arg in args:
        if arg == "--":
            break
        if arg.startswith("--"):
            name = arg.split("=", 1)[0]
            counts[name] = counts.get(name, 0) + 1
    for name, count in counts.items():
        if count > 1 and name not in REPEATABLE.get(command, ()):
            i = max(j for j, a in enumerate(args) if a == name or a.startswith(name + "="))
            given = args[i].split("=", 1)[1] if "=" in args[i] else " ".join(args[i + 1 : i + 2])
            warnings.warn(
                f"{name} was given {count} times; only the last one ({given}) counts",
                LRFinderWarning,
                stacklevel=2,
            )


#: The library's names of the settings the options pass on. The command line checks
#: only what is its own (exclusive options, paths); the library checks the rest, and
#: its message ("stop_factor must be ...") gets the option's name in front.
OPTION_OF = {
    "batch_size": "--batch-size",
    "end": "--end",
    "epochs": "--epochs",
    "num": "--num",
    "repeats": "--repeats",
    "seed": "--seed",
    "start": "--start",
    "stop_factor": "--stop-factor",
    "target": "--target",
}


def _with_option(message: str) -> str:
    """``message`` with the option's name in front when it is about one of OPTION_OF."""
    found = re.match(r"(\w+) must ", message)
    if found and found.group(1) in OPTION_OF:
        return f"{OPTION_OF[found.group(1)]}: {message}"
    return message


def main(args: list[str] | None = None) -> None:
    """The ``lrfinder`` command (and ``python -m lrfinder``): run the app, map errors to codes.

    The app runs with click's ``standalone_mode=False``, so every error reaches
    this function, which prints one line on stderr and exits with the code the
    module docstring lists.
    """
    args = sys.argv[1:] if args is None else list(args)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _warning_printer(warnings.showwarning)
            warnings.simplefilter("always", LRFinderWarning)
            _warn_repeated_options(args)
            code = app(args=args, prog_name="lrfinder", standalone_mode=False)
    except LRFinderError as err:
        _fail(EXIT_BAD_INPUT, _with_option(str(err)))
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("lrfinder: interrupted", err=True)
        code = EXIT_INTERRUPTED
    except _ClickError as err:
        if hasattr(err, "ctx"):  # a UsageError: a bad option value, an unknown option ...
            _fail(EXIT_BAD_INPUT, _usage_message(err))
        _fail(getattr(err, "exit_code", EXIT_FAILURE), err.format_message())
    except Exception as err:
        if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
            raise
        _fail(EXIT_FAILURE, f"{type(err).__name__}: {err} (set {DEBUG_ENV}=1 to see the traceback)")
    sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    name="lrfinder",
    help="Find a good initial learning rate with the learning-rate range test.",
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class _Command(TyperCommand):
    """A command whose usage line names its arguments plainly: ``RESULT``, not ``{RESULT}``."""

    def collect_usage_pieces(self, ctx) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                pieces.append(param.metavar or param.name.upper())
        return pieces


def _print_version(value: bool) -> None:
    if value:
        from lrfinder import __version__

        typer.echo(f"lrfinder {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print lrfinder's version and exit.",
        ),
    ] = False,
) -> None:
    """Find a good initial learning rate with the learning-rate range test."""
    if ctx.invoked_subcommand is None:  # plain ``lrfinder``: the help, and success
        typer.echo(ctx.get_help())
        raise typer.Exit()


# --------------------------------------------------------------------------- options


_DATA = "Data"
_MODEL = "Model and optimizer"
_SCHEDULE = "Schedule"
_RUN = "Run control"
_OUTPUT = "Output"

DatasetOpt = Annotated[
    str,
    typer.Option(
        "--dataset",
        "-d",
        metavar="NAME|FILE",
        help=f"A bundled dataset ({_listed(names.DATASETS)}) "
        "or the path of your own .npz (arrays x, y) or .csv (label in the last column).",
        rich_help_panel=_DATA,
    ),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        metavar="DIR",
        help="Folder holding the MNIST / Fashion-MNIST files (downloaded there if missing).",
        rich_help_panel=_DATA,
    ),
]
DownloadOpt = Annotated[
    bool,
    typer.Option(
        "--download/--no-download",
        help="Download MNIST / Fashion-MNIST files that are not found.",
        rich_help_panel=_DATA,
    ),
]
NSamplesOpt = Annotated[
    int | None,
    typer.Option(
        min=1, metavar="N", help="Use only this many training samples.", rich_help_panel=_DATA
    ),
]
TaskOpt = Annotated[
    Task | None,
    typer.Option(
        case_sensitive=False,
        metavar="TASK",
        help="Treat your own file's labels as classes or as regression targets: "
        f"{_listed(names.TASKS)} [default: classes when they are integers].",
        rich_help_panel=_DATA,
    ),
]
HiddenOpt = Annotated[
    int,
    typer.Option(
        min=1, metavar="N", help="Hidden units of the two-layer network.", rich_help_panel=_MODEL
    ),
]
ActivationOpt = Annotated[
    Activation,
    typer.Option(
        case_sensitive=False,
        metavar="NAME",
        help=f"Hidden activation: {_listed(names.ACTIVATIONS)}.",
        rich_help_panel=_MODEL,
    ),
]
BatchSizeOpt = Annotated[
    int, typer.Option(min=1, metavar="N", help="Mini-batch size.", rich_help_panel=_MODEL)
]
SegmentsOpt = Annotated[
    str | None,
    typer.Option(
        metavar="START:STEP:ITERS[:END],...",
        help="Piecewise schedule: each segment runs the rates START, START+STEP, ... up to END "
        "(default 10*START), holding each for ITERS steps; e.g. 1e-4:1e-4:10,1e-3:1e-3:10. "
        "Not with --start/--end/--num/--mode.",
        rich_help_panel=_SCHEDULE,
    ),
]
StartOpt = Annotated[
    float | None,
    typer.Option(
        metavar="LR",
        help=f"First learning rate [default: {names.DEFAULT_START:g}].",
        rich_help_panel=_SCHEDULE,
    ),
]
EndOpt = Annotated[
    float | None,
    typer.Option(
        metavar="LR",
        help=f"Last learning rate [default: {names.DEFAULT_END:g}].",
        rich_help_panel=_SCHEDULE,
    ),
]
NumOpt = Annotated[
    int | None,
    typer.Option(
        min=2,
        metavar="N",
        help=f"Number of learning rates [default: {names.DEFAULT_NUM}].",
        rich_help_panel=_SCHEDULE,
    ),
]
ModeOpt = Annotated[
    Mode | None,
    typer.Option(
        case_sensitive=False,
        metavar="MODE",
        help=f"Spacing of the rates from --start to --end: {_listed(names.MODES)} [default: exp].",
        rich_help_panel=_SCHEDULE,
    ),
]
SeedOpt = Annotated[
    int,
    typer.Option(
        min=0,
        metavar="N",
        help="Seed of the initial weights and batch order.",
        rich_help_panel=_RUN,
    ),
]
StopFactorOpt = Annotated[
    float | None,
    typer.Option(
        metavar="X",
        help="Stop when the loss exceeds its best by this factor "
        f"[default: {names.DEFAULT_STOP_FACTOR:g}].",
        rich_help_panel=_RUN,
    ),
]
MethodOpt = Annotated[
    Method,
    typer.Option(
        case_sensitive=False,
        metavar="NAME",
        help="How to read the curve: auto (where the curve reaches its bottom, kept safe "
        "for a run from scratch), steepest, minimum (minimum / 10) or valley (fastai's rule).",
        rich_help_panel=_RUN,
    ),
]
QuietOpt = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        help="Print only the suggested learning rate (or 'none: <reason>').",
        rich_help_panel=_OUTPUT,
    ),
]
PlotOpt = Annotated[
    Path | None,
    typer.Option(
        metavar="FILE", help="Save a figure here (.png, .svg or .pdf).", rich_help_panel=_OUTPUT
    ),
]
PresmoothedOpt = Annotated[
    str,
    typer.Option(
        metavar="detect|no|BETA",
        help="For a curve recorded elsewhere: detect whether it was smoothed by an EMA (as "
        "torch-lr-finder and fastai record it) and undo it, read it as raw (no), or undo an "
        "EMA of factor BETA.",
    ),
]
MomentumOpt = Annotated[
    float | None,
    typer.Option(
        "--momentum",
        metavar="BETA",
        help="For a curve recorded elsewhere: the momentum (SGD) or beta1 (Adam) of the "
        "optimizer that recorded it. Its loss answers each rate beta/(1-beta) steps late, "
        "and the suggestion is read back that far; 0 for SGD, AdaGrad or RMSprop. Asked "
        "for when the answer depends on it. lrfinder's own results record it.",
        show_default=False,
    ),
]
ResultArg = Annotated[
    Path,
    typer.Argument(
        metavar="RESULT",
        help="A result saved with 'lrfinder search --json', or a CSV of lr,loss rows "
        "(torch-lr-finder, fastai, Keras ...).",
        show_default=False,
    ),
]


_VERIFY = "Verify"


def _check_jobs(value: int | None) -> int | None:
    if value is not None and value < 1 and value != -1:
        raise typer.BadParameter(f"{value!r} is not a number of jobs; give 1, 2, ... or -1")
    return value


JobsOpt = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        "-j",
        callback=_check_jobs,
        metavar="N",
        help="Runs to do at once, in worker processes (-1: one per core): the --repeats of "
        "the test and the verification probes. The result is the same for any number "
        "[default: one after another, in this process].",
        rich_help_panel=_RUN,
    ),
]
VerifyStepsOpt = Annotated[
    int | None,
    typer.Option(
        min=4,
        metavar="N",
        help="Steps of the longest verification probe [default: 512, or one epoch when longer].",
        rich_help_panel=_VERIFY,
    ),
]
VerifySeedsOpt = Annotated[
    int,
    typer.Option(
        "--verify-seeds",
        min=1,
        metavar="N",
        help="Seeds per candidate rate; two or more measure the noise.",
        rich_help_panel=_VERIFY,
    ),
]


# --------------------------------------------------------------------------- helpers


def _check_output(path: Path | None, option: str, suffixes: tuple[str, ...] = ()) -> None:
    """Fail now, before any training, if ``path`` cannot be written."""
    from lrfinder.outputs import check_output_path

    if path is not None:
        check_output_path(path, option, suffixes)


def _schedule(segments: str | None, start, end, num, mode: Mode | None):
    """The range-test schedule from the options; None means the library's default."""
    from lrfinder.rangetest import DEFAULT_END, DEFAULT_NUM, DEFAULT_START
    from lrfinder.schedules import LearningRateSearcher

    ranged = [v is not None for v in (start, end, num, mode)]
    if segments is not None:
        if any(ranged):
            raise LRFinderError(
                "--segments cannot be combined with --start/--end/--num/--mode; give one or "
                "the other"
            )
        try:
            return LearningRateSearcher.parse(segments)
        except LRFinderError as err:
            raise LRFinderError(f"--segments: {err}") from None
    if not any(ranged):
        return None
    build = LearningRateSearcher.linear if mode == Mode.linear else LearningRateSearcher.exponential
    start = DEFAULT_START if start is None else start
    end = DEFAULT_END if end is None else end
    try:
        return build(start, end, DEFAULT_NUM if num is None else num)
    except LRFinderError as err:
        if str(err).startswith("end must be > start"):
            raise LRFinderError(f"--start/--end: {err}; e.g. --start 1e-6 --end 1") from None
        raise  # main() names the option


def _status(text: str):
    """A spinner with ``text`` on stderr while a long step runs (only on a terminal)."""
    from contextlib import nullcontext

    from rich.console import Console

    console = Console(stderr=True)
    return console.status(text) if console.is_terminal else nullcontext()


def _zoom_schedule(path: Path, schedule, optimizer):
    """The fine sweep of ``--zoom RUN`` (see :func:`lrfinder.rangetest.zoom_schedule`)."""
    from lrfinder.rangetest import zoom_schedule

    if schedule is not None:
        raise LRFinderError(
            "--zoom builds its own schedule: leave out --segments/--start/--end/--num/--mode"
        )
    first = _load_result(path)
    recorded = first.settings.get("optimizer")
    if recorded and recorded != optimizer.value:
        raise LRFinderError(
            f"--zoom {str(path)!r} was a test of {recorded}, but --optimizer is "
            f"{optimizer.value}; give --optimizer {recorded}"
        )
    try:
        return zoom_schedule(first)
    except LRFinderError as err:
        raise LRFinderError(f"--zoom {str(path)!r}: {err}") from None


def _load_data(dataset: str, data_dir, download: bool, n_samples, task: Task | None, seed: int):
    from lrfinder.datasets import load_dataset

    try:
        with _status(f"loading {dataset}"):
            data = load_dataset(
                dataset,
                data_dir,
                seed=seed,
                n_samples=n_samples,
                download=download,
                task=None if task is None else task.value,
            )
    except LRFinderError as err:
        raise LRFinderError(f"--dataset: {err}") from None
    user_file = Path(dataset).suffix.lower() in (".npz", ".csv")
    if task is None and data.task == "regression" and user_file:
        warnings.warn(
            f"the labels of {dataset} are not all whole numbers, so they are read as "
            "regression targets (mean squared error); if they are classes, save them as "
            "0, 1, ..., k-1",
            LRFinderWarning,
            stacklevel=2,
        )
    return data


def _build_model(data, hidden: int, activation: Activation, seed: int):
    from lrfinder.network import TwoLayerNet

    with _status(f"building a network with {hidden:,} hidden units"):
        return TwoLayerNet.for_dataset(data, hidden, activation=activation.value, seed=seed)


def _load_result(path: Path, presmoothed: str = "detect", momentum: float | None = None):
    from lrfinder.results import load_result

    lag = None if momentum is None else _momentum_lag(momentum)  # checked before any I/O
    result = load_result(path, presmoothed=_presmoothed(presmoothed))
    if lag is None:
        return result
    from dataclasses import replace

    return replace(result, settings={**(result.settings or {}), "momentum_lag": lag})


def _load_to_read(path: Path, presmoothed: str, momentum: float | None):
    """The saved run ``analyze`` and ``plot`` read: told its momentum (``--momentum``), or
    refused when its answer hangs on a momentum it does not record."""
    result = _load_result(path, presmoothed, momentum)
    if momentum is None:
        _refuse_if_momentum_matters(result, path)
    return result


def _refuse_if_momentum_matters(result, path: Path) -> None:
    """A curve of unknown optimizer whose answer depends on its momentum: ask for it.

    Read with and without momentum 0.9 (Adam's default beta1, the usual SGD momentum),
    ``auto`` gives two rates, each outside the other's band (a short exponential test
    moves it 0.7 decades); printing either would be a guess.
    """
    from lrfinder.analysis import COMMON_MOMENTUM, momentum_sensitivity

    readings = momentum_sensitivity(result)
    if readings is None:
        return
    without, with_ = readings
    raise LRFinderError(
        f"{path}: the suggestion depends on the momentum of the optimizer that recorded the "
        f"curve, which the file does not say ({_fmt(without.lr)} without momentum, "
        f"{_fmt(with_.lr)} with momentum or Adam's beta1 {COMMON_MOMENTUM:g}); pass "
        f"--momentum 0 (SGD, AdaGrad, RMSprop), --momentum {COMMON_MOMENTUM:g} (Adam, SGD "
        "with momentum 0.9) or your optimizer's value"
    )


def _momentum_lag(momentum: float) -> float:
    """``--momentum``: the lag of a gradient average of that decay, in steps."""
    from lrfinder.optimizers import average_lag

    try:
        return average_lag(momentum)
    except LRFinderError:
        raise LRFinderError(
            f"--momentum {momentum:g}: give the momentum or beta1 of the optimizer that "
            "recorded the curve, a number in [0, 1) such as 0.9"
        ) from None


def _presmoothed(text: str):
    """``--presmoothed``: "detect", "no" (read as raw) or an EMA factor such as 0.95."""
    if text == "detect":
        return "detect"
    if text == "no":
        return False
    try:
        return float(text)
    except ValueError:
        raise LRFinderError(
            f"--presmoothed {text!r}: give detect, no, or the EMA factor the curve was "
            "smoothed with (e.g. 0.95)"
        ) from None


def _fmt(lr: float | None) -> str:
    return "-" if lr is None else f"{lr:.3g}"


def _fmt_band(band) -> str:
    return "-" if band is None else f"{band[0]:.3g} - {band[1]:.3g}"


def _stdout():
    from rich.console import Console

    return Console(highlight=False)


def _progress(quiet: bool, rate_and_loss: bool = True):
    """A transient rich progress bar on stderr, off with --quiet or when stderr is no terminal.

    With ``rate_and_loss`` the bar shows the task fields ``lr`` and ``loss``.
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    fields = [TextColumn("lr {task.fields[lr]:<9.3g} loss {task.fields[loss]:<9.4g}")]
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        *(fields if rate_and_loss else []),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=quiet or not console.is_terminal,
    )


#: A test whose first steps say it will run longer than this many seconds gets a
#: one-line note on stderr (with or without a progress bar), so a slow run is never silent.
SLOW_TEST_SECONDS = 60.0


def _range_callback(progress, task, quiet: bool = False, clock=time.perf_counter) -> Callable:
    """find_lr's ``callback(event)``: a bar over all runs that never moves back.

    A test that is extended (the slow-learner rule) starts again at run 0, step 0
    with more steps; the bar then keeps what it had counted and grows its total.
    From the time of the second step it also estimates the whole test's, and says
    so once when that is longer than :data:`SLOW_TEST_SECONDS`.
    """
    state = {"offset": 0, "done": 0, "last": (-1, -1), "t0": None, "noted": quiet}

    def callback(event) -> None:
        if (event.run, event.step) < state["last"]:  # a new, longer test begins
            state["offset"] = state["done"]
        state["last"] = (event.run, event.step)
        state["done"] = state["offset"] + event.done
        total = state["offset"] + event.total
        progress.update(task, completed=state["done"], total=total, lr=event.lr, loss=event.loss)
        if state["noted"]:
            return
        now = clock()
        if state["t0"] is None:
            state["t0"] = now
        elif state["done"] >= 2:
            per_step = (now - state["t0"]) / (state["done"] - 1)
            if per_step * total > SLOW_TEST_SECONDS:
                progress.console.print(
                    f"lrfinder: note: one step takes {per_step:.2g} s, so the {total} steps "
                    f"will take about {per_step * total / 60:.0f} min; a smaller --hidden or "
                    "--batch-size is faster",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,  # one line, however narrow the terminal
                )
            state["noted"] = True

    return callback


def _plot(result, path: Path, method: Method) -> None:
    from lrfinder.plotting import plot_result

    methods = (method.value, *(m.value for m in Method if m is not method))
    plot_result(result, methods=methods, path=path.expanduser())


#: The README section that explains the schedule bounds the Suggestion table prints.
SCHEDULES_SECTION = "Train with what the finder found"

#: Printed for a curve recorded elsewhere (a CSV, a bare history), whose optimizer is unknown.
IMPORTED_OPTIMIZER_NOTE = (
    "unknown (an imported curve), so auto's correction for an optimizer whose first steps "
    "from scratch are larger than the test's (RMSProp's) is off"
)
#: ... and added when it was not told the optimizer's momentum either.
IMPORTED_MOMENTUM_HINT = (
    "; so is the read-back for momentum or Adam, whose loss answers each rate late (on "
    "this curve it stays within the band): give --momentum 0.9 (or the curve's momentum "
    "or beta1) if it used one"
)

#: Printed beside a suggestion whose curve is ambiguous (two good regions, or a flat bottom).
AMBIGUOUS_ADVICE = (
    "the curve is ambiguous, so this single test cannot place the best rate well: run it "
    "again with --repeats 3, or try rates across the band from scratch"
)


def _describe(result, method: Method) -> None:
    """Print the suggestion, band, landmarks, every method's answer and the stop reason."""
    from rich.table import Table

    chosen = result.suggest(method.value)
    marks = chosen.landmarks
    table = Table(title="Suggestion", title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row(f"learning rate ({chosen.method})", _fmt(chosen.lr))
    table.add_row("band", _fmt_band(chosen.band))
    table.add_row("why", chosen.reason)
    if chosen.ambiguous:
        table.add_row("caution", AMBIGUOUS_ADVICE)
    table.add_row("loss starts to fall", _fmt(marks.fall_start))
    table.add_row("steepest descent", _fmt(marks.steepest))
    table.add_row("minimum loss", _fmt(marks.minimum))
    table.add_row("divergence", _fmt(marks.divergence))
    table.add_row(
        "cyclical base_lr / max_lr",
        f"{_fmt(chosen.base_lr)} / {_fmt(chosen.max_lr)} (the low and high rates of a "
        f"cyclical schedule; README: {SCHEDULES_SECTION})",
    )
    table.add_row(
        "1cycle max_lr",
        f"{_fmt(chosen.one_cycle_max_lr)} (the peak of a 1cycle schedule, which warms up to it "
        "and anneals down)",
    )
    if chosen.run_lrs:
        spread = "-" if chosen.spread_decades is None else f"{chosen.spread_decades:.2f} decades"
        table.add_row("per run", ", ".join(_fmt(lr) for lr in chosen.run_lrs))
        table.add_row("spread across runs", spread)
    table.add_row("steps recorded", str(result.lrs.size))
    table.add_row("stop reason", result.stop_reason)
    if result.note and result.note not in chosen.reason:  # the reason may already say it
        table.add_row("note", result.note)
    if not result.settings.get("optimizer"):
        told = result.settings.get("momentum_lag") is not None
        table.add_row(
            "optimizer", IMPORTED_OPTIMIZER_NOTE + ("" if told else IMPORTED_MOMENTUM_HINT)
        )

    methods = Table(title="Each method", title_justify="left")
    methods.add_column("method", style="bold")
    methods.add_column("lr")
    methods.add_column("band")
    methods.add_column("reason")
    for name in Method:
        answer = chosen if name is method else result.suggest(name.value)
        reason = "see why above" if name is method else answer.reason
        methods.add_row(name.value, _fmt(answer.lr), _fmt_band(answer.band), reason)

    console = _stdout()
    console.print(table)
    console.print(methods)


def _answer_line(result, method: Method, quiet: bool, data_name: str | None = None) -> None:
    """The answer, in one line, printed first (with --quiet, only the rate)."""
    chosen = result.suggest(method.value)
    if quiet:
        typer.echo(f"{chosen.lr:.6g}" if chosen.lr is not None else f"none: {chosen.reason}")
        return
    optimizer = result.settings.get("optimizer")
    subject = f" for {optimizer}" if optimizer else ""
    if data_name:
        subject += f" on {data_name}"
    if chosen.lr is None:
        typer.echo(f"no learning rate suggested{subject}: {chosen.reason}")
    else:
        caution = "; the curve is ambiguous, see why below" if chosen.ambiguous else ""
        typer.echo(
            f"suggested lr {chosen.lr:.3g} (band {_fmt_band(chosen.band)}){subject}{caution}"
        )


def _train_with_line(result, method: Method, data, batch_size: int) -> None:
    """How to train with the answer: a 1cycle schedule over compare's default epochs."""
    from lrfinder.training import steps_per_epoch

    chosen = result.suggest(method.value)
    if chosen.lr is None:
        return
    epochs = names.DEFAULT_EPOCHS
    total = epochs * steps_per_epoch(data, batch_size)
    typer.echo(
        f"{chosen.train_with(total)} ({epochs} epochs of batch {batch_size}; README: "
        f"{SCHEDULES_SECTION})"
    )


def _write(outputs, quiet: bool) -> list:
    """Write each ``(option, path, write)`` on its own; say what was written, report failures.

    Returns the failures (see :func:`lrfinder.outputs.write_outputs`); each one is
    already reported on stderr, one line each.
    """
    from lrfinder.outputs import write_outputs

    def written(what: str, path: Path) -> None:
        if not quiet:
            typer.echo(f"wrote {path}")

    failures = write_outputs(outputs, on_written=written)
    for failure in failures:
        typer.echo(f"lrfinder: error: {_one_line(str(failure))}", err=True)
    return failures


def _exit_if_failed(failures) -> None:
    """Exit 2 after everything that could be written was written, if any output failed."""
    if failures:
        sys.exit(EXIT_BAD_INPUT)


def _save_interrupted(result, json_path: Path | None, csv_path: Path | None) -> Path:
    path = json_path
    if path is None:
        path = Path.cwd() / INTERRUPTED_NAME.format(stamp=time.strftime("%Y%m%d-%H%M%S"))
    result.to_json(path.expanduser())
    if csv_path is not None:
        result.to_csv(csv_path.expanduser())
    return path


# --------------------------------------------------------------------------- commands


@app.command(cls=_Command)
def search(
    dataset: DatasetOpt = "digits",
    data_dir: DataDirOpt = None,
    download: DownloadOpt = True,
    n_samples: NSamplesOpt = None,
    task: TaskOpt = None,
    optimizer: Annotated[
        OptimizerName,
        typer.Option(
            case_sensitive=False,
            metavar="NAME",
            help=f"Optimizer to test: {_listed(names.OPTIMIZERS)}.",
            rich_help_panel=_MODEL,
        ),
    ] = OptimizerName.sgd,
    hidden: HiddenOpt = 128,
    activation: ActivationOpt = Activation.relu,
    batch_size: BatchSizeOpt = 64,
    segments: SegmentsOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    num: NumOpt = None,
    mode: ModeOpt = None,
    per: Annotated[
        Per,
        typer.Option(
            case_sensitive=False,
            metavar="UNIT",
            help="What a step of the schedule is: step, or epoch (the classic tutorial's unit: "
            "each rate is held for whole epochs, e.g. --segments 1e-3:1e-3:5 holds each rate "
            "5 epochs, and the loss is read on all the training rows after each epoch).",
            rich_help_panel=_SCHEDULE,
        ),
    ] = Per.step,
    zoom: Annotated[
        Path | None,
        typer.Option(
            metavar="RUN",
            help="Zoom into a first run saved with --json: a fine linear sweep from fresh "
            "weights, from its band's low edge up to its lowest loss (not with --segments, "
            "--start/--end/--num/--mode).",
            rich_help_panel=_SCHEDULE,
        ),
    ] = None,
    seed: SeedOpt = 0,
    repeats: Annotated[
        int,
        typer.Option(
            min=1,
            metavar="N",
            help="Run the test this many times (new weights and batch order each time) and "
            "read the median curve.",
            rich_help_panel=_RUN,
        ),
    ] = 1,
    stop_factor: StopFactorOpt = None,
    method: MethodOpt = Method.auto,
    json_path: Annotated[
        Path | None,
        typer.Option(
            "--json",
            metavar="FILE",
            help="Save the result as JSON (re-read it with analyze and plot).",
            rich_help_panel=_OUTPUT,
        ),
    ] = None,
    csv_path: Annotated[
        Path | None,
        typer.Option(
            "--csv",
            metavar="FILE",
            help="Save the raw losses as step,lr,loss rows (step,run,lr,loss with --repeats).",
            rich_help_panel=_OUTPUT,
        ),
    ] = None,
    plot: PlotOpt = None,
    quiet: QuietOpt = False,
    verify: Annotated[
        bool | None,
        typer.Option(
            "--verify/--no-verify",
            help="Then confirm auto's suggestion with short runs from scratch at rates around "
            "it, and print the verified rate (with --quiet, only that). Default: only when "
            "the test saw no learning at first (a slow learner), where a range test is least "
            "sure.",
            show_default=False,
            rich_help_panel=_VERIFY,
        ),
    ] = None,
    verify_steps: VerifyStepsOpt = None,
    verify_seeds: VerifySeedsOpt = 2,
    jobs: JobsOpt = None,
    verify_json: Annotated[
        Path | None,
        typer.Option(
            "--verify-json",
            metavar="FILE",
            help="Save the verification (every probe's scores) as JSON.",
            rich_help_panel=_VERIFY,
        ),
    ] = None,
) -> None:
    """Run the learning-rate range test and suggest a learning rate."""
    _check_output(json_path, "--json")
    _check_output(csv_path, "--csv")
    _check_output(plot, "--plot", FIGURE_SUFFIXES)
    _check_output(verify_json, "--verify-json")
    if verify is not True and (verify_steps is not None or verify_json is not None):
        raise LRFinderError(
            "--verify-steps and --verify-json need --verify; add it, or leave them out"
        )
    schedule = _schedule(segments, start, end, num, mode)
    if zoom is not None:
        schedule = _zoom_schedule(zoom, schedule, optimizer)
    data = _load_data(dataset, data_dir, download, n_samples, task, seed)
    model = _build_model(data, hidden, activation, seed)

    from lrfinder.rangetest import RangeTestInterrupted, default_schedule, find_lr

    options: dict[str, Any] = {} if stop_factor is None else {"stop_factor": stop_factor}
    with _progress(quiet) as progress:
        # no schedule option: find_lr's default, which it may extend when it sees no learning
        steps = len(default_schedule() if schedule is None else schedule)
        task = progress.add_task(
            f"{optimizer.value} on {data.name}", total=steps * repeats, lr=0.0, loss=0.0
        )
        try:
            result = find_lr(
                model,
                data,
                optimizer=optimizer.value,
                schedule=schedule,
                batch_size=batch_size,
                seed=seed,
                repeats=repeats,
                n_jobs=jobs if repeats > 1 else None,
                per=per.value,
                callback=_range_callback(progress, task, quiet),
                **options,
            )
        except RangeTestInterrupted as stop:
            progress.stop()
            path = _save_interrupted(stop.result, json_path, csv_path)
            typer.echo(
                f"lrfinder: interrupted; the partial result ({stop.result.lrs.size} steps) "
                f"is in {path}",
                err=True,
            )
            sys.exit(EXIT_INTERRUPTED)

    unasked = verify is None and _slow_learner_to_verify(result, method)
    verify = bool(verify) or unasked
    # The answer first; then each output on its own, so that one that fails loses nothing else.
    if not (quiet and verify):
        _answer_line(result, method, quiet, data.name)
    if not quiet:
        _train_with_line(result, method, data, batch_size)
    if not quiet:
        _describe(result, method)
    failures = _write(
        [
            ("--json", json_path, result.to_json),
            ("--csv", csv_path, result.to_csv),
        ],
        quiet,
    )
    verification = None
    if unasked and not quiet:
        typer.echo(
            "The default test saw no learning at first (a slow learner), where a range test "
            "is least sure, so the suggestion is checked with short runs from scratch "
            "(--no-verify skips this)."
        )
    if verify:  # after the result is saved: a failed or interrupted verification keeps it
        if json_path is None and csv_path is None:
            on_interrupt = lambda: _save_interrupted(result, None, None)  # noqa: E731
        else:
            on_interrupt = None
        try:
            verification = _run_verification(
                result,
                model,
                data,
                steps=verify_steps,
                seeds=verify_seeds,
                seed=seed,
                jobs=jobs,
                json_path=verify_json,
                quiet=quiet,
                on_interrupt=on_interrupt,
            )
        except LRFinderError as err:
            if not unasked:
                raise
            # a check nobody asked for does not fail the range test the user asked for
            message = f"could not verify the suggestion ({err}); it stands as printed above"
            warnings.warn(message, LRFinderWarning, stacklevel=1)
            if quiet:  # the answer line was held back for the verified rate
                _answer_line(result, method, quiet, data.name)
    if verification is not None:
        if not quiet:
            _describe_verification(verification)
        _verified_line(verification, result.settings.get("optimizer"), quiet)
        failures += _write([("--verify-json", verify_json, verification.to_json)], quiet)
    if plot is not None:
        if verification is None:
            write_plot = lambda path: _plot(result, path, method)  # noqa: E731
        else:
            write_plot = lambda path: _plot_verification(verification, result, path)  # noqa: E731
        failures += _write([("--plot", plot, write_plot)], quiet)
    _exit_if_failed(failures)


@app.command(cls=_Command)
def analyze(
    result_file: ResultArg,
    method: MethodOpt = Method.auto,
    quiet: QuietOpt = False,
    presmoothed: PresmoothedOpt = "detect",
    momentum: MomentumOpt = None,
) -> None:
    """Analyse a saved run again, without training."""
    result = _load_to_read(result_file, presmoothed, momentum)
    _answer_line(result, method, quiet)
    if not quiet:
        _describe(result, method)


@app.command(cls=_Command)
def plot(
    result_file: ResultArg,
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Where to save the figure (.png, .svg or .pdf).",
            show_default=False,
        ),
    ],
    method: Annotated[
        Method,
        typer.Option(
            case_sensitive=False, metavar="NAME", help="The suggestion that titles the figure."
        ),
    ] = Method.auto,
    presmoothed: PresmoothedOpt = "detect",
    momentum: MomentumOpt = None,
) -> None:
    """Plot a saved run (a --json result or an lr,loss CSV)."""
    _check_output(output, "--output", FIGURE_SUFFIXES)
    result = _load_to_read(result_file, presmoothed, momentum)
    _plot(result, output, method)
    typer.echo(f"wrote {output}")


@app.command(cls=_Command)
def compare(
    optimizers: Annotated[
        list[OptimizerName] | None,
        typer.Option(
            "--optimizer",
            case_sensitive=False,
            metavar="NAME",
            help=f"An optimizer to compare ({_listed(names.OPTIMIZERS)}); repeat for several "
            "[default: all six].",
            rich_help_panel=_MODEL,
        ),
    ] = None,
    dataset: DatasetOpt = "digits",
    data_dir: DataDirOpt = None,
    download: DownloadOpt = True,
    n_samples: NSamplesOpt = None,
    task: TaskOpt = None,
    hidden: HiddenOpt = 128,
    activation: ActivationOpt = Activation.relu,
    batch_size: BatchSizeOpt = 64,
    epochs: Annotated[
        int,
        typer.Option(
            min=1,
            metavar="N",
            help="Epochs of training at each suggested rate.",
            rich_help_panel=_RUN,
        ),
    ] = names.DEFAULT_EPOCHS,
    train_schedule: Annotated[
        TrainSchedule,
        typer.Option(
            "--schedule",
            case_sensitive=False,
            metavar="NAME",
            help="How each optimizer trains at its finding: onecycle (1cycle up to its "
            "one_cycle_max_lr, then down), constant (its suggested lr) or cosine (cosine "
            "decay from its suggested lr).",
            rich_help_panel=_RUN,
        ),
    ] = DEFAULT_TRAIN_SCHEDULE,
    target: Annotated[
        float,
        typer.Option(
            metavar="ACC",
            help="Report the first step at which validation accuracy reaches this.",
            rich_help_panel=_RUN,
        ),
    ] = names.DEFAULT_TARGET,
    segments: SegmentsOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    num: NumOpt = None,
    mode: ModeOpt = None,
    seed: SeedOpt = 0,
    stop_factor: StopFactorOpt = None,
    method: MethodOpt = Method.auto,
    json_path: Annotated[
        Path | None,
        typer.Option(
            "--json",
            metavar="FILE",
            help="Save the comparison (rates, per-epoch scores, histories) as JSON.",
            rich_help_panel=_OUTPUT,
        ),
    ] = None,
    plot: PlotOpt = None,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="Print only 'optimizer lr steps-to-target final-accuracy' lines.",
            rich_help_panel=_OUTPUT,
        ),
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            callback=_check_jobs,
            metavar="N",
            help="Optimizers to run at once, in worker processes (-1: one per core). The "
            "comparison is the same for any number [default: 1].",
            rich_help_panel=_RUN,
        ),
    ] = None,
) -> None:
    """Compare optimizers, each trained at its own suggested rate.

    Finds each optimizer's learning rate with a range test, trains the same network
    from the same weights with it, and compares them.
    """
    _check_output(json_path, "--json")
    _check_output(plot, "--plot", FIGURE_SUFFIXES)
    schedule = _schedule(segments, start, end, num, mode)
    data = _load_data(dataset, data_dir, download, n_samples, task, seed)

    from lrfinder.compare import ComparisonInterrupted, compare_optimizers

    names = [o.value for o in optimizers] if optimizers else [o.value for o in OptimizerName]
    options: dict[str, Any] = {} if stop_factor is None else {"stop_factor": stop_factor}
    try:
        with _progress(quiet, rate_and_loss=False) as progress:
            task = progress.add_task("", total=1, visible=False)

            def report(name: str, phase: str, step: int, total: int) -> None:
                progress.update(
                    task, description=f"{name}: {phase}", completed=step, total=total, visible=True
                )

            comparison = compare_optimizers(
                data,
                names,
                n_hidden=hidden,
                activation=activation.value,
                epochs=epochs,
                target=target,
                batch_size=batch_size,
                seed=seed,
                schedule=schedule,
                method=method.value,
                n_jobs=jobs,
                progress=report,
                train_schedule=train_schedule.value,
                **options,
            )
    except ComparisonInterrupted as stop:
        path = json_path
        if path is None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            path = Path.cwd() / COMPARE_INTERRUPTED_NAME.format(stamp=stamp)
        stop.comparison.to_json(path.expanduser())
        done = ", ".join(run.optimizer for run in stop.comparison.runs) or "none"
        typer.echo(
            f"lrfinder: interrupted; the optimizers that had finished ({done}) are in {path}",
            err=True,
        )
        sys.exit(EXIT_INTERRUPTED)

    if quiet:
        for run in comparison.runs:
            steps = run.steps_to(target)
            typer.echo(
                f"{run.optimizer} {'-' if run.lr is None else f'{run.lr:.6g}'} "
                f"{'-' if steps is None else steps} "
                f"{_fmt_accuracy(run.final_accuracy)}"
            )
    else:
        _describe_comparison(comparison, data.name)

    def write_plot(path: Path) -> None:
        from lrfinder.plotting import plot_histories

        histories = comparison.histories()
        if not histories:
            raise LRFinderError(
                "no optimizer got a learning rate, so there is nothing to plot; widen the "
                "schedule with --start/--end"
            )
        shown = {"onecycle": "1cycle"}.get(train_schedule.value, train_schedule.value)
        title = f"Each optimizer trained with a {shown} schedule on its finding"
        plot_histories(histories, path, target=target, title=title)

    failures = _write(
        [
            ("--json", json_path, comparison.to_json),
            ("--plot", plot, write_plot),
        ],
        quiet,
    )
    _exit_if_failed(failures)


def _fmt_target(target: float) -> str:
    return f"{target * 100:g}%"


def _fmt_accuracy(value: float | None) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.3f}"


def _fmt_loss(value: float | None) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.3g}"


def _describe_comparison(comparison, dataset: str) -> None:
    """Two tables: scores after each epoch, then rate, steps to the target and final scores."""
    from rich.table import Table

    target = comparison.target
    per_epoch = Table()
    per_epoch.add_column("optimizer", style="bold", no_wrap=True)
    for epoch in range(1, comparison.epochs + 1):
        per_epoch.add_column(f"epoch {epoch}", no_wrap=True)
    kinds = sorted({run.train_schedule for run in comparison.runs})
    summary = Table(
        title=f"Summary: each optimizer trained with a {'/'.join(kinds)} schedule built on its "
        "finding",
        title_justify="left",
    )
    summary.add_column("optimizer", style="bold", no_wrap=True)
    summary.add_column("lr", no_wrap=True)
    summary.add_column("peak lr", no_wrap=True)
    summary.add_column(f"steps to {_fmt_target(target)}")
    summary.add_column("final accuracy")
    summary.add_column("final loss")
    for run in comparison.runs:
        epochs = {epoch: (loss, acc) for epoch, loss, acc in run.epoch_rows()}
        per_epoch.add_row(
            run.optimizer,
            *(
                f"{_fmt_accuracy(epochs[e][1])} / {_fmt_loss(epochs[e][0])}" if e in epochs else "-"
                for e in range(1, comparison.epochs + 1)
            ),
        )
        steps = run.steps_to(target)
        summary.add_row(
            run.optimizer,
            _fmt(run.lr),
            _fmt(run.peak_lr),
            "not reached" if steps is None else str(steps),
            _fmt_accuracy(run.final_accuracy),
            _fmt_loss(run.final_loss),
        )
    console = _stdout()
    console.print(f"Validation accuracy / loss per epoch ({dataset})", style="italic")
    console.print(per_epoch)
    console.print(summary)
    for run in comparison.runs:
        if run.lr is None:
            console.print(
                f"{run.optimizer}: no learning rate, not trained: {run.suggestion.reason}"
            )
        elif run.history is not None and run.history.diverged:
            console.print(f"{run.optimizer}: training diverged at lr {_fmt(run.lr)}")
    reached = [(run.steps_to(target), run.optimizer) for run in comparison.runs]
    reached = [pair for pair in reached if pair[0] is not None]
    if reached:
        steps, name = min(reached)
        typer.echo(f"fastest to {_fmt_target(target)} validation accuracy: {name} ({steps} steps)")
    else:
        typer.echo(
            f"no optimizer reached {_fmt_target(target)} validation accuracy "
            f"in {comparison.epochs} epoch{'s' if comparison.epochs != 1 else ''}"
        )


# --------------------------------------------------------------------------- verify


def _slow_learner_to_verify(result, method: Method) -> bool:
    """Whether ``search`` verifies without being told: for auto's suggestion of a slow
    learner (the default test saw no learning and was extended). There the range test
    reads a curve that fell only near the largest stable rate, and a run from scratch
    disagrees with it most (README: Verify)."""
    from lrfinder.verification import verifiable

    slow = method is Method.auto and getattr(result, "slow_learner", False)
    return bool(slow) and verifiable(result)


def _run_verification(
    result, model, data, *, steps, seeds, seed, jobs, json_path, quiet, lrs=None, on_interrupt=None
):
    """Run :func:`lrfinder.verify` with a progress bar.

    The caller writes the finished verification. On Ctrl-C the probes that finished
    are saved (to ``json_path``, else a new file in the current folder),
    ``on_interrupt()`` may save more (it returns the path it wrote), and the command
    exits 130.
    """
    from lrfinder.verification import VerificationInterrupted
    from lrfinder.verification import verify as verify_rate

    with _progress(quiet, rate_and_loss=False) as progress:
        task = progress.add_task("verifying from scratch", total=1)

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            verification = verify_rate(
                result,
                model,
                data,
                lrs=lrs,
                steps=steps,
                seeds=seeds,
                seed=seed,
                n_jobs=jobs,
                callback=report,
            )
        except VerificationInterrupted as stop:
            progress.stop()
            path = json_path
            if path is None:
                stamp = time.strftime("%Y%m%d-%H%M%S")
                path = Path.cwd() / VERIFY_INTERRUPTED_NAME.format(stamp=stamp)
            stop.verification.to_json(path.expanduser())
            finished = sum(p.steps_trained > 0 for p in stop.verification.probes)
            also = ""
            if on_interrupt is not None:
                also = f"; the range test is in {on_interrupt()}"
            typer.echo(
                f"lrfinder: interrupted; the {finished} probe runs that had finished are in "
                f"{path}{also}",
                err=True,
            )
            sys.exit(EXIT_INTERRUPTED)
    return verification


def _plot_verification(verification, result, path: Path) -> None:
    from lrfinder.plotting import plot_verification

    plot_verification(verification, result, path=path.expanduser())


def _fmt_score(value: float | None, metric: str) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.3f}" if metric == "accuracy" else f"{value:.4g}"


def _describe_verification(verification) -> None:
    """The probe table (rate, score per seed, mean, diverged, chosen) and the budget."""
    from rich.table import Table

    v = verification
    decided = v.decided_at
    # the last column: where the chosen rate's confirmation stopped (the full budget, or
    # where the cost target stopped it), so that its score there is shown
    final = v.lr_steps if v.lr_steps not in (0, decided) else v.budgets[-1]
    seeds = v.settings.get("seeds") or sorted({p.seed for p in v.probes})
    table = Table(
        title=f"Verification: held-out {v.metric} after training from scratch",
        title_justify="left",
    )
    table.add_column("lr", style="bold", no_wrap=True)
    table.add_column("steps", justify="right")
    for s in seeds:
        table.add_column(f"seed {s}", justify="right")
    table.add_column("mean", justify="right")
    table.add_column(f"at {final}", justify="right")
    table.add_column("diverged")
    table.add_column("")
    for row in v.rows():
        step = min(row["step"], decided)
        probes = v.probes_of(row["lr"])
        scores = [
            (p.divergence or "diverged") if p.diverged else _fmt_score(_last_score(v, p), v.metric)
            for p in probes
        ]
        # no mean for a rate not scored at any rung (a stand-in probed from scratch): its
        # step-0 score is the untrained loss, and its last score is in the next column
        mean = None if row["diverged"] or not step else v.scores_at(step).get(row["lr"])
        marks = [m for m, on in (("chosen", row["chosen"]), ("suggested", row["suggestion"])) if on]
        table.add_row(
            _fmt(row["lr"]),
            str(step) if step else "-",
            *scores,
            _fmt_score(mean, v.metric),
            _fmt_score(v.scores_at(final).get(row["lr"]), v.metric),
            "yes" if row["diverged"] else "",
            ", ".join(marks),
        )
    console = _stdout()
    console.print(table)
    console.print(f"why: {v.reason}")


def _last_score(verification, probe) -> float | None:
    """A probe's score at the last rung it reached, up to the one the choice was made at."""
    reached = [b for b in verification.budgets if b in probe.steps and b <= verification.decided_at]
    return probe.score_at(reached[-1], verification.metric) if reached else None


def _verified_line(verification, optimizer: str | None, quiet: bool) -> None:
    """The verdict: the last line of the output, or the only one with --quiet."""
    v = verification
    if quiet:
        typer.echo(f"{v.lr:.6g}" if v.lr is not None else f"none: {v.reason}")
        return
    subject = f" for {optimizer}" if optimizer else ""
    if v.lr is None:
        typer.echo(f"no verified learning rate{subject}: {v.reason}")
        return
    if v.confirmed is None:
        verdict = "the suggestion was not probed"
    elif v.confirmed:
        verdict = f"confirms the suggestion {_fmt(v.suggestion)}"
    else:
        verdict = f"the suggestion {_fmt(v.suggestion)} was not confirmed"
    typer.echo(f"verified learning rate{subject}: {v.lr:.3g} ({verdict})")


#: What to do instead of ``lrfinder verify`` for a range test of a framework's model.
FRAMEWORK_VERIFY = {
    "torch": "verify it in Python with lrfinder.torch.verify(result, data, "
    "model_factory=..., criterion=...)",
    "keras": "train fresh models at a few rates across its band (printed by lrfinder analyze) "
    "and keep the best",
}

#: The hidden width and activation in a recorded ``repr`` of a TwoLayerNet.
_NET_REPR = r"TwoLayerNet\(\d+, (\d+), \d+, activation='(\w+)'"


def _recorded_network(result) -> tuple[int | None, str | None]:
    """The hidden width and activation of the network a saved run recorded, if any."""
    import re

    found = re.search(_NET_REPR, str(result.settings.get("model", "")))
    return (int(found.group(1)), found.group(2)) if found else (None, None)


def _parse_lrs(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise LRFinderError(
            f"--lrs {text!r} is not a comma-separated list of rates; give e.g. 0.01,0.03,0.1"
        ) from None


@app.command("verify", cls=_Command)
def verify_command(
    result_file: Annotated[
        Path,
        typer.Argument(
            metavar="RUN",
            help="A result saved with 'lrfinder search --json'.",
            show_default=False,
        ),
    ],
    dataset: Annotated[
        str | None,
        typer.Option(
            "--dataset",
            "-d",
            metavar="NAME|FILE",
            help="The data the run was made on: a bundled name or your .npz / .csv "
            "[default: the dataset the run recorded].",
            rich_help_panel=_DATA,
        ),
    ] = None,
    data_dir: DataDirOpt = None,
    download: DownloadOpt = True,
    n_samples: NSamplesOpt = None,
    task: TaskOpt = None,
    hidden: Annotated[
        int | None,
        typer.Option(
            min=1,
            metavar="N",
            help="Hidden units of the two-layer network [default: the run's].",
            rich_help_panel=_MODEL,
        ),
    ] = None,
    activation: Annotated[
        Activation | None,
        typer.Option(
            case_sensitive=False,
            metavar="NAME",
            help="Hidden activation [default: the run's].",
            rich_help_panel=_MODEL,
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            help="Seed of the data (synthetic sets), the held-out rows and the first probe "
            "[default: the run's].",
            rich_help_panel=_RUN,
        ),
    ] = None,
    steps: VerifyStepsOpt = None,
    seeds: Annotated[
        int,
        typer.Option(
            min=1,
            metavar="N",
            help="Seeds per candidate rate; two or more measure the noise.",
            rich_help_panel=_VERIFY,
        ),
    ] = 2,
    lrs: Annotated[
        str | None,
        typer.Option(
            metavar="LR,LR,...",
            help="Probe these rates instead of the ones around the run's suggestion.",
            rich_help_panel=_VERIFY,
        ),
    ] = None,
    jobs: JobsOpt = None,
    json_path: Annotated[
        Path | None,
        typer.Option(
            "--json",
            metavar="FILE",
            help="Save the verification (every probe's scores) as JSON.",
            rich_help_panel=_OUTPUT,
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Save a figure of the probes' scores under the range test (.png, .svg, .pdf).",
            rich_help_panel=_OUTPUT,
        ),
    ] = None,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="Print only the verified learning rate (or 'none: <reason>').",
            rich_help_panel=_OUTPUT,
        ),
    ] = False,
) -> None:
    """Check a saved run's suggestion by training from scratch."""
    _check_output(json_path, "--json")
    _check_output(plot, "--plot", FIGURE_SUFFIXES)
    rates = _parse_lrs(lrs)
    result = _load_result(result_file)
    settings = result.settings
    framework = settings.get("framework")
    if framework in FRAMEWORK_VERIFY:
        raise LRFinderError(
            f"{str(result_file)!r} is a range test of a {framework} model, which the command "
            f"line cannot rebuild; {FRAMEWORK_VERIFY[framework]}"
        )
    name = dataset or settings.get("data")
    if not name:
        raise LRFinderError(
            f"{str(result_file)!r} does not record its dataset; give it with --dataset"
        )
    seed = int(settings.get("seed", 0)) if seed is None else seed
    recorded_hidden, recorded_activation = _recorded_network(result)
    hidden = hidden or recorded_hidden or 128
    if activation is None:
        activation = Activation(recorded_activation or Activation.relu.value)
    data = _load_data(name, data_dir, download, n_samples, task, seed)
    model = _build_model(data, hidden, activation, seed)
    verification = _run_verification(
        result,
        model,
        data,
        steps=steps,
        seeds=seeds,
        seed=seed,
        jobs=jobs,
        json_path=json_path,
        quiet=quiet,
        lrs=rates,
    )
    if not quiet:
        _describe_verification(verification)
    _verified_line(verification, settings.get("optimizer"), quiet)
    failures = _write(
        [
            ("--json", json_path, verification.to_json),
            ("--plot", plot, lambda path: _plot_verification(verification, result, path)),
        ],
        quiet,
    )
    _exit_if_failed(failures)
