"""Token-aware chunking on sentence boundaries.

Chunks are measured in tiktoken `cl100k_base` tokens, end on sentence boundaries, and carry their
character offsets into the article text, so `article.text[chunk.start:chunk.end] == chunk.text`.
A sentence longer than a whole chunk is cut at word boundaries (a "word" longer than a chunk,
such as a 10 MB line without spaces, is the only thing ever cut inside).
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from typing import Any

from newsdesk.core.errors import ConfigError
from newsdesk.core.text import split_sentences
from newsdesk.core.types import Chunk
from newsdesk.store import schema


@lru_cache(maxsize=1)
def encoding() -> Any:
    """The cl100k_base encoding, offline: from the copy llama-index-core ships."""
    import tiktoken

    if "TIKTOKEN_CACHE_DIR" not in os.environ:
        # Locate the package without importing it: importing llama_index.core costs ~2 s.
        spec = importlib.util.find_spec("llama_index.core")
        for folder in (spec.submodule_search_locations or []) if spec else []:
            cache = os.path.join(folder, "_static", "tiktoken_cache")
            if os.path.isdir(cache):
                os.environ["TIKTOKEN_CACHE_DIR"] = cache
                break
    try:
        return tiktoken.get_encoding(schema.TOKENIZER)
    except Exception as exc:  # tiktoken raises plain Exceptions when it would need to download
        raise ConfigError(f"cannot load the {schema.TOKENIZER} tokenizer offline: {exc}") from exc


def _units(text: str, start: int, end: int, max_tokens: int) -> list[tuple[int, int, int]]:
    """text[start:end] (a sentence) as (start, end, tokens) pieces of at most `max_tokens`,
    cut at whitespace where possible. Encodes the sentence once when it fits (the usual case)."""
    tokens = encoding().encode_ordinary(text[start:end])
    if len(tokens) <= max_tokens:
        return [(start, end, len(tokens))]
    return [
        (s, e, len(encoding().encode_ordinary(text[s:e])))
        for s, e in _cut_long(text, start, end, tokens, max_tokens)
    ]


def _cut_long(
    text: str, start: int, end: int, tokens: list[int], max_tokens: int
) -> list[tuple[int, int]]:
    """Cut text[start:end] (encoded as `tokens`) into pieces of at most `max_tokens`, at
    whitespace where possible."""
    enc = encoding()
    piece = text[start:end]
    _, offsets = enc.decode_with_offsets(tokens)
    spans: list[tuple[int, int]] = []
    first = 0  # token index where the current piece starts
    while first < len(tokens):
        last = first + max_tokens
        if last >= len(tokens):
            spans.append((start + offsets[first], end))
            break
        cut = last
        # Walk back to a token that starts at a word boundary, but never to an empty piece.
        while cut > first + 1 and not _word_boundary(piece, offsets[cut]):
            cut -= 1
        if cut == first + 1 and not _word_boundary(piece, offsets[cut]):
            cut = last  # one enormous word: cutting inside it is the only way
        spans.append((start + offsets[first], start + offsets[cut]))
        first = cut
    out: list[tuple[int, int]] = []
    for s, e in spans:
        out.extend(_fit(text, s, e, max_tokens))
    return out


def _fit(text: str, start: int, end: int, max_tokens: int) -> list[tuple[int, int]]:
    """Trim a span and halve it until it re-encodes within `max_tokens` (token boundaries
    inside multi-byte characters can make a cut piece encode to a few more tokens)."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end <= start:
        return []
    if end - start == 1 or len(encoding().encode_ordinary(text[start:end])) <= max_tokens:
        return [(start, end)]
    mid = (start + end) // 2
    space = text.rfind(" ", start + 1, mid + 1)
    cut = space if space > start else mid
    return _fit(text, start, cut, max_tokens) + _fit(text, cut, end, max_tokens)


def _word_boundary(piece: str, offset: int) -> bool:
    return (
        offset <= 0
        or offset >= len(piece)
        or piece[offset].isspace()
        or piece[offset - 1].isspace()
    )


def chunk_text(content: str, text: str, *, max_tokens: int, overlap: int) -> list[Chunk]:
    """Split an article body into chunks of at most `max_tokens` tokens.

    Consecutive chunks share up to `overlap` tokens of whole sentences, so a fact stated across
    a boundary is still whole in one chunk. `content` is the article's content hash: chunk ids
    derive from it, so identical text always gets identical ids.
    """
    if overlap >= max_tokens:
        raise ConfigError(
            f"chunk overlap ({overlap}) must be smaller than chunk size ({max_tokens})"
        )
    enc = encoding()
    units: list[tuple[int, int, int]] = []  # (start, end, tokens) of sentences or their pieces
    for s, e in split_sentences(text):
        units.extend(_units(text, s, e, max_tokens))
    if not units:
        return []

    groups: list[tuple[int, int, int]] = []  # (first unit, last unit, tokens), inclusive
    i = 0
    while i < len(units):
        j, total = i, units[i][2]
        while j + 1 < len(units) and total + units[j + 1][2] + 1 <= max_tokens:
            j += 1
            total += units[j][2] + 1
        # Separators can tokenise differently once joined: trust only the real count.
        real = len(enc.encode_ordinary(text[units[i][0] : units[j][1]]))
        while j > i and real > max_tokens:
            j -= 1
            real = len(enc.encode_ordinary(text[units[i][0] : units[j][1]]))
        groups.append((i, j, real))
        if j + 1 >= len(units):
            break
        # Start the next chunk with trailing sentences of this one, within the overlap budget.
        k, back = j + 1, 0
        while k - 1 > i and back + units[k - 1][2] <= overlap:
            k -= 1
            back += units[k][2]
        i = k

    chunks = []
    for position, (a, b, n_tokens) in enumerate(groups):
        start, end = units[a][0], units[b][1]
        chunks.append(
            Chunk(
                chunk_id=schema.chunk_id(content, position),
                doc_id="",
                position=position,
                start=start,
                end=end,
                text=text[start:end],
                n_tokens=n_tokens,
            )
        )
    return chunks
