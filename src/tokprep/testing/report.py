"""Reports a person can act on: where a candidate's tokens leave the reference's, in what
pre-token, what kind of bug it looks like, and a reproducer to paste.

`explain(text, candidate_ids, reference_ids, candidate, reference)` builds a `Divergence`;
`Divergence.format()` prints it. The checks make one for every failure they find.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from tokprep.testing.adapters import Subject

__all__ = ["Divergence", "explain", "reproducer"]

#: Characters of context shown either side of the first divergent token.
CONTEXT = 20

PRETOKENIZER = "pre-tokenizer split"
MERGES = "merge order"
SPECIALS = "special tokens"
DECODING = "decoding"
CRASH = "crash"


@dataclass
class Divergence:
    """One failure, shrunk: the input and where, what and why the outputs differ."""

    check: str
    text: str | None
    message: str
    candidate_ids: list[int] | None = None
    reference_ids: list[int] | None = None
    index: int | None = None  # first divergent token
    context: str | None = None  # text around it
    offset: int | None = None  # the character where the divergent token starts
    context_offset: int | None = None  # the same, inside `context`
    candidate_tokens: list[str] = field(default_factory=list)  # bytes, shown from there on
    reference_tokens: list[str] = field(default_factory=list)
    pretoken: str | None = None  # the reference's pre-token it happened in
    guess: str | None = None  # the kind of bug it looks like
    reproducer: str = ""
    shrunk: bool = False  # found by a property check: hypothesis made it as small as it could

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def format(self) -> str:
        lines = [f"{self.check}: {self.message}"]
        if self.text is not None:
            lines.append(f"  input{' (shrunk)' if self.shrunk else ''}: {self.text!r}")
        if self.index is not None:
            where = f"#{self.index}, at character {self.offset}"
            if self.context is not None and self.context_offset is not None:
                before = self.context[: self.context_offset]
                after = self.context[self.context_offset :]
                where += f": {before!r} + {after!r}"
            lines.append(f"  first divergent token: {where}")
        if self.pretoken is not None:
            lines.append(f"  in the reference's pre-token: {self.pretoken!r}")
        if self.candidate_ids is not None:
            lines.append(f"  candidate IDs: {_clip(self.candidate_ids)}")
            if self.candidate_tokens:
                lines.append(f"  candidate tokens from there: {' '.join(self.candidate_tokens)}")
        if self.reference_ids is not None:
            lines.append(f"  reference IDs: {_clip(self.reference_ids)}")
            if self.reference_tokens:
                lines.append(f"  reference tokens from there: {' '.join(self.reference_tokens)}")
        if self.guess:
            lines.append(f"  likely cause: {self.guess}")
        if self.reproducer:
            lines.append("  reproduce with:")
            lines += ["    " + line for line in self.reproducer.splitlines()]
        return "\n".join(lines)


def _clip(ids: list[int], limit: int = 40) -> str:
    shown = ", ".join(map(str, ids[:limit]))
    count = f"{len(ids)} token{'s' if len(ids) != 1 else ''}"
    return f"[{shown}{', ...' if len(ids) > limit else ''}] ({count})"


def first_difference(a: list[int], b: list[int]) -> int | None:
    """The first index where `a` and `b` differ (the shorter length if one is a prefix)."""
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def token_bytes_of(subject: Subject, token: int) -> bytes | None:
    """The bytes of token `token` (its decoding where the subject cannot say), or None."""
    try:
        if subject.token_bytes is not None:
            return subject.token_bytes(token)
        if subject.decode is not None:
            return subject.decode([token]).encode("utf-8", "surrogatepass")
    except Exception:
        return None
    return None


def _shown(data: bytes | None) -> str:
    return "?" if data is None else repr(data)[1:]


def _pretokens(text: str, pattern: str | None) -> list[str] | None:
    if pattern is None:
        return None
    try:
        from tokprep.bpe.pretokenize import splitter

        return splitter(pattern).split(text)
    except Exception:  # a pattern tokprep cannot compile: no pre-token shown
        return None


def explain(
    check: str,
    text: str,
    candidate_ids: list[int],
    reference_ids: list[int],
    candidate: Subject,
    reference: Subject,
    *,
    message: str = "token IDs differ from the reference's",
    call: str = "ids",
) -> Divergence:
    """Describe how `candidate_ids` (of `text`) leave `reference_ids`."""
    index = first_difference(candidate_ids, reference_ids)
    divergence = Divergence(
        check=check,
        text=text,
        message=message,
        candidate_ids=list(candidate_ids),
        reference_ids=list(reference_ids),
        index=index,
        reproducer=reproducer(text, candidate, reference, call=call),
    )
    if index is None:
        return divergence
    ref_bytes = [token_bytes_of(reference, t) for t in reference_ids]
    # IDs compared with the reference's share its vocabulary: when the candidate cannot show a
    # token's bytes (no decode_single_token_bytes), the reference's bytes for that ID are shown.
    shower = candidate if candidate.token_bytes is not None else reference
    cand_bytes = [token_bytes_of(shower, t) for t in candidate_ids]
    divergence.reference_tokens = [_shown(b) for b in ref_bytes[index : index + 6]]
    divergence.candidate_tokens = [_shown(b) for b in cand_bytes[index : index + 6]]
    data = text.encode("utf-8", "surrogatepass")
    start = sum(len(b or b"") for b in ref_bytes[:index])  # byte offset where they part
    char = len(data[:start].decode("utf-8", "ignore"))
    low = max(0, char - CONTEXT)
    divergence.context = text[low : char + CONTEXT]
    divergence.offset, divergence.context_offset = char, char - low
    # The reference's pre-token holding that byte, and a guess at the kind of bug.
    if hasattr(reference.source, "str_to_int"):  # a word tokenizer: its pattern is re.split's
        divergence.guess = (
            f"{PRETOKENIZER}: the candidate cuts the text into other words than the reference, "
            f"which splits with re.split({reference.pattern!r}) and maps unknown words to <|unk|>"
        )
        return divergence
    pieces = _pretokens(text, reference.pattern)
    offset = 0
    for piece in pieces or ():
        size = len(piece.encode("utf-8", "surrogatepass"))
        if offset <= start < offset + size:
            divergence.pretoken = piece
            break
        offset += size
    divergence.guess = _guess(
        text, data, start, cand_bytes, pieces, reference, candidate, candidate_ids, reference_ids
    )
    return divergence


def _guess(
    text: str,
    data: bytes,
    start: int,
    cand_bytes: list[bytes | None],
    pieces: list[str] | None,
    reference: Subject,
    candidate: Subject,
    candidate_ids: list[int],
    reference_ids: list[int],
) -> str:
    specials = reference.special_tokens
    special_ids = set(specials.values())
    if (set(candidate_ids) | set(reference_ids)) & special_ids and _inside_special(
        data, start, specials
    ):
        return f"{SPECIALS}: the tokens part where the text spells a special token"
    if any(b is None for b in cand_bytes):
        return f"{DECODING}: some candidate IDs have no bytes to show"
    if b"".join(cand_bytes) != data:  # type: ignore[arg-type]
        return f"{DECODING}: the candidate's tokens do not spell the input's bytes"
    if not pieces:
        return "unknown (the reference shows no pre-tokenizer pattern)"
    cuts, offset, crossing = set(), 0, None
    offset, boundaries = 0, []
    for piece in pieces:
        size = len(piece.encode("utf-8", "surrogatepass"))
        boundaries.append((offset, offset + size, piece))
        offset += size
    offset = 0
    for token in cand_bytes:
        end = offset + len(token)  # type: ignore[arg-type]
        if offset >= start and crossing is None:  # the first candidate token that differs
            crossing = next((high for _, high, _ in boundaries if offset < high < end), None)
            if crossing is not None:
                return (
                    f"{PRETOKENIZER}: the candidate's token {token!r} crosses the reference's "
                    f"pre-token boundary at byte {crossing}"
                )
            crossing = -1
        cuts.add(end)
        offset = end
    # The differing token stays inside one pre-token. Inside the pre-token where they part,
    # either the candidate cut it finer where the character class changes (its pattern), or it
    # merged differently (its BPE).
    for low, high, piece in boundaries:
        if low <= start < high:
            alone = _outcome_ids(candidate, piece)
            if alone is not None and alone == _outcome_ids(reference, piece):
                return (
                    f"{PRETOKENIZER}: the pre-token {piece!r} alone encodes right, so the "
                    "candidate cuts the text around it differently"
                )
            inner = sorted(c - low for c in cuts if low < c < high)
            if _finer_split_explains(piece, inner, cand_bytes, low, reference):
                return (
                    f"{PRETOKENIZER}: the candidate cuts the pre-token {piece!r} where the "
                    "character class changes (letter/digit/space/other, ASCII or not)"
                )
    return f"{MERGES}: same pre-tokens, different merges inside {_piece_at(boundaries, start)!r}"


def _outcome_ids(subject: Subject, text: str) -> list[int] | None:
    try:
        return list(subject.ids(text))
    except Exception:
        return None


def _piece_at(boundaries: list[tuple[int, int, str]], start: int) -> str:
    return next((piece for low, high, piece in boundaries if low <= start < high), "")


def _inside_special(data: bytes, start: int, specials: Mapping[str, int]) -> bool:
    for special in specials:
        spelled = special.encode()
        at = data.find(spelled)
        while at != -1:
            if at - 8 <= start <= at + len(spelled):  # at, inside or just before it
                return True
            at = data.find(spelled, at + 1)
    return False


def _char_class(char: str) -> tuple[str, bool]:
    category = unicodedata.category(char)[0]
    kind = (
        "space"
        if char.isspace()
        else {"L": "letter", "N": "digit", "M": "letter"}.get(category, "other")
    )
    return kind, char.isascii()


def _finer_split_explains(
    piece: str, inner_cuts: list[int], cand_bytes: list[bytes | None], low: int, ref: Subject
) -> bool:
    """Whether cutting `piece` at its class changes that are candidate cuts, then encoding
    each part with the reference, gives the candidate's tokens for this piece."""
    data = piece.encode("utf-8", "surrogatepass")
    cuts, position = [], 0
    for before, after in itertools.pairwise(piece):
        position += len(before.encode("utf-8", "surrogatepass"))
        if position in inner_cuts and _char_class(before) != _char_class(after):
            cuts.append(position)
    if not cuts:
        return False
    parts = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    try:
        expected = [token_bytes_of(ref, t) for part in parts for t in ref.ids(part.decode("utf-8"))]
    except Exception:
        return False
    got, offset = [], 0
    for token in cand_bytes:
        if low <= offset < low + len(data):
            got.append(token)
        offset += len(token or b"")
    return got == expected


def reproducer(text: str, candidate: Subject, reference: Subject, *, call: str = "ids") -> str:
    """Python lines that show the failure again (`call` is a `Subject` method name)."""
    cand = repr(candidate.spec) if candidate.spec else "my_tokenizer"
    ref = repr(reference.spec) if reference.spec else "reference_tokenizer"
    lines = ["from tokprep.testing import adapt"]
    if not (candidate.spec and reference.spec):
        lines.append("# replace the names below with the tokenizer objects you tested")
    lines += [
        f"candidate = adapt({cand})",
        f"reference = adapt({ref})",
        f"text = {text!r}",
        f"print(candidate.{call}(text))",
        f"print(reference.{call}(text))",
    ]
    return "\n".join(lines)
