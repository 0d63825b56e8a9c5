"""3. index: build, version and load index folders (embeddings, items, Annoy, thumbnails)."""
