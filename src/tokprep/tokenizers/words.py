"""Regex word tokenizers: the first tokenizers of the textbook pipeline, done carefully.

A word tokenizer splits text with a regular expression, then maps each piece to an ID through a
vocabulary built from a corpus:

    words = split_words(text)           # ['I', 'HAD', 'always', 'thought', ...]
    vocab = build_vocab(words)          # {'!': 0, ..., '<|unk|>': 1130, '<|endoftext|>': 1131}
    SimpleTokenizerV2(vocab).encode("Hello, do you like tea?")

- `SimpleTokenizerV1` refuses words it does not know (`UnknownTokenError` lists them all).
- `SimpleTokenizerV2` maps them to `<|unk|>` and understands `<|endoftext|>`.
- `SimpleTokenizerV3` also keeps whitespace as tokens, so `decode(encode(s)) == s` exactly
  whenever every piece of `s` is in the vocabulary (V1/V2 decode re-joins words with spaces).

All three treat text that spells a special token the tiktoken way: refused unless allowed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tokprep.errors import (
    ArgumentValueError,
    InvalidTokenError,
    TokenizerFileError,
    UnknownTokenError,
    require_str,
)
from tokprep.files import PathLike, read_envelope, write_envelope
from tokprep.special import (
    SPECIAL_SHAPE,
    AllowedSpecial,
    check_special,
    special_tokens_problem,
    split_special,
)

#: The textbook's split: punctuation, double dashes and every whitespace character.
BOOK_PATTERN = r'([,.:;?_!"()\']|--|\s)'
#: An older notebook's split: punctuation counts only when a space follows it.
PUNCT_SPACE_PATTERN = r'([,.:;?_!"()\'] |--|\s)'

UNK = "<|unk|>"
ENDOFTEXT = "<|endoftext|>"
DEFAULT_SPECIALS = (UNK, ENDOFTEXT)

# Decoding re-joins V1/V2 tokens with spaces, then removes the space before punctuation, with
# the textbook's sets, so decoded text matches its output exactly: V1's lacks ':' and ';',
# V2's has them (chapter 2: `re.sub(r'\s+([,.?!"()\'])', ...)`, then `[,.:;?!"()\']` in V2).
_SPACE_BEFORE_PUNCT = re.compile(r"""\s+([,.?!"()'])""")
_SPACE_BEFORE_PUNCT_V2 = re.compile(r"""\s+([,.:;?!"()'])""")


def _pieces(text: str, pattern: str, keep_whitespace: bool) -> list[tuple[str, int]]:
    """`re.split(pattern, text)` with each piece's character offset.

    Without `keep_whitespace`, pieces are stripped and empty ones dropped (the textbook's
    `[item.strip() for item in re.split(...) if item.strip()]`). With it, pieces are kept whole
    and only empty ones dropped, so the pieces concatenate back to `text`... as long as the
    pattern captures the whole separator (BOOK_PATTERN does).
    """
    out: list[tuple[str, int]] = []

    def add(piece: str, offset: int) -> None:
        if keep_whitespace:
            if piece:
                out.append((piece, offset))
            return
        stripped = piece.strip()
        if stripped:
            out.append((stripped, offset + len(piece) - len(piece.lstrip())))

    start = 0
    for match in re.finditer(pattern, text):
        add(text[start : match.start()], start)
        for index in range(1, (match.re.groups or 0) + 1):
            group = match.group(index)
            if group is not None:
                add(group, match.start(index))
        start = match.end()
    add(text[start:], start)
    return out


def split_words(
    text: str, pattern: str = BOOK_PATTERN, *, keep_whitespace: bool = False
) -> list[str]:
    """Split `text` into word and punctuation tokens (`re.split`, strip, drop empties).

    With `keep_whitespace=True` every whitespace character the pattern captures is a token too,
    which is what `SimpleTokenizerV3` and its vocabularies need.
    """
    require_str("text", text)
    return [piece for piece, _ in _pieces(text, pattern, keep_whitespace)]


def build_vocab(
    tokens: Iterable[str], special_tokens: Sequence[str] = DEFAULT_SPECIALS
) -> dict[str, int]:
    """Sorted unique tokens get IDs 0..n-1; the special tokens follow, in the order given.

    The default order is the chapter-2 notebook's (`<|unk|>` = 1130, `<|endoftext|>` = 1131 on
    "The Verdict"); the book's current notebook appends `<|endoftext|>` first:

    >>> words = ["a", "b"]
    >>> build_vocab(words)
    {'a': 0, 'b': 1, '<|unk|>': 2, '<|endoftext|>': 3}
    >>> build_vocab(words, special_tokens=("<|endoftext|>", "<|unk|>"))
    {'a': 0, 'b': 1, '<|endoftext|>': 2, '<|unk|>': 3}
    """
    if isinstance(tokens, str) or not isinstance(tokens, Iterable):
        raise TypeError(
            "build_vocab takes an iterable of str tokens; call split_words(text) first, "
            f"got {type(tokens).__name__}"
        )
    if isinstance(special_tokens, str) or not isinstance(special_tokens, Sequence):
        raise TypeError(
            "special_tokens must be a sequence such as ('<|unk|>', '<|endoftext|>'): its order "
            f"sets their IDs; got {type(special_tokens).__name__}"
        )
    specials = list(special_tokens)
    for token in specials:
        require_str("each special token", token)
    if len(set(specials)) != len(specials):
        raise ArgumentValueError(f"special_tokens has duplicates: {specials!r}")
    if problem := special_tokens_problem(specials):
        raise ArgumentValueError(problem)
    unique = set(tokens)
    for token in unique:
        if not isinstance(token, str):
            raise TypeError(
                f"build_vocab takes str tokens, got {type(token).__name__} {token!r}; "
                "call split_words(text) to get them"
            )
    words = sorted(unique - set(specials))
    return {token: index for index, token in enumerate([*words, *specials])}


def _check_vocab(vocab: Mapping[str, int], source: str) -> dict[str, int]:
    """Vocabularies map distinct tokens to the distinct IDs 0..n-1."""
    if not isinstance(vocab, Mapping):
        raise TypeError(f"vocab must be a dict of token -> id, got {type(vocab).__name__}")
    if not vocab:
        raise TokenizerFileError(f"{source}: the vocabulary is empty.")
    for token, index in vocab.items():
        if not isinstance(token, str) or isinstance(index, bool) or not isinstance(index, int):
            raise TokenizerFileError(
                f"{source}: entry {token!r}: {index!r} must map a string to an integer ID."
            )
    by_id: dict[int, str] = {}
    for token, index in vocab.items():
        if index in by_id:
            raise TokenizerFileError(
                f"{source}: the ID {index} is given to both {by_id[index]!r} and {token!r}; "
                "each ID must name one token."
            )
        by_id[index] = token
    expected = range(len(vocab))
    if set(by_id) != set(expected):
        missing = sorted(set(expected) - set(by_id))[:5]
        raise TokenizerFileError(
            f"{source}: IDs must be 0..{len(vocab) - 1} with no gaps; missing {missing} "
            f"(largest ID is {max(by_id)}). Renumber with build_vocab()."
        )
    return dict(vocab)


class SimpleTokenizerV1:
    """Maps each word of the text to its vocabulary ID; unknown words are an error."""

    def __init__(
        self,
        vocab: Mapping[str, int],
        pattern: str = BOOK_PATTERN,
        *,
        special_tokens: Iterable[str] | None = None,
    ) -> None:
        self.str_to_int: dict[str, int] = _check_vocab(vocab, "vocab")
        self.int_to_str: dict[int, str] = {i: s for s, i in self.str_to_int.items()}
        self.pattern = require_str("pattern", pattern)
        try:
            re.compile(pattern)  # fail now, not on the first encode
        except re.error as e:  # not a ValueError
            raise ArgumentValueError(f"pattern {pattern!r} is not a valid regex: {e}") from None
        if special_tokens is None:
            # Entries shaped like <|name|> are the special tokens unless the caller says otherwise.
            special_tokens = [t for t in self.str_to_int if SPECIAL_SHAPE.fullmatch(t)]
        specials = list(special_tokens)
        for token in specials:
            if token not in self.str_to_int:
                raise ArgumentValueError(f"special token {token!r} is not in the vocabulary")
        if problem := special_tokens_problem(specials):
            raise ArgumentValueError(problem)
        self.special_tokens: dict[str, int] = {t: self.str_to_int[t] for t in specials}

    keep_whitespace = False

    # --- the tiktoken-compatible surface ---
    @property
    def n_vocab(self) -> int:
        return len(self.str_to_int)

    @property
    def special_tokens_set(self) -> set[str]:
        return set(self.special_tokens)

    @property
    def eot_token(self) -> int | None:
        return self.special_tokens.get(ENDOFTEXT)

    def encode(
        self,
        text: str,
        *,
        allowed_special: AllowedSpecial = frozenset(),
        disallowed_special: AllowedSpecial = "all",
    ) -> list[int]:
        """Encode `text`; special-token spellings follow tiktoken's rule (see tokprep.special)."""
        require_str("text", text)
        allowed = check_special(text, self.special_tokens, allowed_special, disallowed_special)
        ids: list[int] = []
        unknown: list[tuple[str, int]] = []
        offset = 0
        for piece, is_special in split_special(text, allowed):
            if is_special:
                ids.append(self.special_tokens[piece])
            else:
                ids.extend(self._encode_words(piece, offset, unknown))
            offset += len(piece)
        if unknown:
            self._unknown(unknown)
        return ids

    def encode_ordinary(self, text: str) -> list[int]:
        """Encode `text`, treating special-token spellings as ordinary (unknown) words."""
        return self.encode(text, disallowed_special=())

    def decode(self, ids: Iterable[int]) -> str:
        text = " ".join(self._lookup(i) for i in ids)
        return _SPACE_BEFORE_PUNCT.sub(r"\1", text)

    # --- helpers the subclasses change ---
    def _encode_words(self, text: str, offset: int, unknown: list[tuple[str, int]]) -> list[int]:
        ids = []
        for word, start in _pieces(text, self.pattern, self.keep_whitespace):
            # A special token's spelling reaching here is ordinary text, never the control token.
            index = None if word in self.special_tokens else self.str_to_int.get(word)
            if index is None:
                unknown.append((word, offset + start))
                index = self._unknown_id()
            if index is not None:
                ids.append(index)
        return ids

    def _unknown_id(self) -> int | None:
        return None

    def _unknown(self, unknown: list[tuple[str, int]]) -> None:
        shown = ", ".join(f"{w!r} at character {o}" for w, o in unknown[:20])
        more = f" and {len(unknown) - 20} more" if len(unknown) > 20 else ""
        raise UnknownTokenError(
            f"{len(unknown)} word(s) not in the vocabulary of {self.n_vocab} tokens: "
            f"{shown}{more}. "
            f"{type(self).__name__} has no {UNK} token: build the vocabulary from text that "
            f"contains these words, or use SimpleTokenizerV2, which encodes them as {UNK}.",
            unknown,
        )

    def _lookup(self, index: Any) -> str:
        if isinstance(index, bool) or not hasattr(index, "__index__"):
            raise TypeError(f"token IDs must be ints, got {type(index).__name__} {index!r}")
        index = index.__index__()  # numpy integers too, as BPETokenizer.decode takes them
        try:
            return self.int_to_str[index]
        except KeyError:
            raise InvalidTokenError(
                f"token ID {index} is not in this vocabulary (valid IDs are 0..{self.n_vocab - 1})",
                index,
            ) from None

    # --- files ---
    def save(self, path: PathLike) -> None:
        """Save the vocabulary, pattern and tokenizer class as a tokprep `word` file."""
        save_vocab(
            path,
            self.str_to_int,
            pattern=self.pattern,
            tokenizer=type(self).__name__,
            special_tokens=list(self.special_tokens),
        )

    @classmethod
    def load(cls, path: PathLike) -> SimpleTokenizerV1:
        """Load a tokprep `word` file as this class, with the file's pattern."""
        vocab, info = _read_vocab_file(path)
        return _from_file(cls, path, vocab, info)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} n_vocab={self.n_vocab} pattern={self.pattern!r}>"


