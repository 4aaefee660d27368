"""One module per network of the notes; each exposes ``init``, ``apply`` and ``loss``."""
