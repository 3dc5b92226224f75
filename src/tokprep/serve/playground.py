"""What the playground page shows, as plain functions: no HTTP, no torch.

A `Playground` holds the tokenizers the page may pick (by label) and answers each view:

- `encode(label, text)`: the IDs, each token's span of the text (UTF-16 units, as the page's
  JavaScript strings count) and the counts. A character belongs to the token holding its first
  byte; a token made only of later bytes of a character gets an empty span (the page marks it).
- `token(label, id)`: a token's bytes (partial UTF-8 shown as `\\xNN`) and, for BPE, how it was
  built: its two parents and theirs, with ranks.
- `diff(candidate, reference, text)`: every span where the two cut or number the text
  differently, and the conformance kit's report (`tokprep.testing.report.explain`).
- `windows(label, text, max_length, stride)`: the input/target pairs of the textbook's
  `GPTDatasetV1`.
- `train(text, vocab_size, tie_break)`: BPE training one merge at a time with the reference
  trainer (`tokprep.testing.trainer_reference`), the top pairs and counts at each step; the
  result becomes a tokenizer the page can pick.

    >>> playground = Playground.default()
    >>> view = playground.encode("gpt2", "Hello world")
    >>> view["ids"], view["starts"], view["ends"]
    ([15496, 995], [0, 5], [5, 11])
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from tokprep.errors import ArgumentValueError, TokenizerSpecError, require_int, require_str

__all__ = ["BUILTIN_SPECS", "CORPORA", "Limits", "Playground", "shown_bytes"]

#: The tokenizers every playground offers: the shipped encodings and the chapter-2 word
#: tokenizers with The Verdict's vocabulary.
BUILTIN_SPECS = ("gpt2", "cl100k_base", "o200k_base", "words-v1", "words-v2", "words-v3")

#: Shipped texts the page may load or train on, by name (never a path from a request).
CORPORA = {"the-verdict": "the-verdict.txt"}


@dataclass(frozen=True)
class Limits:
    """What one request may ask for. A request over a limit gets an error naming it."""

    max_body_bytes: int = 4_000_000  # about a million characters of JSON-escaped text
    max_train_seconds: float = 20.0
    max_merges: int = 2_000
    max_train_characters: int = 1_000_000
    max_windows_shown: int = 200
    max_segments_shown: int = 2_000
    max_trained: int = 8  # trained tokenizers kept; the oldest goes first


@dataclass
class Entry:
    """One tokenizer the page can pick."""

    label: str
    spec: str | None  # what it was loaded from; None for one trained on the page
    tokenizer: Any  # what encodes (tiktoken's Encoding for the shipped encodings: fast)
    kind: str  # "bpe", "words" or "other"
    note: str = ""
    _bpe: Any = field(default=None, repr=False)  # tokprep's BPETokenizer, made when first needed

    def bpe(self) -> Any:
        """tokprep's `BPETokenizer` for this entry (decode errors and ranks), or None."""
        if self.kind != "bpe":
            return None
        if self._bpe is None:
            from tokprep.bpe import BPETokenizer
            from tokprep.bpe.encodings import get_encoding, is_encoding_name

            if isinstance(self.tokenizer, BPETokenizer):
                self._bpe = self.tokenizer
            elif isinstance(self.spec, str) and is_encoding_name(self.spec):
                self._bpe = get_encoding(self.spec)
            else:  # another tiktoken Encoding
                self._bpe = BPETokenizer.from_tiktoken(self.tokenizer)
        return self._bpe

    def describe(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "spec": self.spec,
            "kind": self.kind,
            "n_vocab": self.tokenizer.n_vocab,
            "note": self.note,
        }


def _kind(tokenizer: Any) -> str:
    if hasattr(tokenizer, "mergeable_ranks") or hasattr(tokenizer, "_mergeable_ranks"):
        return "bpe"
    if hasattr(tokenizer, "str_to_int"):
        return "words"
    return "other"


def utf16_length(data: bytes) -> int:
    """UTF-16 code units of the characters whose first byte is in `data` (a 4-byte character
    counts 2, as a JavaScript string does; continuation bytes count nothing)."""
    units = 0
    for byte in data:
        if byte < 0x80 or 0xC0 <= byte < 0xF0:
            units += 1
        elif byte >= 0xF0:
            units += 2
    return units


