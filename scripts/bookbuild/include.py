"""``{literalinclude}`` as Sphinx reads it, for the runnable copies (bookbuild.markup)."""

from __future__ import annotations

import ast
from pathlib import Path


class MarkupError(ValueError):
    """Markup that the runnable copy cannot render."""


def literalinclude(path: Path, options: dict, doc: str) -> str:
    """A fenced code block with what ``{literalinclude}`` shows of `path` (relative paths are
    relative to the page's folder): :pyobject:, :start-after:, :end-before:, :lines:, :dedent:,
    :language:, :caption:."""
    path = path.resolve()
    if not path.is_file():
        raise MarkupError(f"{doc}: literalinclude: no such file {path}")
    source = path.read_text(encoding="utf-8")
    lines = source.split("\n")
    if options.get("pyobject"):
        lines = lines[slice(*pyobject_lines(source, options["pyobject"], path))]
    if options.get("start-after"):
        marker = options["start-after"]
        start = next(i for i, line in enumerate(lines) if marker in line)
        lines = lines[start + 1 :]
    if options.get("end-before"):
        marker = options["end-before"]
        lines = lines[: next(i for i, line in enumerate(lines) if marker in line)]
    if options.get("lines"):
        lines = [lines[i - 1] for i in line_numbers(options["lines"], len(lines))]
    if "dedent" in options:
        n = int(options["dedent"] or 0) or min(
            (len(x) - len(x.lstrip()) for x in lines if x.strip()), default=0
        )
        lines = [x[n:] for x in lines]
    language = options.get("language") or ("python" if path.suffix == ".py" else "")
    code = "\n".join(lines).strip("\n")
    fence = "````" if "```" in code else "```"
    caption = f"*{options['caption']}*\n\n" if options.get("caption") else ""
    return f"{caption}{fence}{language}\n{code}\n{fence}"


def line_numbers(spec: str, total: int) -> list[int]:
    """Sphinx's `:lines:` ("1-3,5,8-"): the 1-based line numbers it keeps."""
    keep: list[int] = []
    for part in spec.split(","):
        first, dash, last = (x.strip() for x in part.partition("-"))
        if not dash:
            keep.append(int(first))
        else:
            keep += range(int(first or 1), int(last or total) + 1)
    return [i for i in keep if 0 < i <= total]


def pyobject_lines(source: str, name: str, path: Path) -> tuple[int, int]:
    """(start, end) line slice of a function or class (``Class.method``), decorators included,
    as Sphinx's literalinclude :pyobject: takes it."""
    body = ast.parse(source).body
    node = None
    for part in name.split("."):
        node = next(
            (
                n
                for n in body
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                and n.name == part
            ),
            None,
        )
        if node is None:
            raise MarkupError(f"literalinclude: no {name} in {path}")
        body = node.body
    start = min([d.lineno for d in node.decorator_list] + [node.lineno])
    return start - 1, node.end_lineno