class SimpleTokenizerV2(SimpleTokenizerV1):
    """Like V1, but unknown words become `<|unk|>`; `<|endoftext|>` separates documents."""

    def __init__(
        self, vocab: Mapping[str, int], pattern: str = BOOK_PATTERN, **kwargs: Any
    ) -> None:
        super().__init__(vocab, pattern, **kwargs)
        if UNK not in self.str_to_int:
            raise ArgumentValueError(
                f"{type(self).__name__} needs {UNK!r} in its vocabulary to encode unknown words; "
                f"build it with build_vocab(tokens, special_tokens=({UNK!r}, {ENDOFTEXT!r})), "
                "or use SimpleTokenizerV1, which raises on unknown words instead."
            )
        self.special_tokens.setdefault(UNK, self.str_to_int[UNK])

    def _unknown_id(self) -> int:
        return self.str_to_int[UNK]

    def decode(self, ids: Iterable[int]) -> str:
        """Tokens re-joined with spaces, the space before `,.:;?!"()'` removed (V1 keeps the
        space before `:` and `;`, as the textbook's V1 does)."""
        text = " ".join(self._lookup(i) for i in ids)
        return _SPACE_BEFORE_PUNCT_V2.sub(r"\1", text)

    def _unknown(self, unknown: list[tuple[str, int]]) -> None:
        pass  # already encoded as <|unk|>


