"""When a merge list can become a token ranking without changing any encoding.

Hugging Face BPE (``tokenizer.json``) merges, at each step, the adjacent *pair* of symbols with the
lowest rank in the merge list. tiktoken and SentencePiece BPE join the adjacent pair whose
*concatenation* ranks best among the tokens (tiktoken: the lowest rank, which is the token id;
SentencePiece: the highest piece score), the leftmost on a tie. Exporting gives every token the
position of its first merge as its rank. :func:`token_order` and :func:`check` test the
conditions below, per tokenizer, on its whole vocabulary.

1. Every merge makes a token of the vocabulary, and the merges that make one token are
   consecutive in the list (a list generated from SentencePiece scores, as Gemma's, has one
   merge per way of splitting a token). Comparing merges by rank and their results by rank then
   agree, except between two merges that make the same token. *Refused otherwise.*
2. *No phantom pair meets.* A phantom is a split ``A + B`` of a token ``T`` (both parts tokens)
   that is no merge: the engine would join ``A`` and ``B`` into ``T``; the merge list never
   does. Claim: if ``A`` and ``B`` are ever side by side, in any word, then merging ``T``'s own
   symbols alone stops at ``[A, B]``. Proof: until ``A`` and ``B`` both exist no merge crossed
   the span they cover (tokens only grow), so the merges inside the span happened in the order
   merging the span alone does them (each was the best pair of the whole word, hence of the
   span); merging alone therefore reaches ``[A, B]`` too, and stops there since ``(A, B)`` is no
   merge. So merging each token's own symbols once proves that no phantom ever meets.
   *Refused otherwise*, naming the token: it is itself a text that encodes differently.
3. *Ties between merges of one token.* They share a rank after export: the engine takes the
   leftmost, Hugging Face the earlier merge. If every token has one merge, the two are the same
   pair and both take the leftmost. Otherwise two cases can differ:

   - overlapping splits ``X + Y`` and ``Y + Z`` of one token, ``(Y, Z)`` the earlier merge. By
     the argument of 2, ``X, Y, Z`` meet in some word only if merging ``X + Y + Z`` alone passes
     through ``[X, Y, Z]``; for each such triple that does, both procedures run on that text and
     a difference is *refused* (the text is the witness);
   - disjoint pairs making the same token, merged in a different order: harmless if a merge
     always comes after the merges that make its parts (then nothing joins between them), which
     trained merge lists satisfy. Where it does not hold (Gemma: ``'▁the'`` is made before
     ``'▁th'``), or a triple above meets without a difference, the proof does not cover the
     tokenizer: :func:`check` returns why, and exactness rests on comparing encodings.
4. For tiktoken only: it returns a pre-token found whole in its ranks as that one token, without
   merging (``ignore_merges`` in Hugging Face terms). Unless the ``tokenizer.json`` does the same,
   every ranked token must come out of merging its own symbols. *Refused otherwise.*

When 1-4 hold without gaps, induction over the steps shows both procedures see the same symbols
after every step, so they return the same tokens for every word. That covers the merge step
alone; pre-tokenization and added tokens are compared on a probe text (:mod:`tokkit.export`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from tokkit.exceptions import ExportError

Pair = tuple[str, str]


@dataclass(frozen=True)
class TokenOrder:
    """The ranking a merge list implies.

    Attributes:
        merged: Tokens made by merges, in the order of their first merge (best first).
        orphans: Tokens of two symbols or more that no merge makes: the merge list never
            produces them.
        merge_rank: Each merge's position in the list.
        late_part: The first merge that uses a part a later merge makes, or None. It matters
            only when some token has several merges (``shared``; condition 3).
        shared: Whether some token is made by several merges.
    """

    merged: list[str]
    orphans: list[str]
    merge_rank: dict[Pair, int]
    late_part: str | None
    shared: bool


def merge_symbols(
    symbols: Sequence[str], merge_rank: dict[Pair, int], stop_at: Sequence[str] | None = None
) -> list[str]:
    """Hugging Face's BPE on one word: merge the adjacent pair with the lowest rank (the leftmost
    on a tie, which is the same pair twice) until none is left. With ``stop_at``, return as soon
    as the symbols equal it (used to ask whether a state is reached)."""
    parts = list(symbols)
    while len(parts) > 1:
        best, at = -1, -1
        for i in range(len(parts) - 1):
            rank = merge_rank.get((parts[i], parts[i + 1]))
            if rank is not None and (best < 0 or rank < best):
                best, at = rank, i
        if best < 0:
            break
        parts[at : at + 2] = [parts[at] + parts[at + 1]]
        if stop_at is not None and parts == list(stop_at):
            break
    return parts


def token_order(
    vocab: Collection[str], merges: Sequence[Pair], *, show: Callable[[str], str] = repr
) -> TokenOrder:
    """Condition 1 of the module docstring; the ranking it gives, and what condition 3 needs
    to know (whether a token has several merges; the first merge using a later-made part).

    ``vocab`` holds the tokens the model step can produce (added tokens left out), ``merges``
    only merges whose parts and result are among them; ``show`` renders a token in messages.

    Raises:
        ExportError: A merge makes a token outside ``vocab``, or a token's merges are not
            consecutive.
    """
    merge_rank: dict[Pair, int] = {}
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for i, (left, right) in enumerate(merges):
        token = left + right
        if token not in vocab:
            raise ExportError(
                f"merge #{i} ({show(left)}, {show(right)}) makes {show(token)}, which is not in "
                "the vocabulary"
            )
        merge_rank.setdefault((left, right), i)
        if token in first and last[token] != i - 1:
            raise ExportError(
                f"{show(token)} is made by merge #{first[token]} and again by merge #{i}, with "
                "other merges between them; one rank per token cannot order them like that"
            )
        first.setdefault(token, i)
        last[token] = i
    late_part = None
    for i, (left, right) in enumerate(merges):
        part = next((p for p in (left, right) if first.get(p, -1) >= first[left + right]), None)
        if part is not None:
            late_part = (
                f"merge #{i} ({show(left)}, {show(right)}) uses {show(part)} before merge "
                f"#{first[part]} makes it"
            )
            break
    merged = sorted(first, key=first.__getitem__)
    orphans = sorted(t for t in vocab if len(t) > 1 and t not in first)
    shared = len(merge_rank) > len(first)
    return TokenOrder(merged, orphans, merge_rank, late_part, shared)


def join_by_token_rank(symbols: Sequence[str], token_rank: Mapping[str, int]) -> list[str]:
    """tiktoken's and SentencePiece's BPE on one word: join the adjacent pair whose
    concatenation has the best (lowest) rank, the leftmost on a tie, until none is a token."""
    parts = list(symbols)
    while len(parts) > 1:
        best, at = -1, -1
        for i in range(len(parts) - 1):
            rank = token_rank.get(parts[i] + parts[i + 1])
            if rank is not None and (best < 0 or rank < best):
                best, at = rank, i
        if best < 0:
            break
        parts[at : at + 2] = [parts[at] + parts[at + 1]]
    return parts


def check(
    token_rank: Mapping[str, int],
    order: TokenOrder,
    *,
    engine: str,
    whole_pieces: bool,
    show: Callable[[str], str] = repr,
) -> list[str]:
    """Conditions 2, 3 and (with ``whole_pieces``) 4 of the module docstring.

    ``token_rank`` is the engine's ranking (lower joins first; its keys are the engine's
    candidates); ``engine`` names it in messages.

    Returns:
        Why the proof does not cover this tokenizer (empty when it does): tokens have several
        merges and a merge uses a part made later, or three tokens of an overlapping tie can
        meet (their text alone comes out the same either way).

    Raises:
        ExportError: A text that encodes differently: the token whose own symbols the merge
            list leaves at a phantom pair (or, with ``whole_pieces``, not at itself), or the
            three tokens of an ambiguous tie.
    """
    rank = order.merge_rank
    vocab = token_rank.keys()
    for token in vocab:
        if len(token) < 2:
            continue
        phantoms = [
            (token[:k], token[k:])
            for k in range(1, len(token))
            if token[:k] in vocab and token[k:] in vocab and (token[:k], token[k:]) not in rank
        ]
        if not phantoms and not whole_pieces:
            continue
        alone = merge_symbols(token, rank)
        if len(alone) == 2 and (alone[0], alone[1]) in phantoms:
            raise ExportError(
                f"the merges turn {show(token)} into {show(alone[0])} + {show(alone[1])}, "
                f"which is no merge; {engine} joins any two tokens whose concatenation is a "
                f"token, so it would return {show(token)}"
            )
        if whole_pieces and alone != [token]:
            raise ExportError(
                f"{show(token)} does not come out of its own bytes (the merges give "
                f"{' + '.join(show(p) for p in alone)}); {engine} returns a pre-token found "
                "whole in its ranks as that token"
            )
    gaps = _check_ties(order, token_rank, engine=engine, show=show)
    if order.shared and order.late_part:
        gaps.insert(0, f"tokens have several merges and {order.late_part}")
    return gaps


def _check_ties(
    order: TokenOrder, token_rank: Mapping[str, int], *, engine: str, show: Callable[[str], str]
) -> list[str]:
    """The overlapping ties of condition 3: refused if their text differs, else listed as gaps
    when they can meet."""
    gaps = []
    by_token: dict[str, list[Pair]] = {}
    for pair in order.merge_rank:
        by_token.setdefault(pair[0] + pair[1], []).append(pair)
    rank = order.merge_rank
    for token, pairs in by_token.items():
        if len(pairs) < 2:
            continue
        left_of = {right: left for left, right in pairs}  # (X, Y) by its Y
        for y, z in pairs:
            x = left_of.get(y)
            # X + Y and Y + Z both make the token; the engine takes the leftmost (X + Y), Hugging
            # Face the earlier merge. Only (Y, Z) earlier can differ, and only if X, Y, Z meet.
            if x is None or (x, y) == (y, z) or rank[(y, z)] > rank[(x, y)]:
                continue
            triple = [x, y, z]
            if merge_symbols(x + y + z, rank, stop_at=triple) != triple:
                continue
            theirs = merge_symbols(x + y + z, rank)
            ours = join_by_token_rank(x + y + z, token_rank)
            if theirs != ours:
                raise ExportError(
                    f"{show(x + y + z)} reaches {show(x)} + {show(y)} + {show(z)}, where "
                    f"{show(x)} + {show(y)} and {show(y)} + {show(z)} both make {show(token)}: "
                    f"the merges join the right pair first, {engine} the left one, and the "
                    f"results differ ({' + '.join(map(show, theirs))} against "
                    f"{' + '.join(map(show, ours))})"
                )
            gaps.append(f"{show(x)} + {show(y)} + {show(z)} can meet (an ambiguous tie)")
    return gaps