def shown_bytes(data: bytes) -> str:
    """Token bytes as readable text: characters as themselves, control characters escaped,
    bytes that are not whole UTF-8 characters as `\\xNN` (partial UTF-8 shown honestly).

    >>> shown_bytes(" caf\\xc3\\xa9\\n".encode("latin-1")), shown_bytes(b"\\xe2\\x80")
    (' café\\\\n', '\\\\xe2\\\\x80')
    """
    out = []
    for char in data.decode("utf-8", "surrogateescape"):
        point = ord(char)
        if 0xDC80 <= point <= 0xDCFF:  # a byte that is not part of a whole character
            out.append(f"\\x{point - 0xDC00:02x}")
        elif char == "\\":
            out.append("\\\\")
        elif point < 0x20 or point == 0x7F:
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(char, f"\\x{point:02x}"))
        else:
            out.append(char)
    return "".join(out)


def _utf16_offsets(text: str) -> list[int]:
    """UTF-16 position of each character of `text`, and the end."""
    out, position = [0], 0
    for char in text:
        position += 2 if ord(char) > 0xFFFF else 1
        out.append(position)
    return out


def _check_text(text: Any, what: str = "text") -> str:
    return require_str(what, text)


class Playground:
    """The tokenizers and the views of one playground (thread-safe)."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._entries: dict[str, Entry] = {}
        self._loaders: dict[str, Callable[[], Any]] = {}
        self._specs: dict[str, str | None] = {}
        self._trained: list[str] = []
        self._lock = threading.Lock()
        self._training = threading.Lock()

    # --- the tokenizers -------------------------------------------------------------------
    @classmethod
    def default(cls, specs: Iterable[str] = (), limits: Limits | None = None) -> Playground:
        """The built-in tokenizers, then each `[LABEL=]SPEC` of `specs` (loaded now, so a bad
        spec fails at start-up, not on the page)."""
        playground = cls(limits)
        for spec in BUILTIN_SPECS:
            playground.add_spec(spec, lazy=True)
        for spec in specs:
            playground.add_spec(spec)
        return playground

    def add_spec(self, spec: str, *, lazy: bool = False) -> str:
        """Add a tokenizer from `[LABEL=]SPEC` (`tokprep.resolve`); return its label."""
        from tokprep.resolve import load_tokenizer, parse_spec

        label, target = parse_spec(spec)
        label = label or target
        if lazy:
            with self._lock:
                self._loaders[label] = lambda: load_tokenizer(target)
                self._specs[label] = target
            return label
        self.add(label, load_tokenizer(target), spec=target)
        return label

    def add(self, label: str, tokenizer: Any, *, spec: str | None = None, note: str = "") -> None:
        """Add (or replace) the tokenizer `label`."""
        require_str("label", label)
        entry = Entry(label, spec, tokenizer, _kind(tokenizer), note)
        with self._lock:
            self._entries[label] = entry
            self._loaders.pop(label, None)
            self._specs[label] = spec

    def labels(self) -> list[str]:
        with self._lock:
            return list(self._specs)

    def entry(self, label: Any) -> Entry:
        """The tokenizer `label`, loaded on first use."""
        require_str("tokenizer", label)
        with self._lock:
            if label in self._entries:
                return self._entries[label]
            loader = self._loaders.get(label)
        if loader is None:
            raise TokenizerSpecError(
                f"no tokenizer {label!r} in this playground; it has: {', '.join(self.labels())} "
                "(add others with tokprep serve --tokenizer LABEL=SPEC)"
            )
        tokenizer = loader()
        with self._lock:
            entry = self._entries.setdefault(
                label, Entry(label, self._specs[label], tokenizer, _kind(tokenizer))
            )
        return entry

    def tokenizers(self) -> list[dict[str, Any]]:
        """Each tokenizer's label, spec, kind and vocabulary size."""
        return [self.entry(label).describe() for label in self.labels()]

    # --- Tokens ---------------------------------------------------------------------------
    def _ids(self, entry: Entry, text: str, special: bool) -> list[int]:
        if special:
            return list(entry.tokenizer.encode(text, allowed_special="all"))
        return list(entry.tokenizer.encode_ordinary(text))

    def _spans(
        self, entry: Entry, text: str, ids: list[int], special: bool
    ) -> tuple[list[int], list[int], list[bytes] | None]:
        """Each token's [start, end) in UTF-16 units of `text`, and its bytes when known."""
        if entry.kind == "bpe":
            pieces = list(entry.tokenizer.decode_tokens_bytes(ids))
            starts, ends, position = [], [], 0
            for piece in pieces:
                starts.append(position)
                position += utf16_length(piece)
                ends.append(position)
            return starts, ends, pieces
        if entry.kind == "words":
            spans = _word_spans(entry.tokenizer, text, special)
            if len(spans) == len(ids):
                units = _utf16_offsets(text)
                return [units[s] for s, _ in spans], [units[e] for _, e in spans], None
        # Any other tokenizer: find each decoded token in the text, in order.
        return (*_found_spans(entry.tokenizer, text, ids), None)

    def encode(self, label: Any, text: Any, *, special: bool = False) -> dict[str, Any]:
        """The Tokens view of `text` under tokenizer `label` (see the module docstring)."""
        text = _check_text(text)
        entry = self.entry(label)
        ids = self._ids(entry, text, bool(special))
        starts, ends, _ = self._spans(entry, text, ids, bool(special))
        n_bytes = len(text.encode("utf-8", "surrogatepass"))
        return {
            "tokenizer": entry.label,
            "kind": entry.kind,
            "ids": ids,
            "starts": starts,
            "ends": ends,
            "tokens": len(ids),
            "characters": len(text),
            "bytes": n_bytes,
            "characters_per_token": round(len(text) / len(ids), 3) if ids else None,
            "bytes_per_token": round(n_bytes / len(ids), 3) if ids else None,
        }

    def token(self, label: Any, token_id: Any) -> dict[str, Any]:
        """One token: its bytes, how they show, and for BPE its merge chain with ranks."""
        entry = self.entry(label)
        require_int("id", token_id)
        bpe = entry.bpe()
        if bpe is None:
            text = entry.tokenizer.decode([token_id])
            data = text.encode("utf-8", "surrogatepass")
            return {"id": token_id, **_bytes_view(data), "special": False, "chain": None}
        data = bpe.decode_single_token_bytes(token_id)
        special = token_id in set(bpe.special_tokens.values())
        chain = None if special else _merge_chain(bpe.mergeable_ranks, data, token_id)
        return {"id": token_id, **_bytes_view(data), "special": special, "chain": chain}

    def decode(self, label: Any, ids: Any) -> dict[str, Any]:
        """Decode `ids` (a list of ints); bad IDs raise the library's named errors."""
        entry = self.entry(label)
        if not isinstance(ids, list):
            raise TypeError(f"ids must be a list of integers, got {type(ids).__name__}")
        decoder = entry.bpe() or entry.tokenizer
        if entry.kind == "bpe":
            data = decoder.decode_bytes(ids)
            return {"text": data.decode("utf-8", "replace"), "shown": shown_bytes(data)}
        return {"text": decoder.decode(ids), "shown": None}

    # --- Differences ------------------------------------------------------------------------
    def diff(
        self, candidate: Any, reference: Any, text: Any, *, compare_ids: bool = True
    ) -> dict[str, Any]:
        """Where `candidate` and `reference` part ways on `text`: every divergent span (the first
        one first), and the conformance kit's report on their IDs."""
        from tokprep.testing.adapters import adapt
        from tokprep.testing.report import explain

        text = _check_text(text)
        cand, ref = self.entry(candidate), self.entry(reference)
        cand_ids, ref_ids = self._ids(cand, text, False), self._ids(ref, text, False)
        cand_view = self._spans(cand, text, cand_ids, False)
        ref_view = self._spans(ref, text, ref_ids, False)
        segments = divergent_segments(
            _keyed(cand_view, cand_ids, compare_ids), _keyed(ref_view, ref_ids, compare_ids)
        )
        cand_subject = adapt(cand.tokenizer, name=cand.label)
        ref_subject = adapt(ref.tokenizer, name=ref.label)
        cand_subject.spec, ref_subject.spec = cand.spec, ref.spec
        report = explain("playground", text, cand_ids, ref_ids, cand_subject, ref_subject)
        shown = segments[: self.limits.max_segments_shown]
        for segment in shown:
            for side, view, ids in (
                ("candidate", cand_view, cand_ids),
                ("reference", ref_view, ref_ids),
            ):
                segment[side] = [[view[0][i], view[1][i], ids[i]] for i in segment[side]]
        return {
            "candidate": cand.label,
            "reference": ref.label,
            "compare_ids": bool(compare_ids),
            "segments": shown,
            "segments_total": len(segments),
            "candidate_tokens": len(cand_ids),
            "reference_tokens": len(ref_ids),
            "same": not segments,
            "report": report.format() if report.index is not None else None,
            "first_index": report.index,
        }

    # --- Windows ----------------------------------------------------------------------------
    def windows(self, label: Any, text: Any, max_length: Any, stride: Any) -> dict[str, Any]:
        """The textbook's `GPTDatasetV1` cut of the IDs of `text`: for i in range(0, len(ids) -
        max_length, stride), input ids[i:i+max_length], target ids[i+1:i+max_length+1]."""
        text = _check_text(text)
        max_length = require_int("max_length", max_length, minimum=1)
        stride = require_int("stride", stride, minimum=1)
        entry = self.entry(label)
        ids = self._ids(entry, text, False)
        starts = range(0, len(ids) - max_length, stride)
        shown: list[dict[str, Any]] = [
            {
                "start": i,
                "input": ids[i : i + max_length],
                "target": ids[i + 1 : i + max_length + 1],
            }
            for i in starts[: self.limits.max_windows_shown]
        ]
        pieces: dict[int, str] = {}
        for window in shown:
            for token in (*window["input"], *window["target"]):
                if token not in pieces:
                    pieces[token] = self._piece(entry, token)
        return {
            "tokenizer": entry.label,
            "tokens": len(ids),
            "count": len(starts),
            "windows": shown,
            "pieces": {str(k): v for k, v in pieces.items()},
            "note": (
                f"{len(ids)} tokens give no window of max_length {max_length}: the text needs at "
                f"least {max_length + 1} tokens"
                if not starts
                else ""
            ),
        }

    def _piece(self, entry: Entry, token: int) -> str:
        bpe = entry.bpe()
        if bpe is not None:
            return shown_bytes(bpe.decode_single_token_bytes(token))
        return entry.tokenizer.decode([token])

    # --- Training ---------------------------------------------------------------------------
    def corpus(self, name: Any) -> str:
        """A shipped text, by name (`CORPORA`)."""
        require_str("corpus", name)
        if name not in CORPORA:
            raise ArgumentValueError(
                f"no shipped corpus {name!r}; the playground has: {', '.join(CORPORA)}"
            )
        return (resources.files("tokprep") / "data" / CORPORA[name]).read_text(encoding="utf-8")

    def train(
        self,
        text: Any,
        vocab_size: Any,
        *,
        tie_break: Any = "hf",
        label: Any = "trained",
        top: Any = 5,
    ) -> dict[str, Any]:
        """Train a byte-level BPE (GPT-2 pattern) on `text` one merge at a time; record each
        step's top pairs, their counts and the winner under `tie_break`; add the result as the
        tokenizer `label`."""
        from tokprep.resolve import _LABEL

        text = _check_text(text)
        limits = self.limits
        vocab_size = require_int("vocab_size", vocab_size, minimum=257)
        top = min(require_int("top", top, minimum=1), 50)  # pairs shown per step
        require_str("label", label)
        if not _LABEL.fullmatch(label):
            raise ArgumentValueError(
                f"label {label!r}: use letters, digits and _ . + - (it names the tokenizer)"
            )
        if label in self._specs and label not in self._trained:
            raise ArgumentValueError(
                f"label {label!r} names a tokenizer that was not trained here; pick another"
            )
        if vocab_size - 256 > limits.max_merges:
            raise ArgumentValueError(
                f"vocab_size {vocab_size} asks for {vocab_size - 256} merges; the playground "
                f"trains at most {limits.max_merges} (vocab_size {256 + limits.max_merges}). "
                "Use `tokprep train` for bigger vocabularies."
            )
        if len(text) > limits.max_train_characters:
            raise ArgumentValueError(
                f"the training text has {len(text)} characters; the playground trains on at "
                f"most {limits.max_train_characters}. Use `tokprep train` for bigger corpora."
            )
        # One training at a time: each holds a core for up to max_train_seconds.
        if not self._training.acquire(blocking=False):
            raise ArgumentValueError(
                "another training is running in this playground; try again when it is done"
            )
        try:
            return self._train(text, vocab_size, tie_break, label, top)
        finally:
            self._training.release()

    def _train(self, text: str, vocab_size: int, tie_break: Any, label: str, top: int) -> dict:
        from tokprep.bpe import BPETokenizer
        from tokprep.testing.trainer_reference import ReferenceTrainer

        limits = self.limits
        started = time.monotonic()
        trainer = ReferenceTrainer(text, tie_break=tie_break)
        steps: list[dict[str, Any]] = []
        while len(trainer.tokens) < vocab_size:
            if time.monotonic() - started > limits.max_train_seconds:
                raise ArgumentValueError(
                    f"training stopped at merge {len(steps)} of {vocab_size - 256}: it took over "
                    f"{limits.max_train_seconds:g} s, the playground's limit (tokprep serve "
                    "--train-seconds). Ask for a smaller vocab_size or train on less text."
                )
            counts = trainer.pair_counts()
            step = trainer.step()
            if step is None:
                break
            steps.append(_step_view(trainer, step, counts, top))
        ranks = {token: i for i, token in enumerate(trainer.tokens)}
        tokenizer = BPETokenizer(ranks, "gpt2", name=label)
        note = f"trained here: {len(steps)} merges, tie_break={tie_break}"
        with self._lock:
            if label in self._trained:
                self._trained.remove(label)
            self._trained.append(label)
            while len(self._trained) > limits.max_trained:
                old = self._trained.pop(0)
                self._entries.pop(old, None)
                self._specs.pop(old, None)
        self.add(label, tokenizer, note=note)
        return {
            "label": label,
            "tie_break": tie_break,
            "steps": steps,
            "vocab_size": tokenizer.n_vocab,
            "complete": tokenizer.n_vocab >= vocab_size,
            "seconds": round(time.monotonic() - started, 3),
        }


