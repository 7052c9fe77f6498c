"""MkDocs hook: generate the CLI and recipe-schema reference from the code at build time.

A page asks for a reference with a marker line; the hook replaces it with Markdown:

    <!-- factorspace:cli -->             every command of the typer app: usage, arguments, options
    <!-- factorspace:schema search -->   every model of a search recipe (or `train`), from the
                                          JSON Schema that pydantic generates
    <!-- factorspace:quickstart -->      the README's Quick start commands, verbatim

So the reference cannot drift from the code: a new option or recipe field appears on the next
build, and a marker that names nothing fails the strict build.
"""

from __future__ import annotations

import html
import re

import typer

MARKER = re.compile(r"^<!-- factorspace:(\w+)(?: (\w+))? -->$", re.MULTILINE)


def on_page_markdown(markdown: str, page, config, files) -> str:
    def expand(match: re.Match) -> str:
        what, arg = match.group(1), match.group(2)
        if what == "cli":
            return cli_reference()
        if what == "schema":
            return schema_reference(arg or "search")
        if what == "quickstart":
            return quickstart_block(config["config_file_path"])
        raise ValueError(f"{page.file.src_path}: unknown reference marker {match.group(0)!r}")

    return MARKER.sub(expand, markdown)


def quickstart_block(config_file: str) -> str:
    """The first fenced block under the README's ``## Quick start`` heading."""
    from pathlib import Path

    readme = (Path(config_file).parent / "README.md").read_text(encoding="utf-8")
    found = re.search(r"^## Quick start\n.*?^(```\w*\n.*?^```)$", readme, re.M | re.S)
    if not found:
        raise ValueError("README.md: no fenced block under '## Quick start'")
    return found.group(1)


# --- the CLI ---------------------------------------------------------------------------------


def cli_reference() -> str:
    from factorspace.cli import app

    group = typer.main.get_command(app)
    root = group.context_class(group, info_name="factorspace")
    parts = []
    for name in group.list_commands(root):
        command = group.get_command(root, name)
        ctx = command.context_class(command, parent=root, info_name=name)
        parts.append(command_section(command, ctx))
    return "\n".join(parts)


def command_section(command, ctx) -> str:
    usage = " ".join(
        ["factorspace", ctx.info_name, "[OPTIONS]", *filter(None, map(_usage, command.params))]
    )
    doc = _dedent_doc(command.help or "")
    rows = [param_row(p) for p in command.get_params(ctx) if p.name != "help"]
    lines = [f"## `factorspace {ctx.info_name}`", "", doc, "", "```text", usage, "```", ""]
    if rows:
        lines += ["| argument / option | type | default | description |", "|---|---|---|---|"]
        lines += rows
    return "\n".join(lines) + "\n"


def _usage(p) -> str:
    if p.opts[0].startswith("-"):
        return ""
    name = p.name.upper() + ("..." if p.nargs == -1 else "")
    return name if p.required else f"[{name}]"


def param_row(p) -> str:
    """One table row; typer's parameters are click's, but typer may vendor click."""
    is_argument = not p.opts[0].startswith("-")
    if is_argument:
        name = f"`{p.name.upper()}`" + ("" if p.required else " (optional)")
    else:
        name = ", ".join(f"`{o}`" for o in [*p.opts, *p.secondary_opts])
        if p.multiple:
            name += " (repeatable)"
    annotation = getattr(getattr(p, "type_descriptor", None), "annotation", None)
    type_name = "flag" if getattr(p, "is_flag", False) else _type_name(annotation)
    if p.required:
        shown = "required"
    elif p.default in (None, (), [], False):
        shown = ""
    else:
        shown = f"`{p.default}`"
    help_text = html.escape(getattr(p, "help", None) or "", quote=False)
    help_text = help_text.replace("|", "\\|").replace("\n", " ")
    return f"| {name} | {type_name} | {shown} | {help_text} |"


def _type_name(annotation) -> str:
    import enum
    import pathlib
    import typing

    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is list and args:
        return _type_name(args[0])
    if typing.get_origin(annotation) is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " \\| ".join(f"`{m.value}`" for m in annotation)
    if isinstance(annotation, type) and issubclass(annotation, pathlib.PurePath):
        return "path"
    return getattr(annotation, "__name__", "text") if annotation is not None else "text"


