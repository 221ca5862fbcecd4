"""`python -m imagemae`: the ImageMAE lesson (see imagemae/lesson.py)."""
from .lesson import main

main()
