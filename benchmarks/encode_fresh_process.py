"""Cold and warm encoding, one encoding per fresh process: the numbers of README "Encodings".

`tokprep bench` times every contender in one process, which costs pure-Python cold encoders
10-15% (a bigger heap, the CPU cache shared with the other encoders). This script measures each
encoding alone, the way issue 11 states its goals: a fresh `BPETokenizer` per round built
before the clock starts (cold), one encoder primed by two untimed passes (warm), each paired
per round with tiktoken's time on the same text; the ratio is the median of per-round ratios.

    python benchmarks/encode_fresh_process.py [--rounds 9] [--corpus data/war_and_peace.txt]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ENCODINGS = ("gpt2", "cl100k_base", "o200k_base")


def measure(encoding: str, corpus: str, rounds: int) -> dict[str, float]:
    """Runs in the child: median ratios (tokprep time ÷ tiktoken time) for cold and warm."""
    from tokprep.bpe import BPETokenizer, tiktoken_encoding

    text = Path(corpus).read_text(encoding="utf-8")
    reference = tiktoken_encoding(encoding)
    warm = BPETokenizer.from_encoding(encoding)
    warm.encode_ordinary(text)
    warm.encode_ordinary(text)
    reference.encode_ordinary(text)

    def timed(encode) -> float:
        gc.collect()
        start = time.perf_counter()
        encode(text)
        return time.perf_counter() - start

    cold_ratios, warm_ratios = [], []
    for _ in range(rounds):
        fresh = BPETokenizer.from_encoding(encoding)  # built outside the clock
        tiktoken_time = timed(reference.encode_ordinary)
        cold_ratios.append(timed(fresh.encode_ordinary) / tiktoken_time)
        warm_ratios.append(timed(warm.encode_ordinary) / tiktoken_time)
        del fresh
    return {
        "cold": statistics.median(cold_ratios),
        "warm": statistics.median(warm_ratios),
        "cold_range": [min(cold_ratios), max(cold_ratios)],
        "warm_range": [min(warm_ratios), max(warm_ratios)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--corpus", default="data/war_and_peace.txt")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.corpus, args.rounds)))
        return
    print(
        f"{args.corpus}, {args.rounds} rounds, one fresh process per encoding; "
        "tokprep time ÷ tiktoken time (median of per-round ratios) [min, max]"
    )
    for encoding in ENCODINGS:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                encoding,
                "--rounds",
                str(args.rounds),
                "--corpus",
                args.corpus,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        r = json.loads(out)
        print(
            f"{encoding:12} cold {r['cold']:.2f} [{r['cold_range'][0]:.2f}, "
            f"{r['cold_range'][1]:.2f}]  warm {r['warm']:.2f} [{r['warm_range'][0]:.2f}, "
            f"{r['warm_range'][1]:.2f}]"
        )


if __name__ == "__main__":
    main()
