"""convsim.layers."""