def _step_view(trainer: Any, step: Any, counts: Mapping[tuple[int, int], int], top: int) -> dict:
    """One merge: the top pairs (count, then first occurrence), the winner and the tie."""
    tokens = trainer.tokens
    best = heapq.nlargest(top, counts.items(), key=lambda item: item[1])
    winner = (trainer.id_of[step.pair[0]], trainer.id_of[step.pair[1]])

    def pair(ids: tuple[int, int], count: int) -> dict[str, Any]:
        a, b = ids
        return {
            "left": shown_bytes(tokens[a]),
            "right": shown_bytes(tokens[b]),
            "ids": [a, b],
            "count": count,
            "wins": ids == winner,
        }

    pairs = [pair(ids, count) for ids, count in best]
    if not any(p["wins"] for p in pairs):
        pairs.append(pair(winner, step.count))
    merged = step.pair[0] + step.pair[1]
    return {
        "index": step.index,
        "merged": shown_bytes(merged),
        "id": trainer.id_of[merged],
        "count": step.count,
        "tied": len(step.tied),
        "pairs": pairs,
    }


def _bytes_view(data: bytes) -> dict[str, Any]:
    try:
        data.decode("utf-8")
        utf8 = "whole characters"
    except UnicodeDecodeError:
        utf8 = "partial UTF-8: not whole characters"
    return {"hex": data.hex(" "), "shown": shown_bytes(data), "utf8": utf8}


