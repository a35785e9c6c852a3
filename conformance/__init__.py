"""Support code for the gabbi conformance suite in gabbits/: per-file test data and its cleanup."""
