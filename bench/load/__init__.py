"""Load and soak campaign against a live ``rnnlab serve``: ``python -m bench.load``."""