class SimpleTokenizerV3(SimpleTokenizerV2):
    """Like V2, but whitespace characters are tokens too, so decoding restores the exact text.

    Build its vocabulary with `build_vocab(split_words(text, keep_whitespace=True))`.
    """

    keep_whitespace = True

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self._lookup(i) for i in ids)


TOKENIZER_CLASSES = {
    cls.__name__: cls for cls in (SimpleTokenizerV1, SimpleTokenizerV2, SimpleTokenizerV3)
}


def save_vocab(
    path: PathLike,
    vocab: Mapping[str, int],
    *,
    pattern: str = BOOK_PATTERN,
    special_tokens: Sequence[str] | None = None,
    tokenizer: str | None = None,
) -> None:
    """Write a vocabulary as a tokprep `word` file (atomically)."""
    vocab = _check_vocab(vocab, "vocab")
    if special_tokens is None:
        special_tokens = [t for t in vocab if SPECIAL_SHAPE.fullmatch(t)]
    payload: dict[str, Any] = {"pattern": pattern, "special_tokens": list(special_tokens)}
    if tokenizer is not None:
        payload["tokenizer"] = tokenizer
    payload["vocab"] = dict(sorted(vocab.items(), key=lambda item: item[1]))
    write_envelope(path, "word", payload)


