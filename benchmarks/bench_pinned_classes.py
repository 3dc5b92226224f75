"""Pre-tokenizing with the pinned Unicode classes against the installed `regex` module.

    .venv/bin/python -m pytest benchmarks/bench_pinned_classes.py -s

For each preset, the time to build the pinned regex (rewrite + `re.compile`, once per process),
then, per text, the median time of `Splitter.split` (pinned classes, stdlib `re`, stand-ins
above U+FFFF) over the median time of `regex.findall` with the pattern as written on the whole
text (the installed module's own tables; before the classes were pinned tokprep ran it on the
non-ASCII stretches of a text), paired round by round. Measured on the 2-core VM, 2026-11-30:
japanese-notes and taylorswift 0.35-0.63 (pinned faster); emoji-chat, where every character
above U+FFFF is swapped for a stand-in and the pieces are cut again from the original, 1.1-2.0.
"""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

import regex

from tokprep.bpe.patterns import CL100K_PATTERN, GPT2_PATTERN, O200K_PATTERN
from tokprep.bpe.pretokenize import Splitter
from tokprep.bpe.unicode_classes import pinned_pattern

DATA = Path(__file__).resolve().parent.parent / "data"
TEXTS = {
    "japanese-notes": (DATA / "japanese-notes.txt").read_text(encoding="utf-8"),
    "taylorswift": (DATA / "taylorswift.txt").read_text(encoding="utf-8"),
    "emoji-chat": " ".join(f"ok {i} 😀👍🏽 great 🚀 日本 𝐀𝐁c" for i in range(20_000)),
}
PRESETS = {"gpt2": GPT2_PATTERN, "cl100k": CL100K_PATTERN, "o200k": O200K_PATTERN}
ROUNDS = 7


def _seconds(function, text: str) -> float:
    start = time.perf_counter()
    function(text)
    return time.perf_counter() - start


def test_pinned_split_against_installed_regex():
    for preset, pattern in PRESETS.items():
        pinned_pattern.cache_clear()
        re.purge()
        start = time.perf_counter()
        re.compile(pinned_pattern(pattern, bmp_only=True))
        print(f"{preset}: pinned regex built in {(time.perf_counter() - start) * 1000:.1f} ms")
        pinned, installed = Splitter(pattern), regex.compile(pattern)
        for name, text in TEXTS.items():
            ours, theirs = [], []
            for _ in range(ROUNDS):
                ours.append(_seconds(pinned.split, text))
                theirs.append(_seconds(installed.findall, text))
            ratio = statistics.median(ours) / statistics.median(theirs)
            print(
                f"  {name}: pinned {statistics.median(ours) * 1000:.1f} ms, installed regex "
                f"{statistics.median(theirs) * 1000:.1f} ms, ratio {ratio:.2f}"
            )
            assert ratio < 3, "pinned classes made splitting much slower"