def _merge_chain(ranks: Mapping[bytes, int], data: bytes, rank: int, depth: int = 0) -> dict:
    """How BPE built `data` (rank `rank`): the split BPE makes with only the lower ranks is the
    merge that made it (as `merges_from_ranks`); each part, the same way down to bytes."""
    from tokprep.bpe.merge import bpe_split

    node: dict[str, Any] = {"id": rank, "shown": shown_bytes(data), "parts": None}
    if len(data) > 1 and depth < 64:
        parts = bpe_split(data, ranks, rank)
        if len(parts) == 2:
            node["parts"] = [_merge_chain(ranks, p, ranks[p], depth + 1) for p in parts]
        else:
            node["note"] = f"BPE with the lower ranks leaves {len(parts)} parts, not 2"
    return node


def _word_spans(tokenizer: Any, text: str, special: bool) -> list[tuple[int, int]]:
    """Character spans of a word tokenizer's tokens, the way its `encode` cuts the text."""
    from tokprep.special import check_special, split_special
    from tokprep.tokenizers.words import _pieces

    specials = tokenizer.special_tokens
    allowed = check_special(text, specials, "all", ()) if special else frozenset()
    spans, offset = [], 0
    for piece, is_special in split_special(text, allowed):
        if is_special:
            spans.append((offset, offset + len(piece)))
        else:
            for word, start in _pieces(piece, tokenizer.pattern, tokenizer.keep_whitespace):
                spans.append((offset + start, offset + start + len(word)))
        offset += len(piece)
    return spans


