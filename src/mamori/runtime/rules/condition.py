"""Falco's condition language: a lark grammar and the syntax tree it produces.

Operator precedence, loosest first: `or`, `and`, `not`. A check is `FIELD OP VALUE`,
`FIELD LISTOP (v1, v2, …)`, `FIELD exists`, a macro name, or a parenthesised expression.
Values are quoted strings ('…' or "…", backslash escapes) or bare strings (no blanks,
quotes, parentheses, commas or `=`); numbers, addresses and networks are bare strings
that the compiler converts to the field's type. Inside a list, a bare name that names a
list is replaced by that list's items (the loader does that).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from lark import Lark, Token, Transformer, UnexpectedCharacters, UnexpectedInput
from lark.exceptions import UnexpectedEOF, UnexpectedToken

LIST_OPS = frozenset({"in", "intersects", "pmatch"})

GRAMMAR = r"""
?start: or_expr
?or_expr: and_expr (_OR and_expr)*
?and_expr: not_expr (_AND not_expr)*
?not_expr: _NOT not_expr -> negation
         | atom
?atom: "(" or_expr ")"
     | FIELD CMP_OP value -> compare
     | FIELD LIST_OP list_value -> listcompare
     | FIELD _EXISTS -> exists
     | NAME -> macro
list_value: "(" [item ("," item)*] ")"
          | NAME -> list_ref
?value: QUOTED | BARESTR
?item: QUOTED | BARESTR
_OR: "or"
_AND: "and"
_NOT: "not"
_EXISTS: "exists"
CMP_OP: "==" | "=" | "!=" | "<=" | "<" | ">=" | ">" | "contains" | "icontains"
      | "bcontains" | "startswith" | "bstartswith" | "endswith" | "glob" | "iglob" | "regex"
LIST_OP: "in" | "intersects" | "pmatch"
NAME: /[a-zA-Z_][a-zA-Z0-9_]*/
FIELD: /[a-zA-Z_][a-zA-Z0-9_]*(\.[a-zA-Z0-9_]+)+(\[[^\]]*\])?/
QUOTED: /"(\\.|[^"\\])*"/ | /'(\\.|[^'\\])*'/
BARESTR: /[^\s()"',=]+/
%ignore /\s+/
"""


@dataclass(frozen=True, slots=True)
class FieldRef:
    name: str
    arg: str | None
    pos: int  # character offset in the condition

    def __str__(self) -> str:
        return self.name if self.arg is None else f"{self.name}[{self.arg}]"


@dataclass(frozen=True, slots=True)
class Compare:
    field: FieldRef
    op: str
    value: str


@dataclass(frozen=True, slots=True)
class ListCompare:
    field: FieldRef
    op: str
    values: tuple[str, ...]
    names: tuple[int, ...]  # indexes of bare items that may name a list
    ref: str | None = None  # `in my_list` without parentheses


@dataclass(frozen=True, slots=True)
class Exists:
    field: FieldRef


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class MacroRef:
    name: str
    pos: int


Node = Compare | ListCompare | Exists | Not | And | Or | MacroRef


class ConditionError(ValueError):
    """A syntax error at `pos` (character offset in the condition)."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


def unquote(text: str) -> str:
    """A quoted value's text: the quotes removed, `\\x` escapes resolved to `x`
    (Falco keeps `\\n`-style sequences literal apart from the escaped quote or backslash)."""
    body = text[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and body[i + 1] in "\"'\\":
            out.append(body[i + 1])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _field(token: Token) -> FieldRef:
    text = str(token)
    arg = None
    if text.endswith("]"):
        text, _, rest = text.partition("[")
        arg = rest[:-1]
    return FieldRef(text, arg, token.start_pos or 0)


def _value(token: Token) -> str:
    return unquote(str(token)) if token.type == "QUOTED" else str(token)


class _Build(Transformer[Token, Node]):
    def or_expr(self, items: list[Node]) -> Node:
        return Or(tuple(items))

    def and_expr(self, items: list[Node]) -> Node:
        return And(tuple(items))

    def negation(self, items: list[Node]) -> Node:
        return Not(items[0])

    def compare(self, items: list[Token]) -> Node:
        return Compare(_field(items[0]), str(items[1]), _value(items[2]))

    def listcompare(self, items: list[Any]) -> Node:
        field, op, (values, names, ref) = items
        return ListCompare(_field(field), str(op), values, names, ref)

    def list_value(
        self, items: list[Token | None]
    ) -> tuple[tuple[str, ...], tuple[int, ...], None]:
        tokens = [t for t in items if t is not None]
        names = tuple(i for i, t in enumerate(tokens) if t.type == "BARESTR")
        return tuple(_value(t) for t in tokens), names, None

    def list_ref(self, items: list[Token]) -> tuple[tuple[str, ...], tuple[int, ...], str]:
        return (), (), str(items[0])

    def exists(self, items: list[Token]) -> Node:
        return Exists(_field(items[0]))

    def macro(self, items: list[Token]) -> Node:
        return MacroRef(str(items[0]), items[0].start_pos or 0)


# The transformer runs inside the LALR parser (no parse tree is built): a third faster.
_PARSER = Lark(
    GRAMMAR, parser="lalr", lexer="contextual", maybe_placeholders=True, transformer=_Build()
)


def parse(text: str) -> Node:
    """Parse a condition; ConditionError with the offending offset on bad syntax."""
    try:
        node = _PARSER.parse(text)
    except UnexpectedEOF:
        raise ConditionError("unexpected end of condition", len(text)) from None
    except UnexpectedToken as exc:
        if exc.token.type == "$END":
            raise ConditionError("unexpected end of condition", len(text)) from None
        expected = ", ".join(sorted(_describe(t) for t in exc.expected))
        raise ConditionError(
            f"unexpected {exc.token!s:.40} (expected {expected})", exc.token.start_pos or 0
        ) from None
    except UnexpectedCharacters as exc:
        pos = exc.pos_in_stream or 0
        what = (
            "unterminated string" if text[pos] in "\"'" else f"unexpected character {text[pos]!r}"
        )
        raise ConditionError(what, pos) from None
    except UnexpectedInput as exc:
        raise ConditionError("syntax error", exc.pos_in_stream or 0) from None
    return cast(Node, node)


_DESCRIPTIONS = {
    "FIELD": "a field",
    "NAME": "a macro or list name",
    "CMP_OP": "an operator",
    "LIST_OP": "a list operator",
    "_EXISTS": "exists",
    "QUOTED": "a value",
    "BARESTR": "a value",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "_AND": "and",
    "_OR": "or",
    "_NOT": "not",
}


def _describe(terminal: str) -> str:
    return _DESCRIPTIONS.get(terminal, terminal)
