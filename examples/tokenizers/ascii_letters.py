r"""A small GPT-2 tokenizer, as a learner might write it, with one classic bug:
ASCII-only letter and digit classes.

`[a-zA-Z]` and `[0-9]` stand in for `\p{L}` and `\p{N}`, so accented letters, other
scripts and non-ASCII digits fall into the punctuation branch and are split differently.

Find it with::

    tokprep check examples/tokenizers/ascii_letters.py:tokenizer

This file is a deliberately wrong example for tokprep's conformance kit; do not copy the bug.
"""

import sys
from pathlib import Path

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)  # to import the shared _simple_bpe.py from any current directory
from _simple_bpe import small_gpt2  # noqa: E402

# BUG: [a-zA-Z] / [0-9] instead of \p{L} / \p{N}.
PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?[a-zA-Z]+| ?[0-9]+| ?[^\sa-zA-Z0-9]+|\s+(?!\S)|\s+"""

tokenizer = small_gpt2(PATTERN)
