"""Run the real ``lrfinder`` entry point, :func:`lrfinder.cli.main`, with captured streams.

The tests of the command line share this instead of typer's ``CliRunner.invoke``:
that one runs the typer app itself, in click's standalone mode, and so would skip
what ``main`` does (one-line errors and exit codes).
"""

from __future__ import annotations

from dataclasses import dataclass

from typer.testing import CliRunner

from lrfinder import cli


@dataclass
class Outcome:
    """What one run of the command printed, and how it ended."""

    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None = None

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(args, input=None, env=None) -> Outcome:
    """``lrfinder ARGS...`` in this process; an error let through (LRFINDER_DEBUG) is kept."""
    with CliRunner().isolation(input=input, env=env) as (out, err, _):
        code, exception = 0, None
        try:
            cli.main([str(a) for a in args])
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 0 if stop.code is None else 1
        except Exception as error:  # noqa: BLE001 - kept for the test to look at
            code, exception = 1, error
        return Outcome(code, out.getvalue().decode(), err.getvalue().decode(), exception)
