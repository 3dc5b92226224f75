"""Exporting a byte-level BPE to the files other tools read: tiktoken, GPT-2, Hugging Face.

Everything here works on plain data: `ranks` (bytes -> rank, 256 bytes first), the pattern and
`special_tokens` (str -> ID). Files are written atomically.

Two ways to run BPE, and why the Hugging Face export lists more merges than there are tokens:

- tiktoken ranks the *result*: in a piece it repeatedly joins the adjacent pair whose
  concatenation has the lowest rank (the leftmost on a tie), and a piece that is itself a token
  is returned whole.
- GPT-2's `vocab.bpe` and Hugging Face rank the *pair*: only pairs listed as merges are joined,
  lowest merge index first.

The two agree when, for every token, every way of cutting it into two tokens is a listed merge,
ranked by the token's rank. `hf_merges` lists exactly that (the token's own parents first), and
the `tokenizer.json` sets Hugging Face's `ignore_merges` so a whole-token piece is kept whole.
What is left is a tie tiktoken breaks by position and Hugging Face by merge index: two
*different* cuts of the same token that are joinable at the same moment in one piece (like
`ab|a` and `a|ba` in `ab a ba`). Trained vocabularies rarely produce that state; the tests check
the corpora and random text.

GPT-2's own files (`encoder.json`, `vocab.bpe`) are read and written by `tokprep.bpe.gpt2_files`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from tokprep.bpe.cuts import TokenCuts
from tokprep.bpe.gpt2_files import token_to_unicode, unicode_to_token
from tokprep.bpe.merge import bpe_split
from tokprep.bpe.ranks import dump_tiktoken_bpe, validate_ranks
from tokprep.errors import ArgumentValueError
from tokprep.files import PathLike, atomic_write

__all__ = [
    "hf_merges",
    "hf_pattern",
    "merges_from_ranks",
    "write_hf_tokenizer_json",
    "write_tiktoken_file",
]


def _by_rank(ranks: Mapping[bytes, int]) -> list[bytes]:
    validate_ranks(ranks)
    tokens = [b""] * len(ranks)
    for token, rank in ranks.items():
        tokens[rank] = token
    return tokens


def merges_from_ranks(ranks: Mapping[bytes, int]) -> list[tuple[bytes, bytes]]:
    """Each learned token's two parents, in rank order: `result[i]` makes rank `256 + i`.

    The parents are the split BPE itself produces when it encodes the token's bytes with only
    the lower ranks; for a vocabulary trained by `train_bpe` that is the training merge. (The
    same recovery as in tiktoken's `_educational` module and in `bpeasy`.) It runs tokprep's
    own merge with a rank limit (`tokprep.bpe.merge.bpe_split`): O(n log n) for n bytes.
    """
    tokens = _by_rank(ranks)
    merges: list[tuple[bytes, bytes]] = []
    for rank in range(256, len(tokens)):
        token = tokens[rank]
        parts = bpe_split(token, ranks, rank)
        if len(parts) != 2:
            # validate_ranks guarantees a two-way cut exists; BPE may still not reach it.
            raise ArgumentValueError(
                f"token {token!r} (rank {rank}): BPE with the lower ranks splits it into "
                f"{len(parts)} parts, not 2, so no merge list reproduces these ranks. The ranks "
                "were not made by BPE training; export them as .tiktoken instead."
            )
        merges.append((parts[0], parts[1]))
    return merges


def _learned_tokens(ranks: Mapping[bytes, int]) -> list[bytes]:
    """The multi-byte tokens in rank order: ranks 256 on in a contiguous table, and the same
    idea in a table that keeps a file's own IDs (`tokprep.bpe.hf`)."""
    return sorted((token for token in ranks if len(token) > 1), key=ranks.__getitem__)


def _check_merges(
    merges: Sequence[tuple[bytes, bytes]], learned: list[bytes], ranks: Mapping[bytes, int]
) -> list[tuple[bytes, bytes]]:
    if len(merges) != len(learned):
        raise ArgumentValueError(
            f"merges has {len(merges)} entries but the ranks have {len(learned)} learned "
            "tokens; give one merge per learned token (TrainedBPE.merges), or merges=None"
        )
    checked = []
    for i, pair in enumerate(merges):
        left, right = pair
        if left + right != learned[i]:
            raise ArgumentValueError(
                f"merges[{i}] = {pair!r} makes {left + right!r}, but learned token {i} (rank "
                f"{ranks[learned[i]]}) is {learned[i]!r}; merges must be in rank order "
                "(TrainedBPE.merges)"
            )
        checked.append((left, right))
    return checked


def hf_merges(
    ranks: Mapping[bytes, int], merges: Sequence[tuple[bytes, bytes]] | None = None
) -> list[tuple[bytes, bytes]]:
    """The merge list under which pair-ranked BPE (GPT-2, Hugging Face) encodes as tiktoken does.

    For each token in rank order: its parents (from `merges`, or `merges_from_ranks`), then every
    other cut of it into two tokens, by cut position.
    """
    learned = _learned_tokens(ranks)
    parents = (
        merges_from_ranks(ranks) if merges is None else _check_merges(merges, learned, ranks)
    )
    result: list[tuple[bytes, bytes]] = []
    cutter = TokenCuts(ranks)  # the cuts whose halves are tokens, without slicing every cut
    for token, first in zip(learned, parents, strict=True):
        result.append(first)
        for cut, _, _ in cutter.cuts(token):
            if cut != len(first[0]):
                result.append((token[:cut], token[cut:]))
    return result


def write_tiktoken_file(ranks: Mapping[bytes, int], path: PathLike) -> None:
    """Write `ranks` as a `.tiktoken` file (tiktoken's `load_tiktoken_bpe` reads it)."""
    validate_ranks(ranks)
    with atomic_write(path, "wb") as f:
        f.write(dump_tiktoken_bpe(ranks))


def _rank(item: tuple[Any, int]) -> int:
    return item[1]


# --- Hugging Face tokenizer.json ------------------------------------------------------------


def _atom_end(pattern: str, start: int) -> int:
    """The end of the regex atom starting at `start` (an escape, a class, a group, a char)."""
    char = pattern[start]
    if char == "\\":
        if pattern[start + 1 : start + 2] in ("p", "P") and pattern[start + 2 : start + 3] == "{":
            return pattern.index("}", start) + 1
        return start + 2
    if char == "[":
        i = start + 1
        if pattern[i : i + 1] == "^":
            i += 1
        if pattern[i : i + 1] == "]":
            i += 1  # a leading "]" is a literal
        depth = 1
        while depth:
            c = pattern[i]
            if c == "\\":
                i += 2
                continue
            if c == "[":
                depth += 1
            elif c == "]":
                depth -= 1
            i += 1
        return i
    if char == "(":
        i, depth = start + 1, 1
        while depth:
            c = pattern[i]
            if c == "\\":
                i += 2
                continue
            if c == "[":
                i = _atom_end(pattern, i)
                continue
            depth += {"(": 1, ")": -1}.get(c, 0)
            i += 1
        return i
    return start + 1


def _group_head(group: str) -> int:
    """Length of a group's opening: `(`, `(?:`, `(?i:`, `(?>`, `(?=`, `(?<!`..."""
    if group[1:2] != "?":
        return 1
    if group[2:3] in ("=", "!", ">", ":"):
        return 3
    if group[2:4] in ("<=", "<!"):
        return 4
    i = 2
    while group[i] in "imsxauL-":
        i += 1
    return i + 1  # past the ":" (or the ")" of a bare flag group)


def hf_pattern(pattern: str) -> str:
    """`pattern` rewritten for Hugging Face's regex engine (Oniguruma, Ruby syntax).

    The one construct tiktoken's patterns use that Oniguruma reads differently is a possessive
    counted repeat: `X{1,3}+` is possessive in `regex` and fancy-regex, but means `(X{1,3})+`
    in Ruby syntax (cl100k would then keep any run of digits together). It becomes the atomic
    group `(?>X{1,3})`, which matches the same.
    """
    return rewrite_counted_plus(pattern, "(?>", keep_plus=False)


def rewrite_counted_plus(pattern: str, opener: str, *, keep_plus: bool) -> str:
    """`pattern` with each counted repeat followed by `+` (`X{1,3}+`, inside groups too) put in
    a group that starts with `opener`: `X{1,3}+` becomes `(?>X{1,3})` with `opener="(?>"`, or
    `(?:X{1,3})+` with `opener="(?:"` and `keep_plus=True` (the `+` then repeats the group).
    """
    out: list[str] = []
    i = 0
    while i < len(pattern):
        end = _atom_end(pattern, i)
        atom = pattern[i:end]
        if atom.startswith("(") and len(atom) > 2:
            # Rewrite inside the group, keeping its opening "(?...:" prefix as is.
            head = _group_head(atom)
            inner = rewrite_counted_plus(atom[head:-1], opener, keep_plus=keep_plus)
            atom = atom[:head] + inner + ")"
        j = end
        if j < len(pattern) and pattern[j] == "{":
            close = pattern.find("}", j)
            body = pattern[j + 1 : close] if close > 0 else ""
            if body and body.replace(",", "").isdigit() and pattern[close + 1 : close + 2] == "+":
                out.append(f"{opener}{atom}{pattern[j : close + 1]})")
                i = close + 1 if keep_plus else close + 2
                continue
        out.append(atom)
        i = end
    return "".join(out)


def write_hf_tokenizer_json(
    ranks: Mapping[bytes, int],
    pattern: str,
    special_tokens: Mapping[str, int],
    path: PathLike,
    merges: Sequence[tuple[bytes, bytes]] | None = None,
) -> None:
    """Write a Hugging Face `tokenizer.json` that encodes as tiktoken does with these ranks.

    `tokenizers.Tokenizer.from_file(path)` (and `transformers.PreTrainedTokenizerFast`) load
    it: pre-tokenizer = `Split` on the pattern (see `hf_pattern`) then `ByteLevel` without its
    own regex; model = BPE with every cut of every token as a merge (`hf_merges`; `merges`
    supplies each token's parents, default `merges_from_ranks`) and `ignore_merges`; decoder =
    `ByteLevel`; special tokens as added tokens with their IDs, and in the model's vocabulary.
    Ranks with gaps (a table imported with a file's own IDs, `tokprep.bpe.hf`) need `merges`.

    Known differences from tiktoken: the tie described in the module docstring, and characters
    newer than the Unicode version of Hugging Face's Oniguruma (assigned after Unicode 14 or
    so), which its `\\p{L}`/`\\s` classify differently and so may split differently.
    """
    from tokprep.bpe.patterns import resolve_pattern

    pattern = resolve_pattern(pattern)
    if merges is None or not ranks or max(ranks.values()) == len(ranks) - 1:
        validate_ranks(ranks, special_tokens=dict(special_tokens))
    else:  # a file's own IDs (ranks with gaps, special tokens anywhere), with their merges
        from tokprep.bpe.hf import check_id_table

        check_id_table(ranks, special_tokens, merges, "ranks")
    vocab = {token_to_unicode(token): rank for token, rank in ranks.items()}
    # The special tokens go in the model's vocabulary too, as Hugging Face's trainer writes
    # them: an added token whose text the vocabulary lacks gets the next free ID, whatever its
    # "id" says (cl100k's <|endoftext|> would become 100256 instead of 100257).
    clash = [name for name in special_tokens if name in vocab]
    if clash:
        raise ArgumentValueError(
            f"special token {clash[0]!r} is spelled like the mergeable token "
            f"{unicode_to_token(clash[0], 'ranks')!r} in Hugging Face's byte characters, so a "
            "tokenizer.json cannot hold both; rename the special token"
        )
    vocab.update(special_tokens)
    vocab = dict(sorted(vocab.items(), key=_rank))
    merge_lines = [
        f"{token_to_unicode(a)} {token_to_unicode(b)}" for a, b in hf_merges(ranks, merges)
    ]
    added = [
        {
            "id": index,
            "content": name,
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for name, index in sorted(special_tokens.items(), key=_rank)
    ]
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True}
    document = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {
                    "type": "Split",
                    "pattern": {"Regex": hf_pattern(pattern)},
                    "behavior": "Isolated",
                    "invert": False,
                },
                {**byte_level, "use_regex": False},
            ],
        },
        "post_processor": None,
        "decoder": {**byte_level, "use_regex": False},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": True,
            "vocab": vocab,
            "merges": merge_lines,
        },
    }
    with atomic_write(path, "w") as f:
        json.dump(document, f, ensure_ascii=False, indent=1)
        f.write("\n")
