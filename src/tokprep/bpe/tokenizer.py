"""`BPETokenizer`: a byte-level BPE encoder/decoder in pure Python, with tiktoken's API.

Encoding text is three steps:

1. special tokens: text that spells one is refused unless allowed (tiktoken's rule), and the
   allowed ones cut the text into ordinary stretches (`tokprep.special`);
2. pre-tokenization: each stretch is cut into pieces by the pattern (`tokprep.bpe.pretokenize`);
3. each piece's UTF-8 bytes become token IDs: a piece that is itself a token is that token
   (tiktoken's shortcut, so results match it), any other is merged pair by pair
   (`tokprep.bpe.merge`). Results are kept in a bounded cache, so a long-lived encoder mostly
   looks pieces up; once it has seen some text, it looks up whole words (the text between two
   spaces that are safe cuts, `_WordCache`), which skips the regex for words it knows.

With GPT-2's ranks (`BPETokenizer.gpt2()`) the IDs equal tiktoken's `gpt2` on any text; with any
other ranks they equal tiktoken running those ranks (`to_tiktoken()`).
"""

from __future__ import annotations

import codecs
import gc
from collections.abc import Iterable, Mapping, Sequence
from functools import reduce
from itertools import chain, islice
from operator import iadd
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import regex

from tokprep.bpe.merge import LONG_PIECE, _merge_short, bpe_merge
from tokprep.bpe.patterns import resolve_pattern
from tokprep.bpe.pretokenize import Splitter, cuts_at_spaces, space_words, splitter
from tokprep.bpe.ranks import (
    ENDOFTEXT,
    GPT2_PATTERN,
    validate_ranks,
    validate_special_tokens,
)
from tokprep.errors import ArgumentValueError, InvalidTokenError, TokenizerFileError, require_str
from tokprep.files import PathLike, read_envelope, write_envelope
from tokprep.special import AllowedSpecial, check_special, split_special

if TYPE_CHECKING:
    import tiktoken

#: How many pieces the encoder remembers; the oldest quarter is dropped when full.
CACHE_SIZE = 1 << 17
#: Pieces longer than this (in characters) rarely repeat; they go to a small side table.
CACHE_PIECE_LIMIT = 256
#: The side table holds at most this many characters of pieces (it is emptied when full).
LONG_PIECES_CHARS = 1 << 20
#: Words are looked up (`_WordCache`) once the piece cache holds this many pieces: before,
#: most words are new, and a new word costs more through the word cache than through pieces.
WORDS_AFTER_PIECES = 4096
#: Texts shorter than this go piece by piece: finding their words costs more than it saves.
WORDS_MIN_CHARS = 128

_SURROGATE = regex.compile(r"[\ud800-\udfff]")


def _fix_surrogates(text: str) -> str:
    """tiktoken's policy for text that is not valid Unicode: lone surrogates become U+FFFD (a
    high + low surrogate pair, as Python can hold, becomes the character it encodes)."""
    if text.isascii() or _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


# The cache keeps its IDs as int objects of its own, made as it fills (`0 + rank` is a new
# object above 256), not the ranks dict's: each ID copied into an output list has its
# reference count incremented, and the ranks' ints lie scattered over megabytes (200,000 for
# o200k_base), about one memory cache miss per ID once other work has run. Ints made in the
# order pieces are first seen lie together. Measured in `tokprep bench`: warm encodes 7-9%
# faster for cl100k_base and o200k_base.
_own_int = (0).__add__


