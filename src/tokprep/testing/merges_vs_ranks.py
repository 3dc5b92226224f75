"""Merge-list BPE against rank BPE: texts on which one vocabulary gives two tokenizations.

Two ways to run the same byte-level BPE vocabulary:

- rank BPE (tiktoken): repeatedly join the adjacent pair whose joined bytes have the lowest
  rank, whatever merge created that token;
- merge-list BPE (Hugging Face `models.BPE`, GPT-2's original `encoder.py`): repeatedly apply
  the listed merge `(left, right)` with the lowest index, leftmost first; with
  `ignore_merges=True` (Hugging Face, used for Llama 3) a piece that is a whole token is
  taken as that token first.

They agree when every token is reachable through its own listed merge in the order rank BPE
would take, which training guarantees for the merges it actually made, but not for merges
recovered from ranks alone or for pieces that reach a token through another split.
`compare_merges_and_ranks(ranks, merges)` searches the pieces most likely to differ (every
token's own bytes, each token with one common byte before or after it, and the pieces of any
given corpora) and returns the texts where they do, each as a real text: one that the pattern
pre-tokenizes into that piece.

    python -m tokprep.testing.merges_vs_ranks gpt2 cl100k_base trained

prints the counts and a few examples for GPT-2 (its published merge list), cl100k_base (merges
recovered from the ranks, as converters to Hugging Face do) and a vocabulary tokprep trains.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import regex

from tokprep.bpe.merge import bpe_merge

__all__ = ["MergesVsRanks", "compare_merges_and_ranks", "merge_list_encode"]

Pair = tuple[bytes, bytes]

#: Bytes tried after and before each token: a space, common letters and punctuation.
NEIGHBOURS = b" es.,'\n0"


def merge_list_encode(
    piece: bytes,
    ranks: Mapping[bytes, int],
    merge_index: Mapping[Pair, int],
    *,
    ignore_merges: bool = False,
) -> list[int]:
    """Encode one piece the merge-list way: lowest merge index first, leftmost among equals."""
    if ignore_merges and piece in ranks:
        return [ranks[piece]]
    parts = [piece[i : i + 1] for i in range(len(piece))]
    while len(parts) > 1:
        best_index, best_at = None, -1
        for at in range(len(parts) - 1):
            index = merge_index.get((parts[at], parts[at + 1]))
            if index is not None and (best_index is None or index < best_index):
                best_index, best_at = index, at
        if best_index is None:
            break
        parts[best_at : best_at + 2] = [parts[best_at] + parts[best_at + 1]]
    return [ranks[p] for p in parts]


@dataclass
class MergesVsRanks:
    """What `compare_merges_and_ranks` found: counts and up to `keep` examples of each kind."""

    name: str
    pieces_checked: int
    differ: int = 0  # merge-list (no ignore_merges) != rank BPE
    differ_ignore_merges: int = 0  # merge-list with ignore_merges != rank BPE
    examples: list[dict[str, object]] = field(default_factory=list)
    examples_ignore_merges: list[dict[str, object]] = field(default_factory=list)

    def format(self) -> str:
        lines = [
            f"{self.name}: {self.pieces_checked:,} pieces checked; merge-list BPE differs from "
            f"rank BPE on {self.differ:,} (with ignore_merges: {self.differ_ignore_merges:,})"
        ]
        for label, examples in (
            ("without ignore_merges", self.examples),
            ("with ignore_merges", self.examples_ignore_merges),
        ):
            for example in examples:
                lines.append(
                    f"  {label}: {example['text']!r}: ranks {example['ranks']}, "
                    f"merges {example['merges']}"
                )
        return "\n".join(lines)


def _candidates(
    ranks: Mapping[bytes, int], neighbours: bytes, texts: Iterable[str], pattern: str | None
) -> Iterable[bytes]:
    if texts:
        split = regex.compile(pattern or r"\S+|\s+").findall
        for text in texts:
            for piece in split(text):
                yield piece.encode("utf-8")
    for token in sorted(ranks, key=ranks.__getitem__):
        if len(token) > 1:
            yield token
        for byte in neighbours:
            yield token + bytes([byte])
            yield bytes([byte]) + token


def compare_merges_and_ranks(
    ranks: Mapping[bytes, int],
    merges: Sequence[Pair] | None = None,
    *,
    pattern: str | None = None,
    name: str = "vocabulary",
    keep: int = 5,
    neighbours: bytes = NEIGHBOURS,
    texts: Iterable[str] = (),
) -> MergesVsRanks:
    """Search pieces on which merge-list and rank BPE disagree for one vocabulary.

    `merges`: the merge list (default: recovered from the ranks with
    `tokprep.bpe.export.merges_from_ranks`). `pattern`: keep only pieces that are a whole text
    on their own under this pre-tokenizer (valid UTF-8 that splits into just that piece).
    `texts`: corpora whose pieces (under `pattern`) are checked first.
    """
    if merges is None:
        from tokprep.bpe.export import merges_from_ranks

        merges = merges_from_ranks(ranks)
    merge_index = {pair: i for i, pair in enumerate(merges)}
    compiled = regex.compile(pattern) if pattern else None
    report = MergesVsRanks(name, 0)
    seen: set[bytes] = set()
    for piece in _candidates(ranks, neighbours, texts, pattern):
        if piece in seen:
            continue
        seen.add(piece)
        if compiled is not None:
            try:
                text = piece.decode("utf-8")
            except UnicodeDecodeError:
                continue
            if compiled.findall(text) != [text]:
                continue
        report.pieces_checked += 1
        by_rank = bpe_merge(piece, ranks)
        plain = merge_list_encode(piece, ranks, merge_index)
        ignoring = merge_list_encode(piece, ranks, merge_index, ignore_merges=True)
        shown = piece.decode("utf-8", "backslashreplace")
        if plain != by_rank:
            report.differ += 1
            if len(report.examples) < keep:
                report.examples.append({"text": shown, "ranks": by_rank, "merges": plain})
        if ignoring != by_rank:
            report.differ_ignore_merges += 1
            if len(report.examples_ignore_merges) < keep:
                report.examples_ignore_merges.append(
                    {"text": shown, "ranks": by_rank, "merges": ignoring}
                )
    return report


def _main(names: list[str]) -> int:  # pragma: no cover - a measurement, run by hand
    from pathlib import Path

    from tokprep.bpe.encodings import encoding_info, encoding_ranks
    from tokprep.bpe.export import hf_merges
    from tokprep.bpe.gpt2_files import bytes_to_unicode

    data = Path(__file__).resolve().parents[3] / "data"
    texts = [
        (data / f"{corpus}.txt").read_text(encoding="utf-8")
        for corpus in ("taylorswift", "war_and_peace", "japanese-notes", "tinyshakespeare")
    ]
    for name in names or ["gpt2", "cl100k_base", "trained"]:
        if name == "trained":
            from tokprep.bpe.train import train_bpe

            text = (data / "taylorswift.txt").read_text(encoding="utf-8")
            trained = train_bpe(text, 5000, progress=False)
            ranks, merges, pattern = trained.ranks, trained.merges, trained.pattern
            name = "tokprep-trained (taylorswift, 5000)"
        else:
            info = encoding_info(name)
            ranks, merges, pattern = encoding_ranks(info.name), None, info.pattern
            if info.name in ("gpt2", "r50k_base") and (data / "vocab.bpe").exists():
                decode = {c: b for b, c in bytes_to_unicode().items()}
                lines = (data / "vocab.bpe").read_text(encoding="utf-8").splitlines()[1:]
                merges = [
                    tuple(bytes(decode[c] for c in part) for part in line.split(" "))  # type: ignore[misc]
                    for line in lines
                    if line
                ]
        kinds = [("its merges" if merges else "merges recovered from ranks", merges)]
        kinds.append(("every two-token cut (tokprep's HF export)", hf_merges(ranks, merges)))
        for label, listed in kinds:
            report = compare_merges_and_ranks(
                ranks, listed, pattern=pattern, name=f"{name}, {label}", texts=texts
            )
            print(report.format(), flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main(sys.argv[1:]))
