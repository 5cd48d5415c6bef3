"""Schema extensions, one concern each."""
