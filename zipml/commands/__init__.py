"""Subcommands of the ``zipml`` command line; see :mod:`zipml.cli`."""
