"""MyST Markdown to the plain Markdown that JupyterLab and Colab render (the runnable copies).

:func:`convert` rewrites the markdown of one cell: every glued value written in (formatted the way
myst-nb renders ``{glue:text}`name:fmt```), and every directive and role the chapters use turned
into plain Markdown: admonitions into block quotes, exercises into a bold "Exercise N", solutions
into ``<details>`` (or nothing, in the student copy), ``{glue:figure}`` into its "Figure N."
caption, ``{literalinclude}`` into a code block, citations into "(Author Year)". A directive or
role it does not know raises :class:`MarkupError`, so that no raw markup reaches a student.
:func:`scan` numbers a chapter's exercises, figures and equations and collects its labels and
citations beforehand, so that a reference may come before its target.

Only the standard library is imported at the top (scripts/book.py runs before .venv exists).
"""

from __future__ import annotations

import ast
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .include import MarkupError, literalinclude

DIRECTIVE = re.compile(
    r"^(?P<indent>[ \t]{0,3})(?P<fence>`{3,}|:{3,})\{(?P<name>[^}\s]+)\}[ \t]*(?P<arg>.*?)[ \t]*$"
)
CODE_FENCE = re.compile(r"^[ \t]{0,3}(?P<fence>`{3,}|~{3,})")
TARGET = re.compile(r"^\((?P<label>[^()\s]+)\)=[ \t]*$")
COMMENT = re.compile(r"^%")  # a MyST comment line
OPTION = re.compile(r"^:(?P<key>[\w-]+):[ \t]*(?P<value>.*)$")
# a role, or a code span (skipped: no role inside code); whichever starts first
ROLE_OR_CODE = re.compile(
    r"\{(?P<role>[A-Za-z][\w:+.-]*)\}(?P<tick>`+)(?P<content>.+?)(?<!`)(?P=tick)(?!`)"
    r"|(?P<span>`+).+?(?<!`)(?P=span)(?!`)",
    re.S,
)
EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
DISPLAY_MATH = re.compile(r"\$\$(?P<tex>.+?)\$\$(?:[ \t]*\((?P<label>[^()\s]+)\))?", re.S)
HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*\s*$")
# what must not be left in a runnable copy (checked on every converted cell)
LEFTOVER = [
    ("a role", re.compile(r"\{[A-Za-z][\w:+.-]*\}`")),
    ("a directive", re.compile(r"^[ \t]*(`{3,}|:{3,})\{", re.M)),
    ("a label target", re.compile(r"^\([^()\s]+\)=[ \t]*$", re.M)),
    ("a directive option", re.compile(r"^:(class|label|name|pyobject|filter|labelprefix):", re.M)),
]
ADMONITIONS = set(
    "note tip hint important warning caution attention danger error seealso margin sidebar topic"
    " epigraph".split()
)
CODE_ROLES = {"code", "literal", "samp", "file", "command", "program", "envvar", "py:obj"}


@dataclass
class Target:
    """What a label names: a section (its title), an exercise, a figure or an equation."""

    doc: str
    kind: str  # "section", "exercise", "figure", "equation", "doc"
    text: str  # the section's title, or "Exercise 2", "Figure 1", "(3)"
    number: int | None = None


@dataclass
class Chapter:
    """A chapter's own numbering, labels, citations and title (:func:`scan`)."""

    doc: str
    title: str = ""
    targets: dict[str, Target] = field(default_factory=dict)
    cited: list[str] = field(default_factory=list)
    figures: int = 0
    exercises: int = 0
    equations: int = 0


@dataclass
class Context:
    """What the conversion of one chapter needs, and its counters."""

    doc: str  # e.g. "notebooks/00_the_problem", without suffix
    folder: Path  # the notebook's folder: literalinclude paths are relative to it
    glue: Callable[[str, str], dict]  # (doc, name) -> the glued mime bundle
    labels: dict[str, Target]  # the book's labels, this chapter's included
    titles: dict[str, str]  # doc -> title
    base_url: str  # the rendered book, ending with "/"
    cite: Callable[[list[str], str], str]  # (keys, role) -> "(Author Year)"
    bibliography: Callable[[list[str]], str]  # cited keys -> a Markdown list
    cited: list[str] = field(default_factory=list)
    student: bool = False
    counts: dict[str, int] = field(default_factory=dict)

    def next(self, kind: str) -> int:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return self.counts[kind]


# ----------------------------------------------------------------------------- blocks
def without_solutions(text: str) -> str:
    """``text`` (MyST Markdown) with every ``{solution}`` directive removed, fences and all: the
    sources of the student edition (its "download source" button serves them)."""
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        m = DIRECTIVE.match(lines[i])
        if m and m.group("name") == "solution":
            i = closing_line(lines, i + 1, m.group("fence")) + 1
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