def _read_vocab_file(path: PathLike) -> tuple[dict[str, int], dict[str, Any]]:
    document = read_envelope(path, ("word",))
    vocab = document.get("vocab")
    if not isinstance(vocab, dict):
        raise TokenizerFileError(f'{path}: "vocab" must be an object of token -> id.')
    pattern = document.get("pattern", BOOK_PATTERN)
    specials = document.get("special_tokens")
    if not isinstance(pattern, str):
        raise TokenizerFileError(f'{path}: "pattern" must be a string.')
    try:
        re.compile(pattern)
    except re.error as e:
        raise TokenizerFileError(f'{path}: "pattern" is not a valid regex: {e}') from None
    if specials is not None and not (
        isinstance(specials, list) and all(isinstance(s, str) for s in specials)
    ):
        raise TokenizerFileError(f'{path}: "special_tokens" must be a list of strings.')
    for token in specials or ():
        if token not in vocab:
            raise TokenizerFileError(f"{path}: special token {token!r} is not in the vocabulary.")
    name = document.get("tokenizer")
    if name is not None and (not isinstance(name, str) or name not in TOKENIZER_CLASSES):
        raise TokenizerFileError(
            f'{path}: unknown "tokenizer" {name!r}; expected one of {sorted(TOKENIZER_CLASSES)}.'
        )
    vocab = _check_vocab(vocab, str(path))
    return vocab, {"pattern": pattern, "special_tokens": specials, "tokenizer": name}


def load_vocab(path: PathLike) -> dict[str, int]:
    """Read a tokprep `word` file and return its validated vocabulary."""
    return _read_vocab_file(path)[0]


def load_word_tokenizer(path: PathLike) -> SimpleTokenizerV1:
    """Load a `word` file as the tokenizer class it names (V2 if it has `<|unk|>`, else V1)."""
    vocab, info = _read_vocab_file(path)
    name = info["tokenizer"] or ("SimpleTokenizerV2" if UNK in vocab else "SimpleTokenizerV1")
    return _from_file(TOKENIZER_CLASSES[name], path, vocab, info)


def _from_file(
    cls: type[SimpleTokenizerV1], path: PathLike, vocab: dict[str, int], info: dict[str, Any]
) -> SimpleTokenizerV1:
    try:
        return cls(vocab, info["pattern"], special_tokens=info["special_tokens"])
    except ArgumentValueError as e:
        raise TokenizerFileError(f"{path}: {e}") from None