def _dedent_doc(text: str) -> str:
    import inspect

    return inspect.cleandoc(text).replace("\b\n", "")


# --- the recipe schema -----------------------------------------------------------------------


def schema_reference(kind: str) -> str:
    from factorspace.schemas import recipe_schema

    schema = recipe_schema(kind)  # type: ignore[arg-type]
    defs = schema.get("$defs", {})
    root = "TrainRecipe" if kind == "train" else "Recipe"
    order, queue = [], [(root, schema)]
    seen = {root}
    while queue:
        name, model = queue.pop(0)
        order.append((name, model))
        for ref in _refs(model):
            if ref not in seen:
                seen.add(ref)
                queue.append((ref, defs[ref]))
    return "\n".join(model_section(name, model, kind) for name, model in order)


def _refs(node) -> list[str]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                found.append(value.rsplit("/", 1)[-1])
            elif key != "$defs":
                found += _refs(value)
    elif isinstance(node, list):
        for value in node:
            found += _refs(value)
    return found


def model_section(name: str, model: dict, kind: str) -> str:
    anchor = f"{kind}-{name.lower()}"
    lines = [f"### `{name}` {{#{anchor}}}", ""]
    description = model.get("description", "")
    if name in ("Recipe", "TrainRecipe"):
        description = "The top level of the file." + (f" {description}" if description else "")
    if description:
        lines += [_plain(description), ""]
    lines += ["| key | type | default | description |", "|---|---|---|---|"]
    required = set(model.get("required", []))
    for key, prop in model.get("properties", {}).items():
        default = "**required**" if key in required else _default(prop)
        text = _plain(prop.get("description", "")).replace("|", "\\|")
        lines.append(f"| `{key}` | {type_of(prop, kind)} | {default} | {text} |")
    return "\n".join(lines) + "\n"


def _plain(text: str) -> str:
    """Docstring reST (``x``, :class:`X`) to Markdown, on one line."""
    text = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`").replace("\n", " ")


def _default(prop: dict) -> str:
    if "default" not in prop:
        return ""
    value = prop["default"]
    if value is None:
        return "`null`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def type_of(prop: dict, kind: str) -> str:
    if "$ref" in prop:
        ref = prop["$ref"].rsplit("/", 1)[-1]
        return f"[{ref}](#{kind}-{ref.lower()})"
    if "enum" in prop:
        return " \\| ".join(f"`{v}`" for v in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']}`"
    if "if" in prop:  # a union chosen by `kind` (factorspace.schema.kinds): each member
        members = []
        while "if" in prop:
            members.append(prop["then"])
            prop = prop["else"]
        return " or ".join(type_of(m, kind) for m in [prop, *members])
    if "anyOf" in prop or "oneOf" in prop:
        options = prop.get("anyOf") or prop.get("oneOf")
        if all("enum" in o or o.get("type") == "string" for o in options) and any(
            "enum" in o for o in options
        ):
            return "string (a registered name)"
        return " or ".join(type_of(o, kind) for o in options)
    t = prop.get("type")
    if t == "array":
        if "prefixItems" in prop:
            return "[" + ", ".join(type_of(i, kind) for i in prop["prefixItems"]) + "]"
        return f"list of {type_of(prop.get('items', {}), kind)}"
    if t == "object":
        extra = prop.get("additionalProperties")
        return f"map of {type_of(extra, kind)}" if isinstance(extra, dict) else "mapping"
    if t is None:
        return "any"
    out = {"integer": "int", "number": "float", "boolean": "bool", "null": "null"}.get(t, t)
    if prop.get("format") == "path":
        out = "path"
    bounds = []
    for key, sym in (
        ("minimum", "≥"),
        ("exclusiveMinimum", ">"),
        ("maximum", "≤"),
        ("exclusiveMaximum", "<"),
        ("minItems", "≥"),
        ("pattern", ""),
    ):
        if key in prop:
            bounds.append(f"{sym} {prop[key]}" if sym else "identifier")
    return out + (f" ({', '.join(bounds)})" if bounds else "")
