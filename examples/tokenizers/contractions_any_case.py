r"""A small GPT-2 tokenizer, as a learner might write it, with one classic bug:
case-insensitive contractions.

GPT-2's contractions are lower case only ("'S" is not one); cl100k's pattern made them
case-insensitive, and copying that into a GPT-2 tokenizer splits "'Sam" wrongly.

Find it with::

    tokprep check examples/tokenizers/contractions_any_case.py:tokenizer

This file is a deliberately wrong example for tokprep's conformance kit; do not copy the bug.
"""

import sys
from pathlib import Path

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)  # to import the shared _simple_bpe.py from any current directory
from _simple_bpe import small_gpt2  # noqa: E402

# BUG: (?i:...) makes 'S, 'T, 'LL ... contractions too (right for cl100k, not GPT-2).
PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

tokenizer = small_gpt2(PATTERN)
