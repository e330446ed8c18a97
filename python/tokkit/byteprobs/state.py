"""The cover state of one token-level LM read as a byte-level LM (design/byteprobs.md §4).

A *cover* of the bytes ``x`` read so far is a valid token sequence whose last token reaches or
crosses the end of ``x``. Covers are kept in two forms:

- **frontiers**: covers whose last token ends exactly at the end of ``x`` (empty remainder).
  Each needs one LM call, ``P(· | cover)``, to extend.
- **pending** groups: tokens that started at a frontier and still have unread bytes
  (a non-empty remainder), stored as arrays (``ids``, ``logp``) with the number of their bytes
  already read, ``consumed``.

``P(next byte = b | x) ∝ Σ_pending P(c)·[remainder(c)[0] = b] + Σ_frontier Σ_{v: bytes(v)[0] = b}
P(f)·P(v | f)·valid(f ⊕ v)``, and the end of the text carries ``P(encode(x) ⊕ EOS)``. Reading a
byte keeps the covers that agree with it and needs no LM call (design/byteprobs.md §4.3).

Tokens before the last *stable boundary* (no continuation can change them) form a shared head;
covers store only their tail after it, which keeps the state small and the KV cache shared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tokkit.byteprobs.lm import TokenLM

__all__ = ["END", "NUM_SLOTS", "ByteState", "VocabTables"]

#: Probability bands (relative to a frontier's most likely token) checked for validity in turn;
#: 0 is every remaining candidate.
_BANDS = (1e-4, 1e-8, 1e-12, 0.0)

#: Slots of a next-byte distribution: bytes 0-255, then the end of the text.
NUM_SLOTS = 257
END = 256


class VocabTables:
    """Per-vocabulary arrays shared by every state of one tokenizer (built once)."""

    def __init__(self, vocab: Any, rows: int) -> None:
        self.vocab = vocab
        n = int(vocab.vocab_size)
        if n > rows:
            from tokkit.exceptions import ModelError

            raise ModelError(
                f"the tokenizer has {n} ids but the model has only {rows} output rows: they do "
                "not belong together (pass the tokenizer saved with the model)"
            )
        self.rows = rows
        first = np.full(rows, -1, dtype=np.int64)
        first[:n] = np.asarray(vocab.first_bytes(), dtype=np.int64)
        self.first = first
        self.ordinary = first >= 0
        #: Rows that are not ordinary tokens (specials, padding): never a byte.
        self.unordinary = np.flatnonzero(~self.ordinary)
        #: First byte of each row, 0 for the others (whose probability is kept at 0).
        self.first_or_zero = np.where(self.ordinary, first, 0)
        pieces = [vocab.token_bytes(i) if first[i] >= 0 else b"" for i in range(n)]
        self.lengths = np.zeros(rows, dtype=np.int64)
        self.lengths[:n] = [len(p) for p in pieces]
        self.offsets = np.zeros(rows, dtype=np.int64)
        self.offsets[:n] = np.cumsum([0, *self.lengths[: n - 1]]) if n else []
        self.flat = np.frombuffer(b"".join(pieces), dtype=np.uint8)
        order = np.argsort(np.where(self.ordinary, first, 256), kind="stable")
        counts = np.bincount(first[self.ordinary], minlength=256)
        bounds = np.concatenate([[0], np.cumsum(counts)])
        self.by_first = [order[bounds[b] : bounds[b + 1]] for b in range(256)]

    def byte_at(self, ids: np.ndarray, k: int) -> np.ndarray:
        """Byte ``k`` of each token in ``ids`` (callers keep ``k < length``)."""
        return np.asarray(self.flat[self.offsets[ids] + k])


@dataclass
class _Frontier:
    tail: tuple[int, ...]
    logp: float
    #: log P(v | frontier) with invalid extensions at -inf; set by ByteState.distribution.
    ext: np.ndarray | None = None
    #: ``exp(ext)``, kept in step with it.
    p: np.ndarray | None = None
    #: Extensions not yet checked for validity (exact mode); checked when a byte selects them.
    unchecked: np.ndarray | None = None
    #: log P(end of text | frontier), if the model has an end token.
    end: float = -math.inf


@dataclass
class _Pending:
    parent: tuple[int, ...]
    ids: np.ndarray
    logp: np.ndarray
    consumed: int


@dataclass
class StepStats:
    """Counters of one state (for benchmarks and ``--json``)."""

    unchecked_mass: float = 0.0
    pruned: int = 0
    extra: dict[str, float] = field(default_factory=dict)


class ByteState:
    """Covers of the bytes read so far, for one LM; :meth:`distribution` then :meth:`push`.

    Args:
        lm: The token-level model.
        tables: Its tokenizer's :class:`VocabTables`.
        exact: Mask extensions that no text could produce (validity, design/byteprobs.md §5).
            Off (*fast mode*), the model's own mass on non-canonical encodings is kept.
        exact_tol: In exact mode, candidates are checked in order of probability until the
            unchecked mass of a frontier is below this; the rest count as valid.
        prune: Drop covers whose probability is below ``prune`` times the largest one's.
    """

    def __init__(
        self,
        lm: TokenLM,
        tables: VocabTables,
        *,
        exact: bool = True,
        exact_tol: float = 1e-6,
        prune: float = 1e-12,
    ) -> None:
        self.lm = lm
        self.t = tables
        self.exact = exact
        self.exact_tol = exact_tol
        self.prune_nats = -math.log(prune) if prune > 0 else math.inf
        self.head: list[int] = []
        self.tail_bytes = b""
        self.frontiers: list[_Frontier] = [_Frontier((), 0.0)]
        self.pending: list[_Pending] = []
        self.stats = StepStats()
        self._dist: np.ndarray | None = None
        self._scored: tuple[np.ndarray, float] | None = None
        self._rereading = False

    # -- next-byte distribution -------------------------------------------------------------

    def _extend_all(self) -> None:
        """Set ``f.ext`` for every new frontier: log P(v | f), -inf for rows that are not
        ordinary tokens and, in exact mode, for invalid extensions.

        The validity check runs on each frontier's most probable candidates until the mass
        left unchecked, over all covers, is below ``exact_tol`` of the total: a cover that
        carries little of the total needs few checks (none below that share).
        """
        new = [f for f in self.frontiers if f.ext is None]
        if not new:
            return
        end_id = self.lm.end_id
        for f in new:
            lp = self.lm.logprobs(self.head + list(f.tail))
            f.ext = lp.copy()  # the LM may memoise lp
            f.ext[self.t.unordinary] = -np.inf
            f.p = np.exp(f.ext)
            if end_id is not None:
                f.end = float(lp[end_id])
        if not self.exact or invalid_end(self.tail_bytes) != 0:
            return
        ref = max([f.logp for f in self.frontiers] + [float(g.logp.max()) for g in self.pending])
        weight = {id(f): math.exp(f.logp - ref) for f in self.frontiers}
        total = sum(float(np.exp(g.logp - ref).sum()) for g in self.pending)
        mass: dict[int, float] = {}
        for f in self.frontiers:
            assert f.p is not None
            mass[id(f)] = float(f.p.sum())
            total += weight[id(f)] * mass[id(f)]
        budget = self.exact_tol * total / len(new)
        unchecked = 0.0
        for f in new:
            w = weight[id(f)]
            allowed = budget / w if w > 0 else np.inf
            unchecked += w * self._mask_invalid(f, mass[id(f)], allowed)
        if total > 0:
            self.stats.unchecked_mass = max(self.stats.unchecked_mass, unchecked / total)

    def _mask_invalid(self, f: _Frontier, total: float, allowed: float) -> float:
        """Mask invalid candidates of ``f`` in place, most probable first, until the unchecked
        probability (under ``f``, whose extensions sum to ``total``) is at most ``allowed``;
        returns that probability.

        Candidates are taken in bands of probability relative to the most likely one (down to
        1e-4 of it, then 1e-8, 1e-12, then all): a band is one comparison over the vocabulary,
        where a top-k selection would be a partition.
        """
        assert f.p is not None
        p = f.p
        if not total > allowed:
            f.unchecked = p > 0.0
            return total
        top = float(p.max())
        unchecked = total
        checked = np.zeros(p.size, dtype=bool)
        for band in _BANDS:
            in_band = p >= top * band if band else p > 0.0
            todo = np.flatnonzero(in_band & ~checked)
            if todo.size:
                checked[todo] = True
                unchecked -= float(p[todo].sum())
                self._mask(f, todo)
            if unchecked <= allowed:
                break
        # The running difference drifts; the sum is exact (and cheap once per frontier).
        unchecked = float(p[~checked].sum())
        f.unchecked = ~checked & (p > 0.0)
        return unchecked

    def _mask(self, f: _Frontier, todo: np.ndarray) -> np.ndarray:
        """Check the extensions ``todo`` of ``f``, masking the invalid ones; returns which are
        valid."""
        assert f.ext is not None
        assert f.p is not None
        context = np.asarray(f.tail, dtype=np.uint32)
        ok = np.asarray(self.t.vocab.valid_extensions(context, todo.astype(np.uint32)), dtype=bool)
        bad = todo[~ok]
        f.ext[bad] = -np.inf
        f.p[bad] = 0.0
        return ok

    def _canonical_tail(self) -> tuple[int, ...] | None:
        """``encode`` of the bytes after the head, or None when they are not UTF-8 text (the
        only cover a text can end on)."""
        try:
            self.tail_bytes.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return tuple(int(i) for i in self.t.vocab.encode(self.tail_bytes))

    def _scores(self) -> tuple[np.ndarray, float]:
        """Unnormalised slot scores, relative to ``exp(ref)``, and ``ref`` (computed once per
        byte read)."""
        if self._scored is None:
            self._scored = self._compute_scores()
        return self._scored

    def _compute_scores(self) -> tuple[np.ndarray, float]:
        self._extend_all()
        refs = [f.logp for f in self.frontiers] + [float(g.logp.max()) for g in self.pending]
        ref = max(refs) if refs else 0.0
        s = np.zeros(NUM_SLOTS, dtype=np.float64)
        for g in self.pending:
            s[:256] += np.bincount(
                self.t.byte_at(g.ids, g.consumed), weights=np.exp(g.logp - ref), minlength=256
            )
        canonical = self._canonical_tail() if self.lm.end_id is not None else None
        for f in self.frontiers:
            assert f.p is not None
            w = math.exp(f.logp - ref)
            s[:256] += w * np.bincount(self.t.first_or_zero, weights=f.p, minlength=256)
            if f.tail == canonical:
                s[END] += w * math.exp(f.end)
        return s, ref

    def distribution(self) -> np.ndarray:
        """``P(next | bytes so far)`` over 257 slots (bytes, then the end of the text)."""
        if self._dist is None:
            s, _ = self._scores()
            z = s.sum()
            if not z > 0.0:
                from tokkit.exceptions import ZeroProbabilityError

                raise ZeroProbabilityError(
                    "the model gives the bytes read so far probability 0 (no valid tokenization "
                    "continues them); in exact mode this happens only for text the tokenizer "
                    "cannot produce"
                )
            self._dist = s / z
        return self._dist

    # -- reading a byte -----------------------------------------------------------------------

    def push(self, b: int) -> float:
        """Read byte ``b``; returns its natural-log probability under :meth:`distribution`.

        Bytes that no UTF-8 text contains (0xFF, a lead byte followed by ASCII...) have
        probability 0 in exact mode, and no tokenizer defines how to encode them. They are
        still read: the bytes since the stable boundary are read again without the validity
        mask, which stays off until the head has moved past them (see ``_advance_head``).
        """
        s, _ = self._scores()
        z = s.sum()
        lp_b = math.log(s[b] / z) if z > 0 and s[b] > 0 else -math.inf
        self._read(b)
        if not self.frontiers and not self.pending:
            self._reread_without_mask(b)
        self._prune()
        self._advance_head()
        self._dist = None
        self._scored = None
        return lp_b

    def _reread_without_mask(self, b: int) -> None:
        from tokkit.exceptions import ConfigError

        data = self.tail_bytes[:-1] + bytes([b])
        if not self.t.by_first[b].size:
            raise ConfigError(
                f"byte 0x{b:02x} has no token in this tokenizer's vocabulary, so the model can "
                "neither read nor produce it (remove it from the text)"
            )
        if self._rereading:
            raise ConfigError(f"the model gives byte 0x{b:02x} no tokenization here")
        # Without pruning: the segmentations that survive are often the least likely ones
        # (a lone byte token where the model expected a whole character).
        again = ByteState(self.lm, self.t, exact=False, prune=0.0)
        again._rereading = True
        again.head = list(self.head)
        again.push_bytes(data)
        self.head, self.tail_bytes = again.head, again.tail_bytes
        self.frontiers, self.pending = again.frontiers, again.pending
        self.stats.unchecked_mass = max(self.stats.unchecked_mass, again.stats.unchecked_mass)

    def _read(self, b: int) -> None:
        """Keep the covers that agree with byte ``b``."""
        frontiers: list[_Frontier] = []
        pending: list[_Pending] = []
        best = -math.inf

        def add(parent: tuple[int, ...], ids: np.ndarray, logp: np.ndarray, consumed: int) -> None:
            nonlocal best
            if not ids.size:
                return
            best = max(best, float(logp.max()))
            done = self.t.lengths[ids] == consumed
            for i, lp in zip(ids[done].tolist(), logp[done].tolist(), strict=True):
                frontiers.append(_Frontier((*parent, int(i)), float(lp)))
            if (~done).any():
                pending.append(_Pending(parent, ids[~done], logp[~done], consumed))

        for g in self.pending:
            keep = self.t.byte_at(g.ids, g.consumed) == b
            add(g.parent, g.ids[keep], g.logp[keep], g.consumed + 1)
        unsure: list[tuple[_Frontier, np.ndarray]] = []
        for f in self.frontiers:
            assert f.ext is not None
            cand = self.t.by_first[b]
            if f.unchecked is not None:
                later = f.unchecked[cand]
                unsure.append((f, cand[later]))
                cand = cand[~later]
            lp = f.logp + f.ext[cand]
            ok = np.isfinite(lp)
            add(f.tail, cand[ok], lp[ok], 1)
        # Extensions the mass budget left unchecked are checked now that the byte selects them,
        # so every cover stays valid; those that pruning would drop anyway are skipped.
        floor = best - self.prune_nats
        for f, cand in unsure:
            assert f.ext is not None
            assert f.unchecked is not None
            lp = f.logp + f.ext[cand]
            keep = np.isfinite(lp) & (lp >= floor)
            todo = cand[keep]
            if not todo.size:
                continue
            ok = self._mask(f, todo)
            f.unchecked[todo] = False
            add(f.tail, todo[ok], lp[keep][ok], 1)
        self.frontiers, self.pending = frontiers, pending
        self.tail_bytes += bytes([b])

    def push_bytes(self, data: bytes) -> float:
        """Read ``data``; returns the sum of the bytes' natural-log probabilities."""
        return sum(self.push(b) for b in data)

    def _prune(self) -> None:
        best = max(
            [f.logp for f in self.frontiers] + [float(g.logp.max()) for g in self.pending],
            default=-math.inf,
        )
        if not math.isfinite(best):
            return
        floor = best - self.prune_nats
        # Only ratios matter: keep log-probabilities near 0 over long texts.
        for f in self.frontiers:
            f.logp -= best
        for g in self.pending:
            g.logp = g.logp - best
        floor -= best
        before = len(self.frontiers) + sum(g.ids.size for g in self.pending)
        self.frontiers = [f for f in self.frontiers if f.logp >= floor]
        kept = []
        for g in self.pending:
            keep = g.logp >= floor
            if keep.any():
                kept.append(_Pending(g.parent, g.ids[keep], g.logp[keep], g.consumed))
        self.pending = kept
        self.stats.pruned += before - len(self.frontiers) - sum(g.ids.size for g in self.pending)

    def _advance_head(self) -> None:
        """Move tokens before the stable boundary into the shared head.

        After bytes that are not UTF-8 (which have no canonical encoding), the boundary is
        searched in the text after them, and the head takes the tokens of the most probable
        cover up to it: covers that segment those bytes otherwise are dropped.
        """
        j = invalid_end(self.tail_bytes)
        h = j + int(self.t.vocab.stable_boundary(self.tail_bytes[j:]))
        if h <= 0:
            return
        if j == 0:
            fixed = tuple(int(i) for i in self.t.vocab.encode(self.tail_bytes[:h]))
        else:
            found = self._best_tokens_up_to(h)
            if found is None:
                return
            fixed = found
        k = len(fixed)
        self.frontiers = [
            replace(f, tail=f.tail[k:]) for f in self.frontiers if f.tail[:k] == fixed
        ]
        self.pending = [
            replace(g, parent=g.parent[k:]) for g in self.pending if g.parent[:k] == fixed
        ]
        self.head.extend(fixed)
        self.tail_bytes = self.tail_bytes[h:]

    def _best_tokens_up_to(self, h: int) -> tuple[int, ...] | None:
        """The tokens, up to byte ``h`` of the tail, of the most probable cover that has a
        token boundary there."""
        best: tuple[float, tuple[int, ...]] | None = None
        parents = [(f.logp, f.tail) for f in self.frontiers]
        parents += [(float(g.logp.max()), g.parent) for g in self.pending]
        for logp, tail in parents:
            pos = 0
            for k, t in enumerate(tail):
                if pos == h:
                    if best is None or logp > best[0]:
                        best = (logp, tail[:k])
                    break
                pos += int(self.t.lengths[t])
            else:
                if pos == h and (best is None or logp > best[0]):
                    best = (logp, tail)
        return None if best is None else best[1]


def invalid_end(data: bytes) -> int:
    """The offset just after the last bytes of ``data`` that no UTF-8 text contains (0 if
    ``data`` is UTF-8, possibly cut inside its last character)."""
    end, pos = 0, 0
    while True:
        try:
            data[pos:].decode("utf-8")
            return end
        except UnicodeDecodeError as e:
            if e.reason == "unexpected end of data" and pos + e.end == len(data):
                return end
            end = pos = pos + e.end
