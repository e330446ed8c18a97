"""tokkit: a tokenizer engineering toolkit.

Train tokenizers in Rust and write them as standard Hugging Face ``tokenizer.json``::

    import tokkit
    from tokkit.trainers import BPE
    tok = tokkit.train("corpora/en-prose.txt", BPE(vocab_size=8000), out="my-bpe")
    ids = tokkit.load("my-bpe").encode("Hello world")
    tokkit.export.export("my-bpe", "tiktoken", "my-bpe-tiktoken")  # where it is exact
"""

from tokkit import exceptions as exceptions
from tokkit import export as export
from tokkit import trainers as trainers
from tokkit._tokkit import PRETOKENIZER_PATTERNS as PRETOKENIZER_PATTERNS
from tokkit._tokkit import __version__ as __version__
from tokkit.exceptions import ConfigError as ConfigError
from tokkit.exceptions import CorpusError as CorpusError
from tokkit.exceptions import CorpusNotFoundError as CorpusNotFoundError
from tokkit.exceptions import ExportError as ExportError
from tokkit.exceptions import OutputError as OutputError
from tokkit.exceptions import OutputExistsError as OutputExistsError
from tokkit.exceptions import SerializationError as SerializationError
from tokkit.exceptions import TokenizerNotFoundError as TokenizerNotFoundError
from tokkit.exceptions import TokkitError as TokkitError
from tokkit.exceptions import TrainingError as TrainingError
from tokkit.tokenizer import Tokenizer as Tokenizer
from tokkit.tokenizer import load as load
from tokkit.train import HFConventions as HFConventions
from tokkit.train import TrainedTokenizer as TrainedTokenizer
from tokkit.train import train as train

__all__ = [
    "PRETOKENIZER_PATTERNS",
    "ConfigError",
    "CorpusError",
    "CorpusNotFoundError",
    "ExportError",
    "HFConventions",
    "OutputError",
    "OutputExistsError",
    "SerializationError",
    "Tokenizer",
    "TokenizerNotFoundError",
    "TokkitError",
    "TrainedTokenizer",
    "TrainingError",
    "__version__",
    "exceptions",
    "export",
    "load",
    "train",
    "trainers",
]
