"""`tokprep encode`, `decode` and `show`: BPE from the command line."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    pass