class _PieceCache(dict[str, tuple[int, ...]]):
    """Pre-token -> token IDs, filled on demand: looking up a piece it does not hold encodes
    the piece (`__missing__`), remembers it and returns its IDs. The IDs are tuples: a tuple
    holds its items inline, so a lookup touches one object less than with a list.

    It holds at most `CACHE_SIZE` pieces; when full, the oldest quarter is dropped. Pieces
    longer than `CACHE_PIECE_LIMIT` characters rarely repeat and would pin memory, so they go
    to a small side table instead, emptied whenever it holds over `LONG_PIECES_CHARS`
    characters (a long separator line repeated through a file is still merged once).
    """

    __slots__ = ("long", "long_chars", "ranks")

    def __init__(self, ranks: dict[bytes, int]) -> None:
        super().__init__()
        self.ranks = ranks
        self.long: dict[str, tuple[int, ...]] = {}
        self.long_chars = 0

    def __missing__(self, piece: str) -> tuple[int, ...]:
        if len(piece) > CACHE_PIECE_LIMIT:
            return self._long_piece(piece)
        # `_encode_piece` inlined, and short pieces merged by `_merge_short` directly: a cold
        # encode comes here for every distinct piece, and each call saved is ~5% of its time.
        data = piece.encode("utf-8", "surrogateescape")
        ranks = self.ranks
        rank = ranks.get(data)
        if rank is not None:
            ids: tuple[int, ...] = (_own_int(rank),)
        elif len(data) <= LONG_PIECE:
            ids = tuple(map(_own_int, map(ranks.__getitem__, _merge_short(data, ranks))))
        else:
            ids = tuple(map(_own_int, bpe_merge(data, ranks)))
        if len(self) >= CACHE_SIZE:
            for old in list(islice(self, CACHE_SIZE // 4)):
                self.pop(old, None)  # another thread may have dropped it already
        self[piece] = ids
        return ids

    def _long_piece(self, piece: str) -> tuple[int, ...]:
        ids = self.long.get(piece)
        if ids is None:
            ids = _encode_piece(piece, self.ranks)
            if self.long_chars + len(piece) > LONG_PIECES_CHARS:
                self.long.clear()
                self.long_chars = 0
            if len(piece) <= LONG_PIECES_CHARS:
                self.long[piece] = ids
                self.long_chars += len(piece)
        return ids


class _WordCache(dict[str, tuple[int, ...]]):
    """Word -> the token IDs of `" " + word`, filled on demand like `_PieceCache` (whose pieces
    it reuses). A word is the text between two spaces that are safe cuts
    (`tokprep.bpe.pretokenize.space_words`), so `" " + word` splits alone into the pieces it
    has in the text. Why a second cache: one `str.split(" ")` and one lookup per word cost
    less than one regex match and one lookup per piece (most words are one piece, but the
    regex costs several times more per match than splitting on a space).
    Bounded like `_PieceCache`; words longer than `CACHE_PIECE_LIMIT` are not kept.
    """

    __slots__ = ("pieces", "splitter")

    def __init__(self, pieces: _PieceCache, splitter: Splitter) -> None:
        super().__init__()
        self.pieces = pieces
        self.splitter = splitter

    def __missing__(self, word: str) -> tuple[int, ...]:
        # A cold encode meets tens of thousands of new words: this path is kept short.
        pieces = self.splitter.split(f" {word}")
        if len(pieces) == 1:  # most words: their piece's IDs, as they are
            ids = self.pieces[pieces[0]]
        else:
            ids = tuple(chain.from_iterable(map(self.pieces.__getitem__, pieces)))
        if len(word) <= CACHE_PIECE_LIMIT:
            if len(self) >= CACHE_SIZE:
                for old in list(islice(self, CACHE_SIZE // 4)):
                    self.pop(old, None)
            self[word] = ids
        return ids


def _encode_piece(piece: str, ranks: dict[bytes, int]) -> tuple[int, ...]:
    """The token IDs of one pre-token: itself if its bytes are a token (tiktoken's shortcut),
    else its bytes merged pair by pair. Lone surrogates stand for raw bytes (`encode_bytes`)."""
    data = piece.encode("utf-8", "surrogateescape")
    rank = ranks.get(data)
    if rank is not None:
        return (rank,)
    return tuple(bpe_merge(data, ranks))


class BPETokenizer:
    """Byte-level BPE from mergeable ranks, a split pattern and special tokens.

    `mergeable_ranks` maps each token's bytes to its rank (= ID); `pattern` is a regex or a
    preset name (`gpt2`, `cl100k`, `o200k`); `special_tokens` maps special-token text to IDs
    that must not collide with ranks. The ranks are validated (see `tokprep.bpe.ranks`): special
    IDs lie from `len(ranks)` to below `len(ranks) + 2**20` (decoding keeps one table entry per
    ID), and no special token is empty or a prefix of another (tiktoken would choose at random).
    A preset pattern splits text as tiktoken 0.14.0 does on every code point (its Unicode
    classes are pinned, see `unicode_version`); a custom pattern uses the installed `regex`
    module's Unicode tables.
    """

    def __init__(
        self,
        mergeable_ranks: Mapping[bytes, int],
        pattern: str = GPT2_PATTERN,
        special_tokens: Mapping[str, int] | None = None,
        *,
        name: str = "bpe",
        _validated: bool = False,
        _file_ids: bool = False,
    ) -> None:
        if not isinstance(mergeable_ranks, Mapping):
            raise TypeError(
                "mergeable_ranks must be a dict of bytes -> int, "
                f"got {type(mergeable_ranks).__name__}"
            )
        specials = dict(special_tokens or {})
        for text, index in specials.items():
            require_str("special token", text)
            if hasattr(index, "__index__") and not isinstance(index, bool):
                specials[text] = index.__index__()  # numpy integers become ints (JSON, table)
        if _file_ids:
            # A file's own IDs (Hugging Face's): ranks may have gaps and special tokens may sit
            # below ranks. The caller checked the ranks (`tokprep.bpe.hf.check_id_table`).
            from tokprep.bpe.hf import check_special_ids

            check_special_ids(specials, mergeable_ranks, f"tokenizer {name!r}")
        elif _validated:  # the ranks were checked already; the special tokens are new here
            validate_special_tokens(specials, len(mergeable_ranks), f"tokenizer {name!r}")
        else:
            validate_ranks(mergeable_ranks, f"tokenizer {name!r}", special_tokens=specials)
        pattern = resolve_pattern(pattern)
        try:
            self._splitter = splitter(pattern)
        except regex.error as e:
            raise ArgumentValueError(f"pattern {pattern!r} is not a valid regex: {e}") from None
        self.name = name
        self._ranks: dict[bytes, int] = (
            mergeable_ranks if isinstance(mergeable_ranks, dict) else dict(mergeable_ranks)
        )
        self._special_tokens = specials
        self._file_ids = _file_ids  # pass it on when rebuilding from these ranks
        top_rank = max(self._ranks.values()) if _file_ids else len(self._ranks) - 1
        self._n_vocab = max([top_rank, *specials.values()]) + 1
        # Decoding table indexed by ID; None marks IDs that name no token (gaps before specials).
        table: list[bytes | None] = [None] * self._n_vocab
        for token, rank in self._ranks.items():
            table[rank] = token
        for text, index in specials.items():
            table[index] = text.encode("utf-8")
        self._decode_table = table
        self._cache = _PieceCache(self._ranks)
        # Words (see `_WordCache`) only where cutting at spaces is proven exact: the presets.
        self._words = _WordCache(self._cache, self._splitter) if cuts_at_spaces(pattern) else None
        # The merge that made each learned token, when known (training, or a tokprep file);
        # otherwise recovered from the ranks when needed.
        self._merges: list[tuple[bytes, bytes]] | None = None

    # --- constructors ---------------------------------------------------------------------
    @classmethod
    def gpt2(cls) -> BPETokenizer:
        """GPT-2's tokenizer from the ranks shipped with tokprep (hash-checked, no network)."""
        return cls.from_encoding("gpt2")

    @classmethod
    def from_encoding(cls, name: str) -> BPETokenizer:
        """A new encoder for a shipped encoding: `gpt2` (alias `r50k_base`), `cl100k_base` or
        `o200k_base` (`tokprep.bpe.encodings`); equal to tiktoken's on any text."""
        from tokprep.bpe.encodings import _ranks, encoding_info

        info = encoding_info(name)
        return cls(
            _ranks(info.name),
            info.pattern,
            info.special_tokens,
            name=info.name,
            _validated=True,  # the sha256 pins a file whose validity is a test
        )

    @classmethod
    def from_tiktoken_file(
        cls,
        path: PathLike,
        *,
        expected_sha256: str | None = None,
        pattern: str | None = None,
        special_tokens: Mapping[str, int] | None = None,
        name: str | None = None,
    ) -> BPETokenizer:
        """Ranks from a `.tiktoken` (or `.tiktoken.gz`) file, checked against `expected_sha256`
        (of the ranks text) when given.

        The file holds no pattern or special tokens. They come from `pattern` /
        `special_tokens`, else the sidecar `path.json` that `save_tiktoken` writes, else the
        shipped encoding whose ranks have the file's sha256; a file none of these describe
        raises `TokenizerFileError` (`tokprep.bpe.tiktoken_facts`).
        """
        from tokprep.bpe.tiktoken_facts import read_tiktoken_with_facts

        found = read_tiktoken_with_facts(
            path,
            expected_sha256=expected_sha256,
            pattern=pattern,
            special_tokens=special_tokens,
            name=name,
        )
        try:
            return cls(
                found.ranks,
                found.pattern,
                found.special_tokens,
                name=found.name,
                _validated=True,  # checked when read, or pinned by a shipped encoding's hash
            )
        except ArgumentValueError as e:
            raise TokenizerFileError(f"{path}: {e}") from None

    @classmethod
    def from_hf_tokenizer_json(cls, path: PathLike, *, name: str | None = None) -> BPETokenizer:
        """A Hugging Face byte-level BPE `tokenizer.json` (or a folder holding one), with the
        file's IDs, pattern and special tokens; other kinds of tokenizer raise
        `TokenizerFileError` (see `tokprep.bpe.hf`)."""
        from tokprep.bpe.hf import load_hf_tokenizer_json

        return load_hf_tokenizer_json(cls, path, name)

    @classmethod
    def from_gpt2_files(cls, encoder_json: PathLike, vocab_bpe: PathLike) -> BPETokenizer:
        """GPT-2's original format: `encoder.json` (token -> ID) and `vocab.bpe` (merges)."""
        from tokprep.bpe.gpt2_files import read_gpt2_files

        ranks, specials = read_gpt2_files(encoder_json, vocab_bpe)
        return cls(ranks, GPT2_PATTERN, specials, name=Path(encoder_json).stem)

    @classmethod
    def from_tiktoken(cls, encoding: tiktoken.Encoding) -> BPETokenizer:
        """The same ranks, pattern and special tokens as a tiktoken `Encoding`."""
        return cls(
            encoding._mergeable_ranks,
            encoding._pat_str,
            encoding._special_tokens,
            name=encoding.name,
        )

    @classmethod
    def train(
        cls,
        text: str | Iterable[str] | None = None,
        vocab_size: int | None = None,
        *,
        files: PathLike | Iterable[PathLike] | None = None,
        jsonl_field: str | None = None,
        pattern: str = "gpt2",
        special_tokens: Sequence[str] | None = None,
        min_frequency: int = 0,
        progress: bool | None = None,
        name: str = "trained",
        tie_break: str = "hf",
        processes: int | None = None,
        engine: str = "local",
        rank: int | None = None,
        world_size: int | None = None,
        ray_address: str | None = None,
        counts_folder: PathLike | None = None,
    ) -> BPETokenizer:
        """Learn a vocabulary of `vocab_size` IDs (256 bytes + merges + special tokens).

        `text`: the training text, a `str` or an iterable of `str` documents; never file names.
        `files`: UTF-8 files to read (a path or a list of paths), after `text` if both are given;
        `.jsonl` files (every file, with `jsonl_field`) hold one document per line, as in
        `prepare` (`tokprep.sources`).

            BPETokenizer.train(open("corpus.txt").read(), 5000)
            BPETokenizer.train(files=["corpus.txt"], vocab_size=5000)

        A path passed as `text` raises `TypeError` naming `files=`. `tie_break` picks whose rule
        decides between pairs of equal count (`"hf"`, the default, gives Hugging Face
        `BpeTrainer`'s merges exactly; also `"rustbpe"`, `"lexicographic"`, `"first-seen"`: see
        `tokprep.bpe.tie_break`). `engine`, `rank`, `world_size`, `ray_address`,
        `counts_folder`: where pre-tokens are counted (`train_bpe`; same merges on any)."""
        from tokprep.bpe.train import check_text_argument, train_bpe

        if vocab_size is None:
            raise TypeError("BPETokenizer.train needs vocab_size (256 bytes + merges + specials)")
        result = train_bpe(
            check_text_argument(text, files),
            vocab_size,
            files=files,
            jsonl_field=jsonl_field,
            pattern=pattern,
            special_tokens=special_tokens,
            min_frequency=min_frequency,
            progress=progress,
            processes=processes,
            tie_break=tie_break,
            engine=engine,
            rank=rank,
            world_size=world_size,
            ray_address=ray_address,
            counts_folder=counts_folder,
        )
        tokenizer = cls(result.ranks, result.pattern, result.special_tokens, name=name)
        tokenizer._merges = list(result.merges)
        return tokenizer

    @property
    def merges(self) -> list[tuple[bytes, bytes]]:
        """The two tokens each learned token was made of, in rank order (`merges[i]` made
        rank 256 + i; in a table with a file's own IDs, the i-th multi-byte token by ID)."""
        if self._merges is None:
            from tokprep.bpe.export import merges_from_ranks

            self._merges = merges_from_ranks(self._ranks)
        return list(self._merges)

    def to_tiktoken(self, name: str | None = None) -> tiktoken.Encoding:
        """A tiktoken `Encoding` with the same ranks, pattern and special tokens."""
        import tiktoken

        return tiktoken.Encoding(
            name=name or self.name,
            pat_str=self.pattern,
            mergeable_ranks=dict(self._ranks),
            special_tokens=dict(self._special_tokens),
        )

    # --- properties (tiktoken's names) -----------------------------------------------------
    @property
    def pattern(self) -> str:
        return self._splitter.pattern

    @property
    def unicode_version(self) -> str | None:
        """The Unicode version of the pattern's character classes: tiktoken's, pinned in
        tokprep's tables (`tokprep.bpe.UNICODE_VERSION`, e.g. "16.0.0"), for a preset pattern;
        None for a custom pattern, which uses the installed `regex` module's tables."""
        return self._splitter.unicode_version

    @property
    def mergeable_ranks(self) -> Mapping[bytes, int]:
        """Read-only view of token bytes -> rank."""
        return MappingProxyType(self._ranks)

    @property
    def special_tokens(self) -> Mapping[str, int]:
        """Read-only view of special-token text -> ID."""
        return MappingProxyType(self._special_tokens)

    @property
    def special_tokens_set(self) -> set[str]:
        return set(self._special_tokens)

    @property
    def n_vocab(self) -> int:
        """One more than the largest ID."""
        return self._n_vocab

    @property
    def max_token_value(self) -> int:
        return self._n_vocab - 1

    @property
    def eot_token(self) -> int | None:
        """The ID of `<|endoftext|>`, or None if this vocabulary has no such token."""
        return self._special_tokens.get(ENDOFTEXT)

    def __repr__(self) -> str:
        return f"<BPETokenizer {self.name!r} n_vocab={self._n_vocab}>"

    # --- encoding ---------------------------------------------------------------------------
    def encode_ordinary(self, text: str) -> list[int]:
        """Encode `text`, treating any special-token spelling as ordinary text."""
        require_str("text", text)
        return self._encode_plain(_fix_surrogates(text))

    def encode(
        self,
        text: str,
        *,
        allowed_special: AllowedSpecial = frozenset(),
        disallowed_special: AllowedSpecial = "all",
    ) -> list[int]:
        """Encode `text`. Special-token spellings are refused unless allowed (tiktoken's rule:
        `allowed_special` become special IDs, `disallowed_special` raise
        `DisallowedSpecialTokenError`, the rest are ordinary text)."""
        require_str("text", text)
        allowed = check_special(text, self._special_tokens, allowed_special, disallowed_special)
        text = _fix_surrogates(text)
        if not allowed:
            return self._encode_plain(text)
        ids: list[int] = []
        for part, is_special in split_special(text, allowed):
            if is_special:
                ids.append(self._special_tokens[part])
            else:
                ids += self._encode_plain(part)
        return ids

    def encode_ordinary_batch(
        self, texts: Sequence[str], *, num_threads: int = 8
    ) -> list[list[int]]:
        """`encode_ordinary` on each text. `num_threads` is accepted for tiktoken compatibility;
        pure Python holds the GIL, so texts are encoded one after another."""
        return [self.encode_ordinary(text) for text in texts]

    def encode_batch(
        self,
        texts: Sequence[str],
        *,
        num_threads: int = 8,
        allowed_special: AllowedSpecial = frozenset(),
        disallowed_special: AllowedSpecial = "all",
    ) -> list[list[int]]:
        """`encode` on each text (see `encode_ordinary_batch` about `num_threads`)."""
        if isinstance(texts, str):
            raise TypeError("encode_batch takes a list of texts; use encode() for one text")
        return [
            self.encode(t, allowed_special=allowed_special, disallowed_special=disallowed_special)
            for t in texts
        ]

    def encode_bytes(self, data: bytes) -> list[int]:
        """Encode raw bytes that may not be valid UTF-8; `decode_bytes` gives them back exactly.

        Valid UTF-8 encodes exactly as `encode_ordinary(data.decode())`. Each byte that is not
        part of valid UTF-8 is pre-tokenized like a punctuation character (it is read as the
        lone surrogate U+DC80 + byte, Python's "surrogateescape"), so invalid bytes group with
        neighbouring symbols, and BPE then runs on the piece's original bytes.
        Special tokens are never recognised here.
        """
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"encode_bytes takes bytes, got {type(data).__name__}")
        text = bytes(data).decode("utf-8", "surrogateescape")
        return self._encode_plain(text)

    def _encode_plain(self, text: str) -> list[int]:
        """Pre-tokenize `text` (no special tokens) and encode its pieces."""
        # One pass, in C where it can be: each word (or piece) is looked up in its cache, and
        # one seen for the first time is encoded there (`__missing__`). The cyclic garbage
        # collector is paused meanwhile: the small tuples made for new entries hold no cycles,
        # and collecting while a cold cache fills costs a few percent of the encode.
        pieces = self._cache.__getitem__
        split = self._splitter.split
        collecting = gc.isenabled()
        gc.disable()
        try:
            # `reduce(iadd, ...)` extends one list by each tuple in C (about 10% faster than
            # `chain.from_iterable`, which makes an iterator per tuple).
            if (
                self._words is None
                or len(text) < WORDS_MIN_CHARS
                or len(self._cache) < WORDS_AFTER_PIECES
            ):
                return reduce(iadd, map(pieces, split(text)), [])
            words = space_words(text)
            # The text before the first cut has no leading space: it is split on its own.
            ids: list[int] = reduce(iadd, map(pieces, split(words[0])), [])
            return reduce(iadd, map(self._words.__getitem__, islice(words, 1, None)), ids)
        finally:
            if collecting:
                gc.enable()

    # --- decoding ---------------------------------------------------------------------------
    def decode_bytes(self, tokens: Iterable[int]) -> bytes:
        """The bytes of `tokens` joined. Bad IDs raise `InvalidTokenError`; non-integers
        (bools and floats included) raise `TypeError`."""
        tokens = tokens if isinstance(tokens, list) else list(tokens)
        table = self._decode_table
        # Fast path, all in C; any problem (a bool, a float, a negative ID wrapping around the
        # list, an out-of-range ID or a gap) is found and named by the slow path.
        if set(map(type, tokens)) <= {int} and (
            not tokens or (min(tokens) >= 0 and max(tokens) < len(table))
        ):
            try:  # a gap (None) in the table raises TypeError here
                return b"".join(map(table.__getitem__, tokens))  # type: ignore[arg-type]
            except TypeError:
                pass
        for token in tokens:
            self.decode_single_token_bytes(token)
        return b"".join(map(table.__getitem__, tokens))  # type: ignore[arg-type]  # pragma: no cover

    def decode(self, tokens: Iterable[int], errors: str = "replace") -> str:
        """Decode to text. Token boundaries need not fall on character boundaries; invalid
        UTF-8 is handled by `errors` ("replace" puts U+FFFD, as tiktoken does)."""
        return self.decode_bytes(tokens).decode("utf-8", _check_errors(errors))

    def decode_single_token_bytes(self, token: int) -> bytes:
        """The bytes of one token."""
        if isinstance(token, bool) or not hasattr(token, "__index__"):
            raise TypeError(f"token IDs must be ints, got {type(token).__name__} {token!r}")
        token = token.__index__()
        if 0 <= token < self._n_vocab:
            value = self._decode_table[token]
            if value is not None:
                return value
        raise InvalidTokenError(
            f"token ID {token} is not in this vocabulary of {self._n_vocab} IDs (0.."
            f"{self._n_vocab - 1}{', with gaps' if None in self._decode_table else ''}); "
            "was it made by a different tokenizer?",
            token,
        )

    def decode_tokens_bytes(self, tokens: Iterable[int]) -> list[bytes]:
        """The bytes of each token, separately."""
        return [self.decode_single_token_bytes(t) for t in tokens]

    def decode_with_offsets(self, tokens: Iterable[int]) -> tuple[str, list[int]]:
        """The text and, per token, the character offset where it starts (tiktoken's rule: a
        token that starts inside a character gets that character's offset). Strict UTF-8."""
        pieces = self.decode_tokens_bytes(tokens)
        offsets = []
        length = 0
        for piece in pieces:
            starts_mid_character = 0x80 <= piece[0] < 0xC0
            offsets.append(max(0, length - starts_mid_character))
            # Characters = bytes that are not UTF-8 continuation bytes.
            length += sum(1 for byte in piece if not 0x80 <= byte < 0xC0)
        return b"".join(pieces).decode("utf-8", "strict"), offsets

    def stream_decoder(self, errors: str = "replace") -> StreamDecoder:
        """An incremental decoder: feed IDs as they are generated, get whole characters."""
        return StreamDecoder(self, errors)

    # --- files ------------------------------------------------------------------------------
    def save(self, path: PathLike) -> None:
        """Write a tokprep `bpe` JSON file (atomically): name, pattern, special tokens, every
        token in rank order and the merges, both as readable text (see `_show_bytes`)."""
        if max(self._ranks.values()) != len(self._ranks) - 1:
            raise ArgumentValueError(
                f"tokenizer {self.name!r} keeps a file's own IDs (ranks with gaps, or special "
                "tokens before ranks), which tokprep's bpe format cannot hold; save it with "
                "save_pretrained() or save_hf_tokenizer_json()"
            )
        write_envelope(
            path,
            "bpe",
            {
                "name": self.name,
                "pattern": self.pattern,
                "special_tokens": self._special_tokens,
                "ranks": [_show_bytes(t) for t in sorted(self._ranks, key=self._ranks.__getitem__)],
                "merges": [[_show_bytes(a), _show_bytes(b)] for a, b in self.merges],
            },
        )

    def save_tiktoken(self, path: PathLike) -> Path | None:
        """Write the ranks as a `.tiktoken` file, and the pattern and special tokens (which
        that format cannot hold) in a sidecar `path.json`, unless they are exactly a shipped
        encoding's. `from_tiktoken_file` reads both. A path ending in `.gz` is gzipped.
        Returns the sidecar's path, or None."""
        from tokprep.bpe.tiktoken_facts import write_tiktoken_with_facts

        return write_tiktoken_with_facts(
            self._ranks, path, self.pattern, self._special_tokens, self.name
        )

    def save_gpt2_files(self, directory: PathLike) -> tuple[Path, Path]:
        """Write GPT-2's `encoder.json` and `vocab.bpe` into `directory`."""
        from tokprep.bpe.gpt2_files import write_gpt2_files

        return write_gpt2_files(self._ranks, self._special_tokens, directory)

    def save_pretrained(
        self, directory: PathLike, *, model_max_length: int | None = None
    ) -> list[Path]:
        """Write a transformers tokenizer folder (`tokenizer.json`, `tokenizer_config.json`,
        `special_tokens_map.json`, `vocab.json`, `merges.txt`); `AutoTokenizer.from_pretrained`
        loads it with the same IDs, `<|endoftext|>` as eos. See `tokprep.bpe.hf.save_pretrained`."""
        from tokprep.bpe.hf import save_pretrained

        return save_pretrained(self, directory, model_max_length=model_max_length)

    def save_hf_tokenizer_json(self, path: PathLike) -> None:
        """Write a Hugging Face `tokenizer.json` (for `tokenizers` and `transformers`)."""
        from tokprep.bpe.export import write_hf_tokenizer_json

        write_hf_tokenizer_json(
            self._ranks, self.pattern, self._special_tokens, path, merges=self.merges
        )

    @classmethod
    def load(cls, path: PathLike) -> BPETokenizer:
        """Read a tokprep `bpe` JSON file (validated; errors name the file)."""
        document = read_envelope(path, ("bpe",))
        ranks_field, pattern = document.get("ranks"), document.get("pattern")
        specials, merges_field = document.get("special_tokens", {}), document.get("merges", [])
        if not (
            isinstance(ranks_field, list)
            and isinstance(pattern, str)
            and isinstance(specials, dict)
            and isinstance(merges_field, list)
        ):
            raise TokenizerFileError(
                f'{path}: a tokprep "bpe" file needs "pattern" (a string), "ranks" (a list of '
                'tokens in rank order), "special_tokens" (an object) and "merges" (a list)'
            )
        try:
            ranks = {
                _read_bytes(text, f"ranks[{rank}]"): rank for rank, text in enumerate(ranks_field)
            }
            merges = []
            for index, pair in enumerate(merges_field):
                where = f"merges[{index}]"
                if not (isinstance(pair, list) and len(pair) == 2):
                    raise ValueError(f"{where} is {pair!r}: each merge is a pair [left, right]")
                merges.append((_read_bytes(pair[0], where), _read_bytes(pair[1], where)))
            if len(ranks) != len(ranks_field):
                raise ValueError('a token appears twice in "ranks"')
            tokenizer = cls(ranks, pattern, specials, name=str(document.get("name", "bpe")))
        except (TypeError, ValueError) as e:
            raise TokenizerFileError(f"{path}: {e}") from None
        tokens = tokenizer._decode_table
        if merges:
            if len(merges) != len(ranks) - 256 or any(
                a + b != tokens[256 + i] for i, (a, b) in enumerate(merges)
            ):
                raise TokenizerFileError(
                    f'{path}: "merges" does not match "ranks" (merge i must make the token of '
                    'rank 256 + i); fix the file or delete "merges" to recover them'
                )
            tokenizer._merges = merges
        return tokenizer


#: The standard error handlers that can decode UTF-8 (xmlcharrefreplace and namereplace only
#: encode).
DECODE_ERROR_HANDLERS = (
    "strict",
    "replace",
    "ignore",
    "backslashreplace",
    "surrogateescape",
    "surrogatepass",
)


def _check_errors(errors: str) -> str:
    """`errors` if it names a handler that can decode; checked up front, because Python looks
    the handler up only when it meets invalid UTF-8."""
    if errors in DECODE_ERROR_HANDLERS:
        return errors
    require_str("errors", errors)
    if errors not in ("xmlcharrefreplace", "namereplace"):
        try:
            codecs.lookup_error(errors)  # a handler registered with codecs.register_error
            return errors
        except LookupError:
            pass
    raise ArgumentValueError(
        f"errors={errors!r} is not an error handler for decoding; use one of "
        f"{', '.join(DECODE_ERROR_HANDLERS)} (or a name given to codecs.register_error)"
    )


def _show_bytes(token: bytes) -> str:
    """A token as readable text: UTF-8 as it is, backslashes doubled, and bytes that are not
    valid UTF-8 written as \\xNN. `_read_bytes` reverses it exactly."""
    try:  # valid UTF-8 (almost every token): only backslashes change, done in C
        return token.decode("utf-8").replace("\\", "\\\\")
    except UnicodeDecodeError:
        pass
    out = []
    text = token.decode("utf-8", "surrogateescape")
    for char in text:
        if "\udc80" <= char <= "\udcff":
            out.append(f"\\x{ord(char) - 0xDC00:02x}")
        elif char == "\\":
            out.append("\\\\")
        else:
            out.append(char)
    return "".join(out)


_HEX = "0123456789abcdefABCDEF"


def _read_bytes(text: str, where: str = "token") -> bytes:
    """The bytes `_show_bytes` wrote as `text`; `where` names the entry in error messages."""
    if not isinstance(text, str):
        raise TypeError(f"{where}: tokens must be strings, got {text!r}")
    if "\\" not in text:  # no escapes (almost every token): one C call, however long
        return text.encode("utf-8")
    out = bytearray()
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            if text.startswith("\\\\", i):
                out += b"\\"
                i += 2
                continue
            digits = text[i + 2 : i + 4]
            if text.startswith("\\x", i) and len(digits) == 2 and not digits.strip(_HEX):
                out.append(int(digits, 16))
                i += 4
                continue
            raise ValueError(
                f"{where}: bad escape {text[i : i + 4]!r} at character {i} of token {text!r}; "
                "a byte is written \\xNN with two hex digits, a backslash as \\\\"
            )
        out += char.encode("utf-8")
        i += 1
    return bytes(out)


class StreamDecoder:
    """Decodes IDs as they arrive and returns only whole characters.

    A token may end in the middle of a multi-byte character; those bytes wait for the next
    token, so the text never shows a U+FFFD where a character is only incomplete. `flush()`
    ends the stream (incomplete bytes then follow `errors`).
    """

    def __init__(self, tokenizer: BPETokenizer, errors: str = "replace") -> None:
        self._tokenizer = tokenizer
        self._decoder = codecs.getincrementaldecoder("utf-8")(_check_errors(errors))

    def feed(self, tokens: int | Iterable[int]) -> str:
        """Add one ID or several (ints, numpy integers too); return the text now complete."""
        if isinstance(tokens, Iterable):  # a list, a numpy array...
            pass
        elif hasattr(tokens, "__index__") and not isinstance(tokens, bool):
            tokens = [tokens.__index__()]  # one ID: an int or a numpy integer
        else:
            raise TypeError(
                "feed takes a token ID or an iterable of them, got "
                f"{type(tokens).__name__} {tokens!r}"
            )
        return self._decoder.decode(self._tokenizer.decode_bytes(tokens))

    def flush(self) -> str:
        """End the stream; return what is left (U+FFFD for an incomplete character)."""
        return self._decoder.decode(b"", final=True)

    @property
    def pending_bytes(self) -> bytes:
        """Bytes held back because they do not yet form a whole character."""
        return self._decoder.getstate()[0]
