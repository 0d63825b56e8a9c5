"""learn: frozen-feature cache and training of the two-branch image-text head."""