def closing_line(lines: list[str], start: int, fence: str) -> int:
    """The index of the line that closes `fence` (the same character, at least as many)."""
    closes = re.compile(rf"^[ \t]{{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
    return next((k for k in range(start, len(lines)) if closes.match(lines[k])), len(lines))


def options_and_content(body: list[str]) -> tuple[dict[str, str], str]:
    options: dict[str, str] = {}
    i = 0
    if body and body[0].strip() == "---":  # YAML options
        import yaml

        end = next((k for k in range(1, len(body)) if body[k].strip() == "---"), len(body))
        options = {
            str(k): str(v) for k, v in (yaml.safe_load("\n".join(body[1:end])) or {}).items()
        }
        i = end + 1
    else:
        while i < len(body) and (m := OPTION.match(body[i])):
            options[m.group("key")] = m.group("value").strip()
            i += 1
    return options, "\n".join(body[i:]).strip("\n")


def blocks(text: str) -> list[tuple]:
    """Split markdown into ("prose", text), ("code", text), ("target", label) and
    ("directive", name, argument, options, content) items, in order."""
    lines, out, prose, i = text.split("\n"), [], [], 0

    def flush() -> None:
        if prose:
            out.append(("prose", "\n".join(prose)))
            prose.clear()

    while i < len(lines):
        line = lines[i]
        if m := DIRECTIVE.match(line):
            flush()
            end = closing_line(lines, i + 1, m.group("fence"))
            options, content = options_and_content(lines[i + 1 : end])
            out.append(("directive", m.group("name"), m.group("arg"), options, content))
            i = end + 1
        elif m := CODE_FENCE.match(line):
            flush()
            end = closing_line(lines, i + 1, m.group("fence"))
            out.append(("code", "\n".join(lines[i : end + 1])))
            i = end + 1
        elif m := TARGET.match(line):
            flush()
            out.append(("target", m.group("label")))
            i += 1
        elif COMMENT.match(line):
            i += 1
        else:
            prose.append(line)
            i += 1
    flush()
    return out


def roles(prose: str):
    """The roles of a prose text: (name, content) pairs, code spans skipped."""
    for m in ROLE_OR_CODE.finditer(prose):
        if m.group("role"):
            yield m.group("role"), m.group("content")


# ----------------------------------------------------------------------------- the first pass
def scan(doc: str, markdowns: list[str]) -> Chapter:  # noqa: C901  (its walk is one dispatch on block kinds)
    """Number the exercises, figures and labelled equations of a chapter, in the order the
    conversion meets them, and collect its labels, citations and title."""
    chapter = Chapter(doc)

    def walk(text: str) -> None:  # noqa: C901, PLR0912  (one branch per kind of MyST block)
        items = blocks(text)
        for k, item in enumerate(items):
            if item[0] == "prose":
                for line in item[1].split("\n"):
                    if not chapter.title and (m := re.match(r"^#\s+(.+?)\s*$", line)):
                        chapter.title = m.group(1)
                for name, content in roles(item[1]):
                    if name.startswith("cite"):
                        for key in cite_keys(content):
                            if key not in chapter.cited:
                                chapter.cited.append(key)
                for m in DISPLAY_MATH.finditer(item[1]):
                    if m.group("label"):
                        chapter.equations += 1
                        chapter.targets[m.group("label")] = Target(
                            doc, "equation", f"({chapter.equations})", chapter.equations
                        )
            elif item[0] == "target":
                following = next((i for i in items[k + 1 :] if i[0] != "target"), None)
                title = label_title(following)
                chapter.targets[item[1]] = Target(doc, "section", title or item[1])
            elif item[0] == "directive":
                _, name, arg, options, content = item
                label = options.get("label") or options.get("name")
                if name == "exercise":
                    chapter.exercises += 1
                    n = chapter.exercises
                    target = Target(doc, "exercise", f"Exercise {n}", n)
                elif name in ("glue:figure", "figure"):
                    chapter.figures += 1
                    target = Target(doc, "figure", f"Figure {chapter.figures}", chapter.figures)
                elif name == "math" and label:
                    chapter.equations += 1
                    target = Target(doc, "equation", f"({chapter.equations})", chapter.equations)
                else:
                    target = None
                if target and label:
                    chapter.targets[label] = target
                if name not in ("literalinclude", "bibliography", "code-block", "code", "math"):
                    walk(content)

    for text in markdowns:
        walk(text)
    return chapter


def label_title(item: tuple | None) -> str:
    """The title of the section a `(label)=` stands above (its heading's text)."""
    if item and item[0] == "prose":
        first = item[1].strip().split("\n", 1)[0]
        if m := HEADING.match(first):
            return m.group("title")
    return ""


def cite_keys(content: str) -> list[str]:
    return [k.strip() for k in content.split(",") if k.strip()]


# ----------------------------------------------------------------------------- the conversion
def convert(text: str, ctx: Context) -> str:
    """One markdown cell of a chapter, in plain Markdown."""
    parts = []
    for item in blocks(text):
        if item[0] == "prose":
            parts.append(inline(item[1], ctx))
        elif item[0] == "code":
            parts.append(item[1])
        elif item[0] == "directive":
            parts.append(directive(*item[1:], ctx=ctx))
        # targets and comments: nothing to show
    # blocks apart by one blank line: no lazy continuation of a quote into the next paragraph
    return "\n\n".join(p.strip("\n") for p in parts if p and p.strip())


def inline(prose: str, ctx: Context) -> str:
    def one(m: re.Match) -> str:
        if not m.group("role"):
            return m.group(0)  # a code span, as it is
        return role(m.group("role"), m.group("content"), ctx)

    prose = ROLE_OR_CODE.sub(one, prose)
    return DISPLAY_MATH.sub(lambda m: equation(m, ctx), prose)


def equation(m: re.Match, ctx: Context) -> str:
    if not m.group("label"):
        return m.group(0)
    number = ctx.next("equation")
    return f"$$ {m.group('tex').strip()} \\tag{{{number}}} $$"


def split_explicit(content: str) -> tuple[str | None, str]:
    """`text <target>` -> (text, target); `target` -> (None, target)."""
    m = EXPLICIT.match(content.strip())
    if m and m.group("text"):
        return m.group("text"), m.group("target").strip()
    return None, content.strip()


def role(name: str, content: str, ctx: Context) -> str:
    if name in ("glue:text", "glue", "glue:", "glue:any", "glue:md"):
        return glue_text(name, content, ctx)
    if name.startswith("cite"):
        return ctx.cite(cite_keys(content), name)
    if name in ("term", "abbr", "index", "download", "dfn"):
        text, target = split_explicit(content)
        if name == "abbr":
            return re.sub(r"\s*\(.*\)\s*$", "", content.strip())
        return text or target
    if name in ("ref", "numref", "eq", "doc"):
        return reference(name, content, ctx)
    if name in ("math", "m"):
        return f"${content}$"
    if name in CODE_ROLES:
        return f"`{content}`" if "`" not in content else f"`` {content} ``"
    if name in ("sub", "sup", "kbd"):
        return f"<{name}>{content}</{name}>"
    raise MarkupError(f"{ctx.doc}: no plain Markdown for the role {{{name}}}`{content}`")


def glue_text(name: str, content: str, ctx: Context) -> str:
    """A glued value, as myst-nb's ``PasteTextRole`` renders it (``key:format_spec``)."""
    if name == "glue:text":
        key_format = content.rsplit(":", 1)
        key, spec = (key_format[0], key_format[1]) if len(key_format) == 2 else (content, "s")
    else:
        key, spec = content, None
    doc, _, key = key.rpartition("::")
    if doc:
        doc = posixpath.normpath(posixpath.join(posixpath.dirname(ctx.doc), doc))
        doc = re.sub(r"\.(ipynb|md)$", "", doc)
    bundle = ctx.glue(doc or ctx.doc, key)
    if name == "glue:md":
        return text_of(bundle, "text/markdown", key, ctx)
    text = text_of(bundle, "text/plain", key, ctx)
    return text if spec is None else format_plain_text(text, spec)


def text_of(bundle: dict, mime: str, key: str, ctx: Context) -> str:
    if mime not in bundle:
        raise MarkupError(f"{ctx.doc}: the glued value {key!r} has no {mime}")
    value = bundle[mime]
    return "".join(value) if isinstance(value, list) else value


def format_plain_text(text: str, fmt_spec: str) -> str:
    """myst-nb's own formatting of ``{glue:text}`` (myst_nb.core.variables), where it imports;
    else the same steps (tests/bookbuild/test_runnable.py compares the two)."""
    try:
        from myst_nb.core.variables import format_plain_text as myst_format
    except ImportError:
        return replicated_format(text, fmt_spec)
    return myst_format(text, fmt_spec)


def replicated_format(text: str, fmt_spec: str) -> str:
    try:
        value = ast.literal_eval(text)
    except (SyntaxError, ValueError):
        value = text
    if fmt_spec == "":
        return str(value)
    type_char = fmt_spec[-1]
    if type_char == "s":
        value = str(value)
    elif type_char in ("b", "c", "d", "o", "x", "X"):
        value = int(value)
    elif type_char in ("e", "E", "f", "F", "g", "G", "n", "%"):
        value = float(value)
    return format(value, fmt_spec)


def book_link(text: str, doc: str, ctx: Context, anchor: str = "") -> str:
    return f"[{text}]({ctx.base_url}{doc}.html{'#' + anchor if anchor else ''})"


def reference(name: str, content: str, ctx: Context) -> str:
    text, target = split_explicit(content)
    if name == "doc":
        doc = posixpath.normpath(posixpath.join(posixpath.dirname(ctx.doc), target.lstrip("/")))
        doc = target.lstrip("/") if target.startswith("/") else doc
        return book_link(text or ctx.titles.get(doc, posixpath.basename(doc)), doc, ctx)
    if name == "eq":
        found = ctx.labels.get(target)
        return text or (found.text if found else f"({target})")
    found = ctx.labels.get(target)
    if name == "numref":
        shown = found.text if found else target
        if text:
            number = str(found.number) if found and found.number is not None else shown
            shown = text.replace("%s", number).replace("{number}", number)
            shown = shown.replace("{name}", found.text if found else target)
    else:
        shown = text or (found.text if found else target)
    if found and found.doc != ctx.doc:
        return book_link(shown, found.doc, ctx, target)
    return shown


# ----------------------------------------------------------------------------- directives
def quote(title: str, body: str) -> str:
    """A block quote with a bold title; display math on one line (a `> ` inside TeX breaks it)."""
    body = DISPLAY_MATH.sub(lambda m: "$$" + " ".join(m.group("tex").split()) + "$$", body)
    lines = ([f"**{title}**", ""] if title else []) + body.split("\n")
    return "\n".join(("> " + line).rstrip() for line in lines)


def details(summary: str, body: str) -> str:
    """A folded block (HTML <details>); blank lines around the body, so that it is Markdown."""
    return f"<details>\n<summary>{summary}</summary>\n\n{body}\n\n</details>"


def directive(name: str, arg: str, options: dict, content: str, ctx: Context) -> str | None:
    if name == "admonition":
        if "dropdown" in options.get("class", "").split():
            return details(inline(arg, ctx), convert(content, ctx))
        return quote(inline(arg, ctx), convert(content, ctx))
    if name in ADMONITIONS:
        body = convert("\n".join(x for x in (arg, content) if x), ctx)
        title = "" if name in ("epigraph", "margin") else name.capitalize()
        return quote("See also" if name == "seealso" else title, body)
    if name == "exercise":
        number = ctx.next("exercise")
        head = f"**Exercise {number}**" + (f" ({inline(arg, ctx)})" if arg else "")
        return head + "\n\n" + convert(content, ctx)
    if name == "solution":
        if ctx.student:
            return None
        return details("Solution", convert(content, ctx))
    if name == "glue:figure":
        number = ctx.next("figure")
        caption = convert(content, ctx)
        return f"*Figure {number}.* {caption}".rstrip()
    if name == "literalinclude":
        return literalinclude(ctx.folder / arg.strip(), options, ctx.doc)
    if name in ("code-block", "code", "sourcecode"):
        return f"```{arg}\n{content}\n```"
    if name == "math":
        label = options.get("label")
        tag = f" \\tag{{{ctx.next('equation')}}}" if label else ""
        return f"$$\n{content}{tag}\n$$"
    if name == "bibliography":
        return ctx.bibliography(ctx.cited)
    if name in ("toctree", "tableofcontents"):
        return None
    raise MarkupError(f"{ctx.doc}: no plain Markdown for the directive {{{name}}} {arg}")


# ----------------------------------------------------------------------------- the check
def leftover(text: str) -> list[str]:
    """The MyST markup left in a converted text, with its line: what no copy may keep (code
    blocks and code spans, which may show markup on purpose, left out)."""
    shown = []
    for item in blocks(text):
        if item[0] == "prose":
            shown.append(ROLE_OR_CODE.sub(lambda m: m.group(0) if m.group("role") else "", item[1]))
        elif item[0] == "directive":
            shown.append(f"```{{{item[1]}}} {item[2]}")
        elif item[0] == "target":
            shown.append(f"({item[1]})=")
    plain, found = "\n".join(shown), []
    for what, pattern in LEFTOVER:
        for m in pattern.finditer(plain):
            line = plain[plain.rfind("\n", 0, m.start()) + 1 :].split("\n", 1)[0]
            found.append(f"{what}: {line.strip()[:100]}")
    return found
