"""The sentences ConSE embeds for the 1000 ImageNet classes (`conse:...,prompt=NAME`).

A bare class name is a poor sentence for MiniLM: "tabby", "jeep", "buckeye" say little about
what a photo shows, and a query such as "horse chestnuts" or "a ginger cat" misses them.
WordNet's gloss of each class (imagenet_glosses.tsv beside this file) says
it in plain words: "buckeye, horse chestnut, conker: the inedible nutlike seed of the horse
chestnut". On the photo benchmark's dev split the definition prompt is the largest single gain
(benchmarks/conse_levers.py).
"""

from __future__ import annotations

from core.encoders.weights import imagenet_classes, imagenet_glosses
from core.errors import UserError

PROMPTS = ("name", "definition", "lemmas")
VIEWS = ("pad", "crop", "multi")  # padded whole / centre square / padded + 3 squares, averaged
DEFAULT_TOP = 10
DEFAULT_TEMPLATE = "a photo of a {}"
DEFAULT_PROMPT, DEFAULT_VIEW = "name", "pad"  # what specs without them have always meant
DEFAULT_POWER = 1.0  # class weights p**power: 1 is Norouzi et al.'s p; 0.5 softens them
OPTIONS = ("top", "template", "prompt", "view", "power")


def class_prompts(prompt: str, template: str = "a photo of a {}") -> list[str]:
    """One sentence per class, in the classifier's output order.

    name: the template around the torchvision class name ("a photo of a tabby");
    definition: that, then the WordNet gloss ("a photo of a tabby, a cat with a grey or tawny
    coat mottled with black"); lemmas: all the synset's lemmas instead of the one name, then
    the gloss.
    """
    names = imagenet_classes()
    if prompt == "name":
        return [template.format(n) for n in names]
    glosses = imagenet_glosses()
    if prompt == "definition":
        return [f"{template.format(n)}, {g}" for n, (_, _, g) in zip(names, glosses, strict=True)]
    if prompt == "lemmas":
        return [f"{template.format(lem or n)}, {g}"
                for n, (_, lem, g) in zip(names, glosses, strict=True)]
    raise ValueError(f"unknown ConSE prompt '{prompt}' (one of {', '.join(PROMPTS)})")


def conse_options(options: dict[str, str]) -> dict[str, str]:
    """Validated options with defaults filled; `prompt`, `view` and `power` appear only when not
    the default, so the specs of existing indexes keep their canonical string."""
    unknown = set(options) - set(OPTIONS)
    if unknown:
        raise UserError(f"unknown ConSE option(s): {', '.join(sorted(unknown))}")
    try:
        top = int(options.get("top", DEFAULT_TOP))
    except ValueError as e:
        raise UserError(f"ConSE top must be an integer, got '{options['top']}'") from e
    if not 1 <= top <= 1000:
        raise UserError("ConSE top must be between 1 and 1000")
    template = options.get("template", DEFAULT_TEMPLATE)
    template = template if "{}" in template else template + " {}"  # room for the class name
    try:
        template.format("x")
    except (IndexError, KeyError, ValueError) as e:
        raise UserError(f"ConSE template '{template}' may hold only one {{}} "
                        "for the class name") from e
    out = {"top": str(top), "template": template}
    for key, allowed, default in (("prompt", PROMPTS, DEFAULT_PROMPT),
                                  ("view", VIEWS, DEFAULT_VIEW)):
        value = options.get(key, default)
        if value not in allowed:
            raise UserError(f"ConSE {key} must be one of {', '.join(allowed)}, got '{value}'")
        if value != default:
            out[key] = value
    try:
        power = float(options.get("power", DEFAULT_POWER))
    except ValueError as e:
        raise UserError(f"ConSE power must be a number, got '{options['power']}'") from e
    if not 0 < power <= 4:
        raise UserError("ConSE power must be above 0 and at most 4")
    if power != DEFAULT_POWER:
        out["power"] = f"{power:g}"
    return out
