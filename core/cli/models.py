"""`python -m core models`: the model variants this machine can use, and what each can do.

Read from the registry's table (core.encoders.registry.list_models): packages, weights and model
folders are checked, no model is loaded, so the command answers in well under a second.
"""

from __future__ import annotations

import argparse


def models_table(available_only: bool = False) -> list[str]:
    """The variants as aligned text rows, then each family's spec grammar."""
    from core.encoders.registry import FAMILIES, list_models

    head = ("spec", "queries", "items", "input", "available", "note")
    rows = [(r.spec, "+".join(r.queries) or "parts'", r.items,
             f"{r.input_size}px" if r.input_size else "-", "yes" if r.available else "no", r.note)
            for r in list_models(available_only)]
    widths = [max(len(row[i]) for row in (head, *rows)) for i in range(len(head) - 1)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1]
             for row in (head, *rows)]
    lines += ["", "spec grammar:"]
    lines += [f"  {f.usage}  — {f.about}" for f in FAMILIES.values()]
    return [ln.rstrip() for ln in lines]


def cmd_models(args: argparse.Namespace) -> int:
    print("\n".join(models_table(args.available)))
    return 0


def register(sub) -> None:
    m = sub.add_parser("models", help="list the model variants available here",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    m.add_argument("--available", action="store_true", help="only the variants usable now")
    m.set_defaults(func=cmd_models)
