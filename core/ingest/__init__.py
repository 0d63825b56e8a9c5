"""1. ingest: find image files, decode them safely, read the texts that travel with them."""
