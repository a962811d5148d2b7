"""The ``zipml`` command line (also ``python -m zipml``).

Subcommands live in modules listed in :data:`COMMANDS`; each module defines

``HELP`` : str
    one line for ``zipml --help``;
``add_arguments(parser)``
    adds its options to an ``argparse`` sub-parser;
``run(args) -> int``
    does the work and returns the exit code.

To add a subcommand, write ``zipml/commands/<name>.py`` and add one line to ``COMMANDS``.

Errors the user can fix (missing file, bad value, a backend that is not available) are
reported as one line on stderr, ``zipml <command>: error: ...``, with exit code 2 and no
traceback: commands raise :class:`UsageError` (or ``ValueError``/``OSError``/
``NotImplementedError`` from the library) for them. A run-time failure (``RuntimeError``, e.g.
:class:`zipml.config.EngineError` or a backend that cannot start) gives one line and exit
code 1.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import warnings

#: name -> module implementing it (see the module docstring).
COMMANDS: dict[str, str] = {
    "demo": "zipml.commands.demo",
    "train": "zipml.commands.train",
    "synth": "zipml.commands.synth",
    "convert": "zipml.commands.convert",
    "features": "zipml.commands.features",
}


class UsageError(Exception):
    """A problem with the user's input: one line on stderr, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump), exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


class _HelpFormatter(argparse.HelpFormatter):
    """``--help`` names every default (unless the help text already does)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text.lower() or action.default is None or action.default is False \
                or action.default is argparse.SUPPRESS or not action.option_strings:
            return text
        return text + " (default: %(default)s)"


def _warning_line(prog):
    """Warnings as one line, ``zipml CMD: warning: ...`` (no category, no source line)."""
    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        print(f"{prog}: warning: {text}", file=file or sys.stderr)
    return show


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="zipml", description="ZipML-PYNQ: SGD training of linear models on "
                 "float32 or 8/4/2/1-bit data (FPGA, RTL simulation or bit-exact C engine).")
    from . import __version__
    ap.add_argument("--version", action="version", version=f"zipml {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, modname in COMMANDS.items():
        mod = importlib.import_module(modname)
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP,
                           formatter_class=_HelpFormatter)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run, _prog=p.prog)
    return ap


def main(argv=None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if not getattr(args, "command", None):
        ap.print_help(sys.stderr)
        return 2
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _warning_line(args._prog)
            return int(args._run(args) or 0)
    except (UsageError, ValueError, OSError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in msg:
            msg = f"{msg}: {exc.filename}"
        print(f"{args._prog}: error: {msg}", file=sys.stderr)
        return 2
    except RuntimeError as exc:     # EngineError, backend failures: one line, exit 1
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"{args._prog}: error: {msg}", file=sys.stderr)
        return 2 if isinstance(exc, NotImplementedError) else 1
    except KeyboardInterrupt:
        print(f"{args._prog}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
