"""Loading, cleaning, chunking and ingesting news articles."""