def _found_spans(tokenizer: Any, text: str, ids: list[int]) -> tuple[list[int], list[int]]:
    """Spans found by searching each decoded token in the text, in order; a token not found
    gets an empty span where the search stands."""
    units = _utf16_offsets(text)
    starts, ends, position = [], [], 0
    for token in ids:
        try:
            piece = tokenizer.decode([token])
        except Exception:  # any tokenizer: a token it cannot show alone has an empty span
            piece = ""
        at = text.find(piece, position) if piece else -1
        if at < 0:
            starts.append(units[position])
            ends.append(units[position])
            continue
        starts.append(units[at])
        ends.append(units[at + len(piece)])
        position = at + len(piece)
    return starts, ends


def _keyed(
    view: tuple[list[int], list[int], list[bytes] | None], ids: list[int], compare_ids: bool
) -> list[tuple[int, int, Any]]:
    starts, ends, pieces = view
    return [
        (s, e, (pieces[i] if pieces is not None else None, ids[i] if compare_ids else None, i))
        for i, (s, e) in enumerate(zip(starts, ends, strict=True))
    ]


def divergent_segments(
    candidate: list[tuple[int, int, Any]], reference: list[tuple[int, int, Any]]
) -> list[dict[str, Any]]:
    """The spans where two tokenizations differ. Each token is `(start, end, key)` where
    `key = (bytes or None, id or None, index)`. The text is cut where both tokenizations have a
    cut; a stretch between two such cuts diverges when its tokens differ in span, bytes or ID.

    >>> a = [(0, 2, (b"ab", None, 0)), (2, 3, (b"c", None, 1))]
    >>> b = [(0, 1, (b"a", None, 0)), (1, 3, (b"bc", None, 1))]
    >>> [(s["start"], s["end"]) for s in divergent_segments(a, b)]
    [(0, 3)]
    """
    cuts_a = {p for s, e, _ in candidate for p in (s, e)}
    cuts_b = {p for s, e, _ in reference for p in (s, e)}
    end = max([0, *cuts_a, *cuts_b])
    common = sorted((cuts_a & cuts_b) | {0, end})
    bounds = list(itertools.pairwise(common))
    if not bounds:
        return []

    def group(tokens: list[tuple[int, int, Any]]) -> list[list[tuple[int, int, Any]]]:
        # A token goes to the stretch its start lies in (one at the very end, to the last).
        groups: list[list[tuple[int, int, Any]]] = [[] for _ in bounds]
        k = 0
        for token in tokens:
            while k + 1 < len(bounds) and token[0] >= bounds[k][1]:
                k += 1
            groups[k].append(token)
        return groups

    out: list[dict[str, Any]] = []
    for (low, high), a, b in zip(bounds, group(candidate), group(reference), strict=True):
        if [(s, e, key[0], key[1]) for s, e, key in a] != [
            (s, e, key[0], key[1]) for s, e, key in b
        ]:
            out.append(
                {
                    "start": low,
                    "end": high,
                    "candidate": [key[2] for _, _, key in a],
                    "reference": [key[2] for _, _, key in b],
                }
            )
    return out
