"""`python -m claims`: the lessons' pages quote numbers; this checks what they say about
them over seeds and thread counts (see `claims.runner`, and the lessons' pages docs/01-05)."""
