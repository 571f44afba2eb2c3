"""Component layer: the embedding model, the Chroma store and the lexical index derived from it."""
