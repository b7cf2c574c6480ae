"""Text utilities: normalization, canonical forms, shingling, MinHash, embeddings."""
