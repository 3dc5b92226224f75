r"""A small GPT-2 tokenizer, as a learner might write it, with one classic bug:
merging the first pair found instead of the lowest-ranked one.

BPE must apply merges in the order they were learned (lowest rank first); merging the
leftmost mergeable pair gives valid tokens but different ones.

Find it with::

    tokprep check examples/tokenizers/first_pair_merge.py:tokenizer

This file is a deliberately wrong example for tokprep's conformance kit; do not copy the bug.
"""

import itertools
import sys
from pathlib import Path

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)  # to import the shared _simple_bpe.py from any current directory
from _simple_bpe import SmallBPE, small_gpt2  # noqa: E402


class FirstPairMerge(SmallBPE):
    """The pattern is right; the merge loop is not."""

    def merge(self, data: bytes) -> list[bytes]:
        parts = [bytes([byte]) for byte in data]
        while len(parts) > 1:
            # BUG: merges the first mergeable pair from the left, whatever its rank.
            mergeable = [
                i for i, (a, b) in enumerate(itertools.pairwise(parts)) if a + b in self.ranks
            ]
            if not mergeable:
                break
            i = mergeable[0]
            parts[i : i + 2] = [parts[i] + parts[i + 1]]
        return parts


tokenizer = small_gpt2(cls=FirstPairMerge)
