"""Argument parsing and dispatch.

Only the chosen command's module is imported (and so only its dependencies):
`ssoenv exec` and `ssoenv pick` must not pay for boto3 or prompt_toolkit.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from ssoenv import __version__
from ssoenv.errors import ExitStatus, SsoenvError
from ssoenv.subcommands import COMMANDS


def _columns() -> int:
    """What shutil.get_terminal_size().columns says: $COLUMNS, the terminal's width, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        stdout = sys.__stdout__
        try:
            columns = os.get_terminal_size(stdout.fileno()).columns if stdout else 0
        except (ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, sized without `import shutil` (which brings lzma and
    bz2): argparse builds one for every add_argument, so every start paid ~2.5 ms."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None):
        super().__init__(prog, indent_increment, max_help_position, _columns() - 2 if width is None else width)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # exit status 2 with one clear line
        self.print_usage(sys.stderr)
        where = self.prog.partition(" ")[2]  # "use" of "ssoenv use"; cli adds "ssoenv: "
        raise SsoenvError(f"{where}: {message}" if where else message, ExitStatus.USAGE)


def _chosen_command(argv: list[str]) -> str | None:
    for arg in argv:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = _Parser(prog="ssoenv", description="AWS IAM Identity Center (AWS SSO) in your shell.")
    parser.add_argument("--version", action="version", version=f"ssoenv {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging on stderr")
    parser.add_argument("--debug", action="store_true", help="debug logging and tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    chosen = _chosen_command(argv)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        if name == chosen:
            importlib.import_module(module).configure_parser(p)
            if name != "exec":  # exec's words after TARGET are the command's, -v included
                # `ssoenv list --debug` as `ssoenv --debug list` (it was a usage error, and a traceback)
                p.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
                p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def _subparser(parser: argparse.ArgumentParser, name: str | None) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and name in action.choices:
            return action.choices[name]
    return parser


def setup_logging(verbose: int, debug: bool) -> None:
    """-v: info, -vv/--debug: debug, on stderr. Without them `logging` is not even
    imported (warnings still reach stderr through logging's last-resort handler)."""
    if not verbose and not debug and "logging" not in sys.modules:
        return
    import logging  # already imported: (re)bind the handler to this run's stderr

    log = logging.getLogger("ssoenv")
    level = logging.DEBUG if debug or verbose >= 2 else logging.INFO if verbose else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("ssoenv: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


def main(argv: list[str] | None = None) -> int:
    entry_point = argv is None  # the process's own main: it may end the process itself
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["__complete"]:  # Tab in the shell: no parser, no logging, no error text
        from ssoenv import complete
        try:
            return complete.main(argv[1:])
        except Exception:
            return 1
    debug = "--debug" in argv or os.environ.get("SSOENV_DEBUG") == "1"
    try:
        parser = build_parser(argv)
        after: list[str] | None = None
        if _chosen_command(argv) == "exec" and "--" in argv:
            # Everything after the first -- belongs to the child, untouched.
            cut = argv.index("--")
            argv, after = argv[:cut], argv[cut + 1:]
        args, unknown = parser.parse_known_args(argv)
        if unknown:  # the subcommand's usage line, not the top-level one
            _subparser(parser, getattr(args, "command", None)).error(
                f"unrecognized arguments: {' '.join(unknown)}")
        if after is not None:
            args._after_dashes = True
            words = getattr(args, "command_argv", None)
            if words:
                # Words between TARGET and that --: more of TARGET (`exec member read -- cmd`),
                # or the command began before it (`exec prod git log -- path`), the -- being
                # its own. Parse the line as given; exec tries the first reading first.
                args = parser.parse_args(argv + ["--"] + after)
                args._after_dashes, args._target_words, args._after = True, words, after
            else:
                args.command_argv = after
        setup_logging(args.verbose, debug)
        if not args.command:
            parser.print_help(sys.stderr)
            return ExitStatus.USAGE
        module = importlib.import_module(args._module)
        status = int(module.run(args) or 0)
        from ssoenv import quickexit
        if entry_point and status == 0 and quickexit.requested(args):
            quickexit.leave(status)
        return status
    except SsoenvError as exc:
        if debug:
            import traceback
            traceback.print_exc()
        print(f"ssoenv: {exc.line}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:  # Esc in the picker too: silent, nothing changed
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `ssoenv list | head`): not our error.
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return ExitStatus.OK
    except OSError as exc:  # e.g. a cache path that is a file, a full disk
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"ssoenv: {exc.strerror or type(exc).__name__}{where}", file=sys.stderr)
        return ExitStatus.ERROR
    except Exception as exc:  # a bug: say so in one line; the traceback only with --debug
        if debug:
            raise
        print(f"ssoenv: internal error ({type(exc).__name__}); run with --debug for details",
              file=sys.stderr)
        return ExitStatus.ERROR
