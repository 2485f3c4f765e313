"""Spintax: message templates that vary per recipient.

Syntax:
- ``{Hi|Hello|Hey}`` picks one option; options nest: ``{Hi|{Good morning|Morning}}``; an option may be
  empty (``{really |}``).
- ``{{first_name}}`` / ``{{first_name|there}}`` is a variable with a fallback for an empty value. A ``{{``
  is a variable only when an identifier, an optional ``|fallback`` and ``}}`` follow; otherwise it is a
  group whose first option starts with a group (``{{Hi|Hello}|Hey}``).
- ``\\{``, ``\\}``, ``\\|`` and ``\\\\`` are the characters themselves. A ``|`` outside any group is text.

``parse`` raises ``SpintaxError`` naming the position (0-based index) of the first problem, so the
campaign form can point at it. Templates are bounded (MAX_LENGTH characters, MAX_DEPTH nested groups)
so parsing, counting and rendering a hostile template stays fast, and ``count`` stops at MAX_VARIANTS.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

SPECIAL = "{}|\\"
MAX_LENGTH = 20_000  # a Telegram message is at most 4,096 characters; this leaves room for alternatives
MAX_DEPTH = 10  # groups inside groups; deeper nesting is a mistake, and recursion must stay shallow
MAX_VARIANTS = 1_000_000  # counted up to here; "{a|b}" a thousand times has 2**1000 variants
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Variable:
    name: str
    fallback: str = ""


@dataclass(frozen=True)
class Group:
    options: tuple[tuple[Node, ...], ...]


Node = Text | Variable | Group


class SpintaxError(ValueError):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at character {position + 1})")
        self.message = message
        self.position = position


@dataclass(frozen=True)
class Rendered:
    text: str
    variant: str  # the options chosen, in order ("0.2.1"); the same key means the same wording


@dataclass
class _Parser:
    source: str
    pos: int = 0
    opened: list[int] = field(default_factory=list)

    def sequence(self, *, in_group: bool) -> tuple[Node, ...]:
        nodes: list[Node] = []
        buffer: list[str] = []

        def flush() -> None:
            if buffer:
                nodes.append(Text("".join(buffer)))
                buffer.clear()

        while self.pos < len(self.source):
            char = self.source[self.pos]
            if char == "\\":
                buffer.append(self.escape())
            elif char == "{":
                flush()
                nodes.append(self.variable() or self.group())
            elif char == "}":
                if not in_group:
                    raise SpintaxError("'}' without a matching '{'", self.pos)
                break
            elif char == "|" and in_group:
                break
            else:
                buffer.append(char)
                self.pos += 1
        flush()
        return tuple(nodes)

    def escape(self) -> str:
        if self.pos + 1 >= len(self.source):
            raise SpintaxError("'\\' at the end escapes nothing", self.pos)
        char = self.source[self.pos + 1]
        if char not in SPECIAL:
            raise SpintaxError(f"'\\{char}' is not an escape; write '\\\\' for a backslash", self.pos)
        self.pos += 2
        return char

    def variable(self) -> Variable | None:
        start = self.pos
        if not self.source.startswith("{{", start):
            return None
        name = IDENT.match(self.source, start + 2)
        if name is None:
            return None
        pos = name.end()
        fallback: list[str] = []
        if self.source.startswith("|", pos):
            pos += 1
            while pos < len(self.source) and self.source[pos] not in "{}|":
                if self.source[pos] == "\\":
                    self.pos = pos
                    fallback.append(self.escape())
                    pos = self.pos
                else:
                    fallback.append(self.source[pos])
                    pos += 1
        if not self.source.startswith("}}", pos):
            self.pos = start  # not a variable after all: a group that opens with a group
            return None
        self.pos = pos + 2
        return Variable(name.group(), "".join(fallback))

    def group(self) -> Group:
        opened_at = self.pos
        if len(self.opened) >= MAX_DEPTH:
            raise SpintaxError(f"Groups nest at most {MAX_DEPTH} deep", opened_at)
        self.opened.append(opened_at)
        self.pos += 1
        options = [self.sequence(in_group=True)]
        while self.pos < len(self.source) and self.source[self.pos] == "|":
            self.pos += 1
            options.append(self.sequence(in_group=True))
        if self.pos >= len(self.source):
            raise SpintaxError("'{' is never closed", opened_at)
        self.pos += 1  # the closing brace
        self.opened.pop()
        return Group(tuple(options))


def parse(source: str) -> tuple[Node, ...]:
    """The template as a tree; raises SpintaxError with the position of the first syntax error."""
    if len(source) > MAX_LENGTH:
        raise SpintaxError(f"The template is too long (at most {MAX_LENGTH:,} characters)", MAX_LENGTH)
    return _Parser(source).sequence(in_group=False)


def validate(source: str) -> SpintaxError | None:
    """None when the template is valid, else the error (its ``position`` points at the problem)."""
    try:
        parse(source)
    except SpintaxError as error:
        return error
    return None


def count(nodes: tuple[Node, ...]) -> int:
    """How many different texts the template can produce (variables count once), at most MAX_VARIANTS."""
    total = 1
    for node in nodes:
        if isinstance(node, Group):
            total = min(total * sum(count(option) for option in node.options), MAX_VARIANTS)
    return total


def render(
    nodes: tuple[Node, ...], *, context: Mapping[str, object] | None = None, rng: random.Random | None = None
) -> Rendered:
    """One text: a random option of every group (uniform over options), variables filled in."""
    rng = rng or random.Random()
    text: list[str] = []
    path: list[str] = []
    _render(nodes, context or {}, rng, text, path)
    return Rendered("".join(text), ".".join(path))


def _render(
    nodes: tuple[Node, ...],
    context: Mapping[str, object],
    rng: random.Random,
    text: list[str],
    path: list[str],
) -> None:
    for node in nodes:
        if isinstance(node, Text):
            text.append(node.text)
        elif isinstance(node, Variable):
            value = context.get(node.name)
            text.append(str(value) if value not in (None, "") else node.fallback)
        else:
            choice = rng.randrange(len(node.options))
            path.append(str(choice))
            _render(node.options[choice], context, rng, text, path)


def unparse(nodes: tuple[Node, ...]) -> str:
    """The source of a tree (parse(unparse(t)) == t for trees parse can produce)."""
    out = []
    for node in nodes:
        if isinstance(node, Text):
            out.append(escape(node.text))
        elif isinstance(node, Variable):
            fallback = f"|{escape(node.fallback)}" if node.fallback else ""
            out.append(f"{{{{{node.name}{fallback}}}}}")
        else:
            out.append("{" + "|".join(unparse(option) for option in node.options) + "}")
    return "".join(out)


def escape(text: str) -> str:
    """Literal text as spintax: every special character escaped."""
    return "".join(f"\\{char}" if char in SPECIAL else char for char in text)


def variables(nodes: tuple[Node, ...]) -> set[str]:
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, Variable):
            found.add(node.name)
        elif isinstance(node, Group):
            for option in node.options:
                found |= variables(option)
    return found


@dataclass(frozen=True)
class Preview:
    variants: int
    samples: list[str]
    variables: list[str]

    @property
    def variants_capped(self) -> bool:
        return self.variants >= MAX_VARIANTS


def preview(source: str, *, context: Mapping[str, object] | None = None, samples: int = 5) -> Preview:
    """Up to ``samples`` distinct renderings and the number of variants; raises SpintaxError."""
    nodes = parse(source)
    rng = random.Random()
    seen: list[str] = []
    for _ in range(samples * 10):
        text = render(nodes, context=context, rng=rng).text
        if text not in seen:
            seen.append(text)
        if len(seen) >= samples:
            break
    return Preview(variants=count(nodes), samples=seen, variables=sorted(variables(nodes)))
