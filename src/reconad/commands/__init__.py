"""The handlers of the ``reconad`` command, one module per subcommand (``reconad.cli`` parses the arguments).

Each handler takes the parsed ``argparse.Namespace`` and returns an exit code; bad input raises
``reconad.errors.InputError``, which ``reconad.cli.main`` turns into one line on stderr and exit code 2. Torch
is imported only where a detector is built or loaded, after the inputs have been checked.
"""
