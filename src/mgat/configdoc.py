"""config/README.md, the configuration reference, generated from the workflow's schema.

The schema (workflow/schemas/config.schema.yaml) is what Snakemake validates every config
against, so documenting from it keeps the reference exact: every key with its type, default and
description, one section per top-level key. ``make config-doc`` rewrites the file; a test fails
when it is stale. Needs no torch: ``python -m mgat.configdoc [SCHEMA [OUT]]``.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import yaml

from mgat.render.markdown import markdown_table

SCHEMA = Path("workflow/schemas/config.schema.yaml")
OUT = Path("config/README.md")
MARK = (
    "<!-- generated from workflow/schemas/config.schema.yaml by `make config-doc`: "
    "edit the schema, not this file -->"
)
HEADERS = ("key", "type", "default", "description")
_TYPE_NAMES = {"array": "list", "object": "mapping"}


def resolve(node: dict, schema: dict) -> dict:
    """``node`` with its ``$ref`` (``#/definitions/...``) merged in; its own keys win, as the
    schema uses them to give a shared definition a key's own description."""
    ref = node.get("$ref")
    if ref is None:
        return node
    target: dict = schema
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return {**resolve(target, schema), **{k: v for k, v in node.items() if k != "$ref"}}


def is_section(node: dict) -> bool:
    """A mapping whose keys the schema lists gets a section of its own; anything else is a key."""
    return "properties" in node


def leaf_keys(schema: dict, node: dict | None = None, prefix: str = "") -> Iterator[tuple]:
    """(dotted key, resolved node) of every key that holds a value, in the schema's order."""
    node = schema if node is None else node
    for name, child in node["properties"].items():
        child = resolve(child, schema)
        if is_section(child):
            yield from leaf_keys(schema, child, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", child


def yaml_value(value: object) -> str:
    """``value`` as a user writes it in a config file: YAML, flow style, exponents without
    padding (``1.0e-6``, which YAML reads as a number, where ``1e-6`` would be text)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=math.inf)
    text = text.removesuffix("\n...\n").strip()
    return re.sub(r"e([-+])0*(\d)", r"e\1\2", text) if isinstance(value, float) else text


def _bounds(node: dict) -> str:
    low = node.get("minimum", node.get("exclusiveMinimum"))
    high = node.get("maximum", node.get("exclusiveMaximum"))
    if low is not None and low == high:
        return f", only {low}"
    if low is not None and high is not None:
        opening = "[" if "minimum" in node else "("
        closing = "]" if "maximum" in node else ")"
        return f" in {opening}{low}, {high}{closing}"
    if low is not None:
        return f" {'>=' if 'minimum' in node else '>'} {low}"
    if high is not None:
        return f" {'<=' if 'maximum' in node else '<'} {high}"
    return ""


def type_text(node: dict) -> str:
    """The values a key accepts, in words: type, range, the names it may take, null."""
    types = node.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    nullable = "null" in types
    types = [t for t in types if t != "null"]
    if "enum" in node:
        text = "one of " + ", ".join(f"`{yaml_value(v)}`" for v in node["enum"])
    elif types == ["array"] and "items" in node:
        items = node["items"]
        listed = type_text(items)
        listed = f", each {listed}" if "enum" in items else f" of {listed}"
        text = ("non-empty list" if node.get("minItems", 0) >= 1 else "list") + listed
    else:
        text = " or ".join(_TYPE_NAMES.get(t, t) for t in types) or "any"
        if "pattern" in node:
            text += f" matching `{node['pattern']}`"
        text += _bounds(node)
    return f"{text}, or null" if nullable else text


def _describe(node: dict) -> str:
    return " ".join(str(node.get("description", "")).split())


def _row(key: str, node: dict) -> list[str]:
    default = f"`{yaml_value(node['default'])}`" if "default" in node else "-"
    return [f"`{key}`", type_text(node), default, _describe(node)]


def _section(schema: dict, node: dict, name: str, level: int) -> list[str]:
    """The lines of one section: its description, a table of its keys, then its subsections."""
    lines = [f"{'#' * level} {name}", ""]
    if _describe(node):
        lines += [_describe(node), ""]
    rows, subsections = [], []
    for key, child in node["properties"].items():
        child = resolve(child, schema)
        dotted = f"{name}.{key}"
        if is_section(child):
            subsections.append((dotted, child))
        else:
            rows.append(_row(dotted, child))
    if rows:
        lines += [*markdown_table(HEADERS, rows), ""]
    for dotted, child in subsections:
        lines += _section(schema, child, dotted, min(level + 1, 4))
    return lines


def render(schema: dict) -> str:
    """The Markdown text of config/README.md for ``schema`` (the parsed YAML)."""
    lines = ["# Configuration reference", "", MARK, ""]
    lines += [_describe(schema), ""]
    lines += [
        "`config/config.yaml` holds the paper's settings, `config/demo.yaml` the CPU demo and "
        "`config/method-check.yaml` the method check; the README's Configuration section says "
        "how to override a few values. A key is written here with its path: `train.graph.gamma` "
        "is `gamma` under `graph` under `train`.",
        "",
    ]
    nodes = {key: resolve(node, schema) for key, node in schema["properties"].items()}
    top = [_row(key, node) for key, node in nodes.items() if not is_section(node)]
    if top:
        lines += ["## Top-level keys", "", *markdown_table(HEADERS, top), ""]
    for key, node in nodes.items():
        if is_section(node):
            lines += _section(schema, node, key, 2)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write the reference: ``[SCHEMA [OUT]]``, by default the repository's (run from its root)."""
    args = list(sys.argv[1:] if argv is None else argv)
    schema = Path(args[0]) if args else SCHEMA
    out = Path(args[1]) if len(args) > 1 else OUT
    out.write_text(render(yaml.safe_load(schema.read_text())))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":  # make config-doc
    sys.exit(main())
