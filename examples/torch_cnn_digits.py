"""A small convolutional net on digits in PyTorch: find its learning rate, then train at it.

::

    pip install -e ".[torch]"
    python examples/torch_cnn_digits.py                  # writes torch_cnn_digits.png
    python examples/torch_cnn_digits.py --plot lr.svg --epochs 5

The range test runs on the model and optimizer you will train, and leaves them exactly
as they were; the plot is lrfinder's usual one (raw and smoothed loss, the slope, each
method's suggestion and the band of good rates).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

import lrfinder.torch
from lrfinder import load_dataset


def convnet(seed: int = 0) -> torch.nn.Module:
    """8x8 images -> 10 classes: two 3x3 convolutions, a pooling, a linear layer."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(16, 16, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(16 * 4 * 4, 10),
    )


def tensors(x: np.ndarray, y: np.ndarray, scale: float):
    images = torch.from_numpy(x.astype(np.float32) * np.float32(scale)).reshape(-1, 1, 8, 8)
    return images, torch.from_numpy(y.astype(np.int64))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", default="torch_cnn_digits.png", help="where to draw the test")
    parser.add_argument("--epochs", type=int, default=3, help="training epochs at the rate found")
    parser.add_argument("--repeats", type=int, default=1, help="range tests (fresh models)")
    args = parser.parse_args()

    data = load_dataset("digits")  # bundled with scikit-learn, offline
    x, y = tensors(data.x_train, data.y_train, data.x_scale)
    x_test, y_test = tensors(data.x_test, data.y_test, data.x_scale)
    train = torch.utils.data.TensorDataset(x, y)
    loader = torch.utils.data.DataLoader(train, batch_size=64, shuffle=True)

    model = convnet()
    optimizer = torch.optim.Adam(model.parameters())
    criterion = torch.nn.CrossEntropyLoss()
    result = lrfinder.torch.find_lr(
        model, loader, optimizer, criterion, repeats=args.repeats, model_factory=convnet
    )
    print(f"range test: {len(result.lrs)} steps; {result.stop_reason}")
    print(f"why: {result.analysis.reason}")
    result.plot(path=args.plot)
    print(f"plot: {args.plot}")
    lr = result.suggestion
    if lr is None:
        print("no learning rate suggested")
        return 1
    low, high = result.analysis.suggestion.band
    print(f"suggested learning rate: {lr:.3g} (band {low:.3g} to {high:.3g})")

    for group in optimizer.param_groups:  # the model and optimizer are as before the test
        group["lr"] = lr
    for _ in range(args.epochs):
        model.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            criterion(model(xb), yb).backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(x_test).argmax(1) == y_test).double().mean().item()
    print(f"test accuracy after {args.epochs} epoch(s) at {lr:.3g}: {100 * accuracy:.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
