"""One module per `python -m finetune` command: `add_parser(subparsers)` adds it, `_run(args)` runs it.

A command parses its arguments, calls the library function that does the work
(the one `from finetune import ...` gives a notebook) and prints the result. It
never imports another command; the arguments several commands share are in
`arguments.py` (not a command).
"""
