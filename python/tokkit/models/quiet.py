"""Silencing transformers' progress bars and log chatter while tokkit reports the stage."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def quiet_transformers(*, gguf: bool = False) -> Iterator[None]:
    """Silence transformers' own progress bars and info/warning chatter for a block; tokkit's
    progress reports the stage instead. The previous settings are restored afterwards."""
    from transformers.utils import logging

    hf_logging: Any = logging  # untyped module
    bars = hf_logging.is_progress_bar_enabled()
    level = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    # The GGUF dequantizer calls tqdm directly, ignoring the switch above; wrap its tqdm while
    # the block runs (a transformers without that module simply keeps its bar).
    gguf_utils: Any = None
    if gguf:
        with contextlib.suppress(ImportError):
            from transformers import modeling_gguf_pytorch_utils as gguf_utils
    original = getattr(gguf_utils, "tqdm", None)
    if original is not None:
        gguf_utils.tqdm = functools.partial(original, disable=True)
    try:
        yield
    finally:
        if original is not None:
            gguf_utils.tqdm = original
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()
