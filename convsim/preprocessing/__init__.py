"""convsim.preprocessing."""
