"""4. query: answer text and image queries against a loaded index, and compare indexes."""
