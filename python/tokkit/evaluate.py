"""Tokenizer evaluation (design/training.md §7): the metrics, a runner and a comparison plot.

The metric functions (:func:`bytes_per_token`, :func:`tokens_per_char`, :func:`fertility`,
:func:`renyi_efficiency`, :func:`length_buckets`) are pure. :func:`evaluate` encodes texts with a
:class:`~tokkit.Tokenizer` (batched: in parallel and without the GIL where the engine allows it)
and returns an :class:`Evaluation`; :func:`bpt_curve` measures bytes per token with the merge
list cut to smaller vocabularies (the SuperBPE curve); :func:`plot` draws bytes per token against
vocabulary size as a PNG (matplotlib, imported only there).

Counts are over the text as given, without BOS/EOS. Texts are encoded in chunks
(:func:`split_chunks`) cut where the GPT-2, cl100k, Llama-3 and o200k regexes split anyway, so the
token count equals that of encoding the whole text at once for these pre-tokenizers.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokkit.exceptions import ConfigError, CorpusError, CorpusNotFoundError, OutputError
from tokkit.tokenizer import Tokenizer

if TYPE_CHECKING:
    from tokkit.hybrid.metrics import TurkishAnalyzer, TurkishMetrics

#: The default order of the Rényi entropy (arXiv 2306.16842).
DEFAULT_RENYI_ALPHA = 2.5
#: Token-length buckets in bytes (KL3M's 1-2 / 3-6 / 7+).
LENGTH_BUCKETS: tuple[tuple[int, int | None], ...] = ((1, 2), (3, 6), (7, None))
#: Target chunk length in characters for batch encoding.
CHUNK_CHARS = 1 << 14
#: Characters encoded per batch call (bounds the memory held by token ids).
BATCH_CHARS = 1 << 23
#: Vocabulary sizes of the default curve (those below the tokenizer's size are used).
CURVE_GRID = tuple(1000 * 2**k for k in range(9))

# Cut after a newline between two non-space characters, or else before a space between two (for
# text without such newlines): the GPT-2, cl100k, Llama-3 and o200k regexes split there too.
_CHUNK_END = re.compile(r"(?<=\S)\n(?=\S)")
_CHUNK_SPACE = re.compile(r"(?<=\S)(?= \S)")


# --- metrics ------------------------------------------------------------------------------------


def bytes_per_token(n_bytes: int, n_tokens: int) -> float:
    """UTF-8 bytes per token (higher is better); 0 when there are no tokens."""
    return n_bytes / n_tokens if n_tokens else 0.0


def tokens_per_char(n_tokens: int, n_chars: int) -> float:
    """Tokens per Unicode character (lower is better); 0 for no characters."""
    return n_tokens / n_chars if n_chars else 0.0


def fertility(n_tokens: int, n_words: int) -> float:
    """Tokens per whitespace-separated word (``len(text.split())``); 0 for no words."""
    return n_tokens / n_words if n_words else 0.0


def check_alpha(alpha: float) -> float:
    """``alpha`` if it is a valid Rényi order (>= 0, not NaN).

    Raises:
        ConfigError: Otherwise.
    """
    if not alpha >= 0:
        raise ConfigError(f"Rényi alpha must be >= 0, got {alpha}; the default is 2.5")
    return alpha


def renyi_entropy(counts: Iterable[int], alpha: float = DEFAULT_RENYI_ALPHA) -> float:
    """Rényi entropy of order ``alpha`` (in nats) of the distribution ``counts`` describes:
    ``log(sum(p**alpha)) / (1 - alpha)``; Shannon entropy at alpha = 1, ``-log(max(p))`` at
    alpha = inf.

    Raises:
        ConfigError: ``alpha`` is negative or NaN.
    """
    check_alpha(alpha)
    positive = [c for c in counts if c > 0]
    total = sum(positive)
    if not total:
        return 0.0
    probs = [c / total for c in positive]
    if alpha == 1:
        return -math.fsum(p * math.log(p) for p in probs)
    if math.isinf(alpha):
        return -math.log(max(probs))
    return math.log(math.fsum(p**alpha for p in probs)) / (1 - alpha)


def renyi_efficiency(
    counts: Iterable[int], vocab_size: int, alpha: float = DEFAULT_RENYI_ALPHA
) -> float:
    """Rényi efficiency ``H_alpha(p) / log(vocab_size)`` of the unigram token distribution (arXiv
    2306.16842): 1 for a uniform distribution over the whole vocabulary, 0 for one token.

    Raises:
        ConfigError: ``alpha`` is negative or NaN.
    """
    entropy = renyi_entropy(counts, alpha)
    return entropy / math.log(vocab_size) if vocab_size > 1 else 0.0


def bucket_label(low: int, high: int | None) -> str:
    """``"3-6"`` or ``"7+"``."""
    return f"{low}+" if high is None else f"{low}-{high}"


def length_buckets(
    lengths: Mapping[int, int],
    buckets: Sequence[tuple[int, int | None]] = LENGTH_BUCKETS,
) -> dict[str, float]:
    """Share of the counts in each length bucket, from a ``{length: count}`` histogram; lengths
    outside every bucket (0: control tokens) are left out of the total."""
    shares = dict.fromkeys((bucket_label(lo, hi) for lo, hi in buckets), 0)
    for length, count in lengths.items():
        for lo, hi in buckets:
            if length >= lo and (hi is None or length <= hi):
                shares[bucket_label(lo, hi)] += count
                break
    total = sum(shares.values())
    return {k: v / total if total else 0.0 for k, v in shares.items()}


def split_chunks(text: str, target_chars: int = CHUNK_CHARS) -> list[str]:
    """Cut ``text`` into pieces of about ``target_chars`` that join back to it. Each piece ends
    after a newline between two non-space characters (else before a space between two): a
    pre-token boundary of the usual regexes, so encoding the pieces gives the same tokens."""
    chunks = []
    start = 0
    while len(text) - start > target_chars:
        at = start + target_chars
        m = _CHUNK_END.search(text, at, at + 4 * target_chars) or _CHUNK_SPACE.search(text, at)
        if m is None:
            break
        chunks.append(text[start : m.end()])
        start = m.end()
    chunks.append(text[start:])
    return chunks


# --- texts --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A text to evaluate on, with its exact size."""

    name: str
    text: str
    n_bytes: int
    sha256: str
    chars: int
    words: int

    @classmethod
    def from_bytes(cls, data: bytes, name: str) -> Text:
        """Decode ``data`` as UTF-8 (strictly).

        Raises:
            CorpusError: Not UTF-8, or no words in it.
        """
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise CorpusError(
                f"{name} is not valid UTF-8 (byte {e.start}); convert it to UTF-8, "
                "e.g. `iconv -f latin1 -t utf-8`"
            ) from None
        words = len(text.split())
        if not words:
            raise CorpusError(f"{name} has no text to evaluate on; give a file with some words")
        return cls(name, text, len(data), hashlib.sha256(data).hexdigest(), len(text), words)


