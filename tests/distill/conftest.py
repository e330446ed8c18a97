"""Shared by the distillation tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    # The suite shares two cores with other work; tiny models and tensors gain nothing from
    # threads. The setting is put back for the tests that run after these.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
