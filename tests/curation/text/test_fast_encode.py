"""The GPU encode path is exercised on CPU here: it must give the same embeddings as sentence-transformers."""

import numpy as np

from curation.text.embeddings import Embedder
from curation.text.fast_encode import encode_fast, supports_fast_path


def test_fast_path_matches_sentence_transformers_encode():
    model = Embedder(device="cpu").model()
    assert supports_fast_path(model)
    texts = ["Find 3+5.", "What is the sum of the first ten primes?", "x" * 3000, "", "Écrire une fonction."] * 7
    ref = model.encode(texts, batch_size=8, convert_to_numpy=True, normalize_embeddings=True)
    got = encode_fast(model, texts, batch_size=6, tokenize_threads=3, lookahead=2)
    assert got.shape == ref.shape
    cos = (got * ref).sum(1)
    assert cos.min() > 0.9999, cos.min()
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_unsupported_layout_is_refused():
    class Fake(list):
        pass

    class Transformer:  # noqa: D401 - stands in for a module name only
        pass

    class CLSPooling:
        pass

    assert not supports_fast_path(Fake([Transformer(), CLSPooling()]))
