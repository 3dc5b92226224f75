"""A planted bug: `cs336_style.py` with its tie-break left out (only `choose` differs).

`max(pairs, key=pairs.get)` takes the first of the tied pairs in the counter's order (the
order in which pairs were first seen), not the lexicographically greater one. Every merge with
a unique best count still comes out right, so small tests often pass. `tokprep check-trainer`
finds it:

    tokprep check-trainer examples/trainers/forgot_tie_break.py:train_bpe \
        --tie-break lexicographic

reports the first merge where it goes wrong, the tied pairs and their count, and that its
choice is the one the first-seen rule would take.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)  # to import cs336_style.py next to this file, from any directory
from cs336_style import train_with  # noqa: E402


def choose(pairs: Counter[tuple[bytes, bytes]]) -> tuple[bytes, bytes]:
    """The most frequent pair; a tie goes to the first pair seen."""
    return max(pairs, key=pairs.get)  # THE BUG: the key should be (pairs[pair], pair)


def train_bpe(input_path, vocab_size, special_tokens):
    return train_with(choose, input_path, vocab_size, special_tokens)
