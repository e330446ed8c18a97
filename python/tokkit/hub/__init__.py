"""Push a model or tokenizer directory to the Hugging Face Hub, with a generated model card.

:func:`push` uploads a directory as tokkit writes it (a transplanted model, a model prepared by
``tokkit models``, a trained tokenizer) or any plain Hugging Face directory, in one commit.
:func:`model_card` writes the ``README.md`` it adds: YAML front matter the Hub reads (license
carried over from the base model, ``base_model``, tags, pipeline) and a body that says what the
model is, how it was made, how well it does and how to load it.

Everything that can be checked locally is checked before the first request: the directory, that
no pickled file would be uploaded (tokkit ships safetensors only), the repo id and the token.
The directory itself is never modified; the card is added to the upload, not written into it.

The card's metadata is written with huggingface_hub's ``ModelCardData``, so
:func:`model_card` and dry runs need huggingface_hub too, but only a real push talks to the Hub.

:mod:`tokkit.hub.snapshot` goes the other way: it resolves Hub ids (``org/name``) given where
tokkit takes a model or tokenizer.
"""

from __future__ import annotations

from tokkit.hub.card import model_card as model_card
from tokkit.hub.directory import PICKLE_SUFFIXES as PICKLE_SUFFIXES
from tokkit.hub.front_matter import read_front_matter as read_front_matter
from tokkit.hub.upload import DEFAULT_ENDPOINT as DEFAULT_ENDPOINT
from tokkit.hub.upload import PushResult as PushResult
from tokkit.hub.upload import UploadFile as UploadFile
from tokkit.hub.upload import check_repo_id as check_repo_id
from tokkit.hub.upload import human_size as human_size
from tokkit.hub.upload import logger as logger
from tokkit.hub.upload import push as push

__all__ = ["PushResult", "UploadFile", "model_card", "push"]
