"""``python -m lrfinder``: the same command line as ``lrfinder``."""

from lrfinder.cli import main

main()
