"""The ``local`` backend: WordLlama, whose wheel ships its weights and tokenizer.

WordLlama's ``load()`` looks for its tokenizer in a folder named
``tokenizer`` while the wheel ships it in ``tokenizers``, so offline it
tries to download it.  Pointing ``cache_dir`` at the installed package (which
holds ``weights/`` and ``tokenizers/``) with downloads disabled loads exactly
the shipped files and never touches the network.
"""

from __future__ import annotations

import functools
from typing import Sequence

from rmg_core import ConfigError

INSTALL_HINT = "pip install 'rmg[embeddings]'  (or: pip install wordllama)"


@functools.lru_cache(maxsize=4)
def _model(dim: int):  # type: ignore[no-untyped-def]
    try:
        import wordllama
        from wordllama import WordLlama
    except ImportError:
        raise ConfigError(
            f"semantic_similarity: backend 'local' needs WordLlama, which is not installed; {INSTALL_HINT}, "
            "or set backend = \"openai\""
        ) from None
    from pathlib import Path

    trunc = None if dim == 256 else dim
    return WordLlama.load(config="l2_supercat", dim=256, trunc_dim=trunc,
                          cache_dir=Path(wordllama.__file__).parent, disable_download=True)


def check_installed() -> None:
    """Raise `ConfigError` now (at construction) if WordLlama is missing, not at the first case."""
    import importlib.util

    if importlib.util.find_spec("wordllama") is None:
        raise ConfigError(
            f"semantic_similarity: backend 'local' needs WordLlama, which is not installed; {INSTALL_HINT}, "
            "or set backend = \"openai\""
        )


def embed(texts: Sequence[str], dim: int) -> "np.ndarray":  # noqa: F821
    """Unit-length float32 embeddings of ``texts`` (non-empty texts only), one row each."""
    import numpy as np

    vectors = _model(dim).embed(list(texts), norm=False, batch_size=256)
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    # A text of only unknown tokens has a zero vector: leave it zero (cosine 0), never NaN.
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


__all__ = ["embed", "check_installed", "INSTALL_HINT"]
