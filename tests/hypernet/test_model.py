"""The hypernetwork module and surface forms on SmolLM2-135M's real embeddings and tokenizer:
the identity at step 0, the mean baseline on longer decompositions, decompositions that spell
the token, fallback rows for bytes a base lacks, and the schedule."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tokkit.exceptions import ConfigError
from tokkit.hypernet.config import Architecture, HypernetConfig
from tokkit.hypernet.model import PAD, HyperNetwork
from tokkit.hypernet.surface import Decomposer


@pytest.fixture(scope="module")
def base_E(smol: Path) -> torch.Tensor:
    return load_file(str(smol / "model.safetensors"))["model.embed_tokens.weight"].float()


def test_step_zero_is_the_identity_on_single_tokens_and_the_mean_on_longer(
    base_E: torch.Tensor,
) -> None:
    torch.manual_seed(0)
    net = HyperNetwork(Architecture(layers=2).resolved(base_E.shape[1]), base_E, None)
    ids = torch.randint(0, base_E.shape[0], (64, 3))
    single = ids.clone()
    single[:, 1:] = PAD
    e, u = net(single)
    assert u is None
    assert torch.equal(e, base_E[single[:, 0]])
    e, _ = net(ids)
    torch.testing.assert_close(e, base_E[ids].mean(1), rtol=0, atol=1e-6)


def test_an_untied_base_gets_input_and_output_rows(base_E: torch.Tensor) -> None:
    E, U = base_E[:1000], base_E[1000:2000].flip(1)
    net = HyperNetwork(Architecture(layers=1, hidden=64, heads=2).resolved(576), E, U)
    ids = torch.tensor([[5, PAD], [7, 9]])
    e, u = net(ids)
    assert u is not None
    assert torch.equal(e[0], E[5])
    assert torch.equal(u[0], U[5])
    torch.testing.assert_close(u[1], (U[7] + U[9]) / 2)
    # Training moves the output head away from the identity, not the inputs' head alone.
    (e.sum() + u.sum()).backward()
    assert net.head_out is not None
    assert net.head_out[1].weight.grad is not None


def test_surface_forms_spell_their_tokens(smol: Path) -> None:
    dec = Decomposer(smol / "tokenizer.json", 49152, maxlen=64)
    rng = random.Random(0)
    pieces = [b" the", b"Hello world", "naïve café".encode(), "ğüşıöç".encode(),
              bytes([0xE2, 0x82]), bytes(rng.randrange(256) for _ in range(12))]
    pieces += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 20))) for _ in range(200)]
    # SmolLM2 has no token for some bytes (0x04, 0xC0, 0xF5...): those get fallback ids.
    missing = {b for b in range(256) if dec.byte_ids[b] >= 49152}
    assert {0x04, 0xC0, 0xF5} <= missing
    for piece, ids in zip(pieces, dec.ids(pieces), strict=True):
        assert ids
        spelled = b"".join(
            dec.tokenizer.token_bytes(i) if i < 49152 else bytes([i - 49152]) for i in ids
        )
        assert spelled == piece
        assert {i - 49152 for i in ids if i >= 49152} <= missing
    assert dec.fallback_bytes([b"\x04ab", b"\xf5", b" the"]) == {0x04, 0xF5}
    assert dec.ids([b" the"]) == [[260]]  # the base token itself
    # Surface matrices cut at maxlen and pad with PAD.
    short = Decomposer(smol / "tokenizer.json", 49152, maxlen=2)
    s = short.surface([b" the", bytes(range(100, 110))])
    assert s.shape == (2, 2)
    assert s[0, 1] == PAD
    assert (s[1] != PAD).all()


def test_the_schedule_warms_up_twice_then_decays_to_a_tenth() -> None:
    cfg = HypernetConfig(max_steps=100, identity_steps=10, warmup_steps=10, lr=1e-4,
                         identity_lr=3e-4)
    lrs = [cfg.lr_at(s) for s in range(100)]
    assert lrs[9] == pytest.approx(3e-4)
    assert lrs[0] == pytest.approx(3e-5)
    assert lrs[10] == pytest.approx(1e-5)
    assert lrs[19] == pytest.approx(1e-4)
    assert all(a >= b for a, b in itertools.pairwise(lrs[19:]))
    assert lrs[-1] == pytest.approx(1e-5, rel=0.05)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"real_rate": 0.5}, "no real tokenizers"),
        ({"seq_len": 4}, "seq_len"),
        ({"sample_vocab": 0}, "sample_vocab"),
    ],
)
def test_bad_options_are_config_errors(changes: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        HypernetConfig(**changes)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="layers"):
        Architecture(layers=0)


def test_heads_must_divide_the_width() -> None:
    with pytest.raises(ConfigError, match="divisible") as e:
        Architecture(hidden=100, heads=3).resolved(576)
    assert e.value.hint
