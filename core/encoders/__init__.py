"""2. encoders: turn pixels and texts into vectors; one interface, a table of model families."""
