"""demo: assemble the embedded demo from registry packages, then train and build its indexes."""
