"""convsim.viz."""
