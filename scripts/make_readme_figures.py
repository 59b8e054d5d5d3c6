"""Draw the two figures README.md shows, into docs/images/.

* ``range_test.png``: a range test of Adam on the bundled digits, every suggestion rule
  marked, with the loss's slope below.
* ``optimizers.png``: the six optimizers, each trained at the rate its own range test
  found, validation accuracy and loss against steps, with the step each reached 91%.

Both use the bundled digits by default, so the script runs offline in about ten seconds::

    python scripts/make_readme_figures.py
    python scripts/make_readme_figures.py --dataset mnist --epochs 1   # MNIST for the comparison

Seeds are fixed, so a rerun on the same library version redraws the same pictures.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from lrfinder import TwoLayerNet, find_lr, load_dataset
from lrfinder.compare import DEFAULT_TARGET, compare_optimizers
from lrfinder.plotting import plot_histories, plot_result

OUT_DIR = Path(__file__).resolve().parents[1] / "docs" / "images"
SEED = 0
HIDDEN = 128


def range_test_figure(path: Path) -> None:
    """Adam on digits: the figure that explains what lrfinder reads from a curve."""
    data = load_dataset("digits")
    model = TwoLayerNet.for_dataset(data, n_hidden=HIDDEN, seed=SEED)
    result = find_lr(model, data, optimizer="adam", seed=SEED)
    plot_result(result, path=path, title="Learning-rate range test: Adam on digits")
    print(f"{path}: suggested lr {result.suggestion:.3g} ({result.stop_reason})")


def optimizers_figure(path: Path, dataset: str, epochs: int) -> None:
    """Each optimizer at its own found rate, all from the same weights and batches."""
    data = load_dataset(dataset)
    comparison = compare_optimizers(data, epochs=epochs, n_hidden=HIDDEN, seed=SEED)
    fig = plot_histories(comparison.histories(), target=DEFAULT_TARGET)
    fig.suptitle(
        f"Six optimizers on {data.name}, each at the rate its own range test found",
        fontsize=13,
        fontweight="bold",
    )
    fig.savefig(path, dpi=150)
    for run in comparison.runs:
        steps = run.steps_to(DEFAULT_TARGET)
        print(f"  {run.optimizer:>8}: lr {run.lr:.3g}, {DEFAULT_TARGET:.0%} at step {steps}")
    print(f"{path}: {len(comparison.runs)} optimizers, {epochs} epoch(s) each")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset", default="digits", help="dataset of the optimizer comparison (default digits)"
    )
    parser.add_argument(
        "--epochs", type=int, default=3, help="training epochs per optimizer (default 3)"
    )
    parser.add_argument("--out", type=Path, default=OUT_DIR, help=f"folder (default {OUT_DIR})")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    range_test_figure(args.out / "range_test.png")
    optimizers_figure(args.out / "optimizers.png", args.dataset, args.epochs)
    print(f"done in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
