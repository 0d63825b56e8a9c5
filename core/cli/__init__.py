"""The command line, `image-search …` or `python -m core …`: one module per command.

Commands are registered explicitly in COMMANDS (a missing module is an ImportError, never a
silently absent command). Each module's `register(sub)` adds its parser; heavy imports happen
inside the command functions, so `--help` and the light commands stay fast.
"""

from __future__ import annotations

import argparse
import signal
import sys

from core.cli import (
    build,
    demo,
    evaluate,
    export_onnx,
    info,
    models,
    review,
    search,
    train,
    vg_index,
)
from core.errors import UserError

COMMANDS = (build, search, info, models, demo, train, evaluate, review, vg_index, export_onnx)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="image-search",
                                description="Find images with natural language: build indexes, "
                                            "search them, evaluate model variants.")
    sub = p.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(sub)
    return p


class Terminated(BaseException):
    """SIGTERM, raised where the process is, so builds clean up as for Ctrl-C."""


def _terminate(signum, frame) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return args.func(args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was changed (the previous index, if any, is intact)",
              file=sys.stderr)
        return 130
    except Terminated:
        print("terminated: nothing was changed (the previous index, if any, is intact)",
              file=sys.stderr)
        return 143
    except BrokenPipeError:
        return 0
