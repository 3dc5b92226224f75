r"""A small GPT-2 tokenizer, as a learner might write it, with one classic bug:
a decode that drops invalid UTF-8.

A token can hold part of a character; decoding such IDs alone must give U+FFFD (as
tiktoken does), not silently drop the bytes with errors="ignore".

Find it with::

    tokprep check examples/tokenizers/decode_drops_bytes.py:tokenizer

This file is a deliberately wrong example for tokprep's conformance kit; do not copy the bug.
"""

import sys
from pathlib import Path

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)  # to import the shared _simple_bpe.py from any current directory
from _simple_bpe import SmallBPE, small_gpt2  # noqa: E402


class DropsBytes(SmallBPE):
    """The pattern and merges are right; decode() is not."""

    def decode(self, ids: list[int]) -> str:
        # BUG: errors="ignore" instead of "replace".
        return b"".join(self.decoder[i] for i in ids).decode("utf-8", errors="ignore")


tokenizer = small_gpt2(cls=DropsBytes)
