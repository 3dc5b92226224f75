r"""A small GPT-2 tokenizer, as a learner might write it, with one classic bug:
`\s+` without the `\s+(?!\S)` look-ahead.

GPT-2 leaves the last space of a run for the next word ("  hi" is " ", " hi");
without the look-ahead the whole run becomes one piece ("  ", "hi").

Find it with::

    tokprep check examples/tokenizers/whitespace_lookahead.py:tokenizer

This file is a deliberately wrong example for tokprep's conformance kit; do not copy the bug.
"""

import sys
from pathlib import Path

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)  # to import the shared _simple_bpe.py from any current directory
from _simple_bpe import small_gpt2  # noqa: E402

# BUG: the `\s+(?!\S)` alternative is missing.
PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+"""

tokenizer = small_gpt2(PATTERN)
