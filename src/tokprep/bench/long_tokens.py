"""Long tokens and long pieces: time and memory from 64 KiB to 4 MiB (issue 17, section 3).

A run of one character in a corpus (a separator line, padding, base64 of zeros) is one piece,
and BPE training turns it into tokens of the run's length: `a`, `aa`, `aaaa`, ... Three kinds
of work meet such tokens, and each used to grow with the square of their length:

- checking a vocabulary (`validate_ranks`, on every load): 60 s for a 1 MiB token;
- recovering merges from ranks (`merges_from_ranks`: `save()`, GPT-2 and Hugging Face
  export): 112 s for a 32 KiB token;
- encoding the run (`bpe_merge`): linear time already, but ~170 bytes of memory per byte.

`measure(size)` times the first two on the vocabulary of `a` * 2**j up to `size` bytes, times
encoding `a` * size with GPT-2's ranks, and measures that encoding's peak memory in a fresh
process (the growth of its resident high-water mark, per byte of the piece). `run(sizes)` adds
the growth factor per doubling (2.0 is linear; quadratic work gives 4.0).
"""

from __future__ import annotations

import subprocess
import sys
import time

#: The sizes of the issue: 64 KiB to 4 MiB, doubling.
SIZES = tuple(1 << bits for bits in range(16, 23))

# The high-water mark of this process's resident memory, in KiB: VmHWM, not `ru_maxrss`, which
# Linux carries over from the parent through fork and exec.
_MEMORY_PROBE = """
import re, sys
from tokprep.bpe.merge import HUGE_PIECE, bpe_merge
from tokprep.bpe.ranks import gpt2_ranks
def peak():
    with open("/proc/self/status") as f:
        return int(re.search(r"VmHWM:\\s*(\\d+)", f.read()).group(1))
ranks = gpt2_ranks()
piece = b"a" * int(sys.argv[1])
bpe_merge(b"a" * (HUGE_PIECE + 1), ranks)  # imports and first allocations before measuring
before = peak()
bpe_merge(piece, ranks)
print((peak() - before) * 1024 / len(piece))
"""


def doubling_vocab(size: int) -> dict[bytes, int]:
    """The 256 bytes plus `a` * 2, 4, ..., `size` (a power of two): what BPE trains on a run."""
    ranks = {bytes([b]): b for b in range(256)}
    length = 2
    while length <= size:
        ranks[b"a" * length] = len(ranks)
        length *= 2
    return ranks


def encode_peak_bytes_per_byte(size: int) -> float:
    """Peak memory of `bpe_merge(b"a" * size)` with GPT-2's ranks, per byte, in a fresh
    process (the growth of Linux's VmHWM)."""
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, str(size)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return float(done.stdout)


def measure(size: int, *, memory: bool = True) -> dict[str, float]:
    """Seconds to validate and to recover the merges of the vocabulary whose longest token is
    `size` bytes, seconds to encode `a` * `size` with GPT-2's ranks, and (with `memory`) that
    encoding's peak bytes per byte."""
    from tokprep.bpe.export import merges_from_ranks
    from tokprep.bpe.merge import bpe_merge
    from tokprep.bpe.ranks import gpt2_ranks, validate_ranks

    ranks = doubling_vocab(size)
    start = time.perf_counter()
    validate_ranks(ranks)
    validate_s = time.perf_counter() - start
    start = time.perf_counter()
    merges_from_ranks(ranks)
    merges_s = time.perf_counter() - start
    gpt2 = gpt2_ranks()
    piece = b"a" * size
    start = time.perf_counter()
    bpe_merge(piece, gpt2)
    encode_s = time.perf_counter() - start
    result = {
        "bytes": float(size),
        "validate_s": validate_s,
        "merges_from_ranks_s": merges_s,
        "encode_s": encode_s,
    }
    if memory:
        result["encode_peak_bytes_per_byte"] = encode_peak_bytes_per_byte(size)
    return result


def run(sizes: tuple[int, ...] = SIZES, *, memory: bool = True) -> list[dict[str, float]]:
    """`measure` at each size; from the second size on, also each time's growth factor since
    the previous size (`*_growth`)."""
    rows: list[dict[str, float]] = []
    for size in sizes:
        row = measure(size, memory=memory)
        if rows:
            previous = rows[-1]
            doublings = max((size // int(previous["bytes"])).bit_length() - 1, 1)
            for key in ("validate_s", "merges_from_ranks_s", "encode_s"):
                ratio = row[key] / max(previous[key], 1e-9)
                row[key.removesuffix("_s") + "_growth"] = ratio ** (1 / doublings)
        rows.append(row)
    return rows


def format_rows(rows: list[dict[str, float]]) -> str:
    """A plain-text table of `run`'s rows."""
    lines = [
        f"{'token':>9} {'validate':>10} {'x':>5} {'merges':>9} {'x':>5} {'encode':>8} {'x':>5} "
        f"{'peak B/B':>9}"
    ]
    for row in rows:
        size = int(row["bytes"])
        label = f"{size >> 20} MiB" if size >= 1 << 20 else f"{size >> 10} KiB"

        def growth(key: str, row: dict[str, float] = row) -> str:
            value = row.get(key)
            return f"{value:5.2f}" if value is not None else "    -"

        peak = row.get("encode_peak_bytes_per_byte")
        lines.append(
            f"{label:>9} {row['validate_s'] * 1e3:8.2f}ms {growth('validate_growth')} "
            f"{row['merges_from_ranks_s']:8.2f}s {growth('merges_from_ranks_growth')} "
            f"{row['encode_s']:7.2f}s {growth('encode_growth')} "
            + (f"{peak:9.1f}" if peak is not None else f"{'-':>9}")
        )
    return "\n".join(lines)


if __name__ == "__main__":  # python -m tokprep.bench.long_tokens [max bytes]
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else SIZES[-1]
    print(format_rows(run(tuple(s for s in SIZES if s <= limit))))
