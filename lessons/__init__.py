"""The lessons, one module each (shipped as convsim.lessons)."""