def read_text(path: str | os.PathLike[str]) -> Text:
    """Read a UTF-8 text file (``-`` is standard input).

    Raises:
        CorpusNotFoundError: No such file.
        CorpusError: A directory, not UTF-8, or empty.
    """
    if str(path) == "-":
        return Text.from_bytes(sys.stdin.buffer.read(), "<stdin>")
    p = Path(path)
    if p.is_dir():
        raise CorpusError(f"{p} is a directory", hint="pass text files, each with {text}")
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise CorpusNotFoundError(f"text {p} not found; check the path") from None
    return Text.from_bytes(data, str(p))


# --- running ------------------------------------------------------------------------------------


@dataclass
class CurvePoint:
    """Bytes per token of a tokenizer cut to ``vocab_size`` ids."""

    vocab_size: int
    tokens: int
    bytes_per_token: float


@dataclass
class Evaluation:
    """The metrics of one tokenizer on some texts (``to_dict`` is the ``--json`` object)."""

    name: str
    path: str
    format: str
    engine: str
    vocab_size: int
    sha256: str
    tokens: int
    bytes: int
    chars: int
    words: int
    bytes_per_token: float
    tokens_per_char: float
    fertility: float
    vocab_used: int
    vocab_used_share: float
    renyi_alpha: float
    renyi_efficiency: float
    token_lengths: dict[int, int]
    length_buckets: dict[str, float]
    vocab_length_buckets: dict[str, float]
    encode_seconds: float
    encode_mb_per_s: float
    texts: list[dict[str, Any]]
    curve: list[CurvePoint] = field(default_factory=list)
    #: %TR and %Pure (design/hybrid.md; :mod:`tokkit.hybrid.metrics`), when asked for.
    morphology: TurkishMetrics | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``token_lengths`` keys become strings). With :attr:`morphology`,
        its ``turkish_token_pct``, ``pure_token_pct`` and ``unique_tokens`` are also top-level
        keys; without, the ``morphology`` key is left out."""
        d = asdict(self)
        d["token_lengths"] = {str(k): v for k, v in sorted(self.token_lengths.items())}
        if self.morphology is None:
            del d["morphology"]
        else:
            for key in ("turkish_token_pct", "pure_token_pct", "unique_tokens"):
                d[key] = d["morphology"][key]
        return d


def _batches(chunks: list[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    size = 0
    for chunk in chunks:
        batch.append(chunk)
        size += len(chunk)
        if size >= BATCH_CHARS:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _count(
    tokenizer: Tokenizer, text: Text, chunk_chars: int, counts: Counter[int] | None
) -> tuple[int, float]:
    """Tokens of ``text`` (ids added to ``counts``) and the seconds spent in encode_batch."""
    n = 0
    seconds = 0.0
    for batch in _batches(split_chunks(text.text, chunk_chars)):
        start = time.perf_counter()
        encoded = tokenizer.encode_batch(batch)
        seconds += time.perf_counter() - start
        for ids in encoded:
            n += len(ids)
            if counts is not None:
                counts.update(ids)
    return n, seconds


def _vocab_lengths(tokenizer: Tokenizer) -> dict[int, int]:
    return dict(Counter(len(tokenizer.token_bytes(i)) for i in range(tokenizer.vocab_size)))


def evaluate(
    tokenizer: Tokenizer,
    texts: Sequence[Text],
    *,
    name: str | None = None,
    alpha: float = DEFAULT_RENYI_ALPHA,
    chunk_chars: int = CHUNK_CHARS,
    morphology: TurkishAnalyzer | None = None,
) -> Evaluation:
    """Encode ``texts`` with ``tokenizer`` and compute every metric of design/training.md §7;
    with a ``morphology`` analyser also %TR and %Pure (:mod:`tokkit.hybrid.metrics`: each id seen
    decoded alone, over the unique token strings).

    Raises:
        ConfigError: ``alpha`` is invalid, no texts are given, or ``morphology`` needs a package
            that is not installed.
    """
    check_alpha(alpha)
    if not texts:
        raise ConfigError("no text to evaluate on", hint="pass {text}")
    tokenizer.encode_batch([texts[0].text[:1000]])  # warm up lazy initialisation
    counts: Counter[int] = Counter()
    seconds = 0.0
    per_text = []
    for text in texts:
        n, s = _count(tokenizer, text, chunk_chars, counts)
        seconds += s
        per_text.append(
            {
                "path": text.name,
                "sha256": text.sha256,
                "bytes": text.n_bytes,
                "chars": text.chars,
                "words": text.words,
                "tokens": n,
                "bytes_per_token": bytes_per_token(text.n_bytes, n),
                "tokens_per_char": tokens_per_char(n, text.chars),
                "fertility": fertility(n, text.words),
            }
        )
    n_tokens = sum(counts.values())
    n_bytes = sum(t.n_bytes for t in texts)
    chars = sum(t.chars for t in texts)
    words = sum(t.words for t in texts)
    lengths: Counter[int] = Counter()
    for token_id, count in counts.items():
        lengths[len(tokenizer.token_bytes(token_id))] += count
    vocab_size = tokenizer.vocab_size
    morph = None
    if morphology is not None:
        from tokkit.hybrid.metrics import metrics_from_ids

        morph = metrics_from_ids(
            counts,
            tokens=n_tokens,
            words=words,
            decode_one=lambda i: tokenizer.decode([i]),
            special_ids=tokenizer.special_tokens.values(),
            analyzer=morphology,
        )
    return Evaluation(
        name=name or tokenizer.name,
        path=str(tokenizer.path),
        format=tokenizer.format,
        engine=tokenizer.engine,
        vocab_size=vocab_size,
        sha256=tokenizer.sha256,
        tokens=n_tokens,
        bytes=n_bytes,
        chars=chars,
        words=words,
        bytes_per_token=bytes_per_token(n_bytes, n_tokens),
        tokens_per_char=tokens_per_char(n_tokens, chars),
        fertility=fertility(n_tokens, words),
        vocab_used=len(counts),
        vocab_used_share=len(counts) / vocab_size if vocab_size else 0.0,
        renyi_alpha=alpha,
        renyi_efficiency=renyi_efficiency(counts.values(), vocab_size, alpha),
        token_lengths=dict(sorted(lengths.items())),
        length_buckets=length_buckets(lengths),
        vocab_length_buckets=length_buckets(_vocab_lengths(tokenizer)),
        encode_seconds=seconds,
        encode_mb_per_s=n_bytes / 1e6 / seconds if seconds > 0 else 0.0,
        texts=per_text,
        morphology=morph,
    )


def default_curve_sizes(vocab_size: int) -> list[int]:
    """The grid 1k, 2k, 4k, … 256k below ``vocab_size``."""
    return [s for s in CURVE_GRID if s < vocab_size]


def bpt_curve(
    tokenizer: Tokenizer,
    texts: Sequence[Text],
    sizes: Sequence[int] | None = None,
    *,
    chunk_chars: int = CHUNK_CHARS,
) -> list[CurvePoint]:
    """Bytes per token with the vocabulary cut to each of ``sizes`` (default
    :func:`default_curve_sizes`, skipping sizes below the alphabet); sizes not below the
    tokenizer's own are left out.

    Raises:
        ConfigError: ``tokenizer`` cannot be truncated, or an explicit size is below its alphabet.
    """
    explicit = sizes is not None
    grid = sorted({s for s in (sizes or default_curve_sizes(tokenizer.vocab_size))})
    grid = [s for s in grid if s < tokenizer.vocab_size]
    n_bytes = sum(t.n_bytes for t in texts)
    points = []
    for cut in tokenizer.truncations(grid, skip_too_small=not explicit):
        n = sum(_count(cut, t, chunk_chars, None)[0] for t in texts)
        points.append(CurvePoint(cut.vocab_size, n, bytes_per_token(n_bytes, n)))
    return points


# --- plot ---------------------------------------------------------------------------------------


def _size_label(v: float, _pos: object = None) -> str:
    if v >= 1000:
        return f"{v / 1000:.4g}k"
    return f"{v:g}"


def figure(evaluations: Sequence[Evaluation]) -> Any:
    """The matplotlib ``Figure`` :func:`plot` saves. The y axis starts at 0, so that a small
    difference looks small; the caption names only what is drawn.

    Raises:
        ConfigError: matplotlib is not installed.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import FuncFormatter, NullFormatter
    except ImportError:
        raise ConfigError("a plot needs matplotlib", hint="pip install 'tokkit[eval]'") from None
    fig = Figure(figsize=(8, 5), dpi=150, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_xscale("log")
    for i, ev in enumerate(evaluations):
        color = f"C{i % 10}"
        label = f"{ev.name}: {ev.bytes_per_token:.2f} at {ev.vocab_size:,} ids"
        if ev.curve:
            xs = [p.vocab_size for p in ev.curve] + [ev.vocab_size]
            ys = [p.bytes_per_token for p in ev.curve] + [ev.bytes_per_token]
            ax.plot(xs, ys, color=color, marker="o", markersize=3, linewidth=1.5)
            ax.plot(xs[-1:], ys[-1:], color=color, marker="*", markersize=12, label=label)
        else:
            label += f" ({ev.engine}, not cut)"
            ax.plot([ev.vocab_size], [ev.bytes_per_token], color=color, marker="D", label=label)
    sizes = [p.vocab_size for ev in evaluations for p in ev.curve]
    sizes += [ev.vocab_size for ev in evaluations]
    ticks = [t for t in (500, *CURVE_GRID, 512000) if min(sizes) / 1.5 <= t <= max(sizes) * 1.5]
    ax.set_xticks(ticks)
    ax.xaxis.set_major_formatter(FuncFormatter(_size_label))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlim(min(sizes) / 1.3, max(sizes) * 1.6)
    curves = any(ev.curve for ev in evaluations)
    ax.set_xlabel(
        "vocabulary size (ids, log scale)"
        + ("; lines: the merge list cut, ★: full size" if curves else "")
    )
    ax.set_ylabel("bytes per token (higher is better)")
    ax.set_ylim(bottom=0, top=max(ev.bytes_per_token for ev in evaluations) * 1.15)
    texts = evaluations[0].texts if evaluations else []
    names = ", ".join(Path(t["path"]).name for t in texts)
    mb = sum(t["bytes"] for t in texts) / 1e6
    ax.set_title(f"Encoding efficiency on {names} ({mb:.2f} MB)", fontsize=11)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return fig


def plot(evaluations: Sequence[Evaluation], path: str | os.PathLike[str]) -> Path:
    """Draw bytes per token against vocabulary size as a PNG at ``path`` (written atomically):
    a curve for each evaluation with a :attr:`Evaluation.curve`, a point for the others.

    Raises:
        ConfigError: matplotlib is not installed.
        OutputError: ``path`` cannot be written.
    """
    out = Path(path)
    fig = figure(evaluations)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        fig.savefig(tmp, format="png")
        tmp.replace(out)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise OutputError(
            f"cannot write {out}: {e.strerror or e}", hint="choose another {plot}"
        ) from None
    return out
