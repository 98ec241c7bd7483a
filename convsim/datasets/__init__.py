"""convsim.datasets."""
