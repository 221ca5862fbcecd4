"""`python -m vit`: the ViT lesson (see vit/lesson.py)."""
from .lesson import main

main()
