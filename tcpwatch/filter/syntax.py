"""Wireshark's display-filter syntax (the subset tcpwatch evaluates): text -> tree.

Grammar, loosest first, as Wireshark 4.0's (``epan/dfilter/grammar.lemon``)::

    expr    := and ( ("||" | "or") and )*
    and     := not ( ("&&" | "and") not )*
    not     := ("!" | "not") not | "(" expr ")" | test
    test    := operand [ CMP operand | ["not"] "in" "{" member ([","] member)* "}" ]
    member  := literal [ ".." literal ]

CMP is ``== != === ~= < > <= >= contains matches ~`` or their words ``eq ne all_eq
any_ne lt gt le ge any_eq all_ne``.  An operand is a field name, a literal (a bare word,
number, address) or a quoted string.  A set's members are separated by commas (Wireshark
4.0) or blanks.  Every node keeps the column (1-based) where it starts, for errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import TcpwatchError


class FilterError(TcpwatchError):
    """A display filter that cannot be used: what is wrong and at which column."""

    def __init__(self, reason: str, column: int):
        self.reason = reason
        self.column = column
        super().__init__(f"-Y: {reason} at column {column}")


#: comparison operators, symbol or word -> canonical name
COMPARISONS: dict[str, str] = {
    "==": "any_eq", "eq": "any_eq", "any_eq": "any_eq",
    "!=": "all_ne", "ne": "all_ne", "all_ne": "all_ne",
    "===": "all_eq", "all_eq": "all_eq",
    "~=": "any_ne", "any_ne": "any_ne",
    "<": "lt", "lt": "lt", ">": "gt", "gt": "gt",
    "<=": "le", "le": "le", ">=": "ge", "ge": "ge",
    "contains": "contains", "matches": "matches", "~": "matches",
}
KEYWORDS = {"and", "or", "not", "in"} | {k for k in COMPARISONS if k.isalpha() or "_" in k}

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<op>===|==|!=|~=|<=|>=|&&|\|\||[<>!~(){},])
  | (?P<word>[A-Za-z0-9_.:/\-]+)
""", re.VERBOSE)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "string", "op", "word", "end"
    text: str
    column: int  # 1-based


@dataclass(frozen=True, slots=True)
class Operand:
    text: str  # a field name or a literal's text (a string without its quotes)
    column: int
    quoted: bool = False


@dataclass(frozen=True, slots=True)
class Test:
    """A bare operand: the field is present."""
    operand: Operand


@dataclass(frozen=True, slots=True)
class Compare:
    op: str  # a canonical name of COMPARISONS
    left: Operand
    right: Operand
    column: int


@dataclass(frozen=True, slots=True)
class InSet:
    operand: Operand
    members: tuple[tuple[Operand, Operand | None], ...]  # (value, end of range or None)
    negated: bool


@dataclass(frozen=True, slots=True)
class Not:
    arg: Node


@dataclass(frozen=True, slots=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Or:
    left: Node
    right: Node


Node = Test | Compare | InSet | Not | And | Or


def tokenize(text: str) -> list[Token]:
    out: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            if text[pos] == '"':
                raise FilterError("unterminated string", pos + 1)
            raise FilterError(f"unexpected character {text[pos]!r}", pos + 1)
        kind = m.lastgroup or ""
        if kind == "string":
            body = m.group()[1:-1]
            out.append(Token(kind, re.sub(r"\\(.)", r"\1", body), pos + 1))
        elif kind != "space":
            out.append(Token(kind, m.group(), pos + 1))
        pos = m.end()
    out.append(Token("end", "", len(text) + 1))
    return out


class _Parser:
    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        t = self.tokens[self.i]
        self.i += 1
        return t

    def at(self, *texts: str) -> bool:
        t = self.tok
        return t.kind in ("op", "word") and t.text in texts

    def fail(self, what: str | None = None) -> FilterError:
        t = self.tok
        if t.kind == "end":
            return FilterError(what or "unexpected end of filter", t.column)
        return FilterError(what or f"unexpected {t.text!r}", t.column)

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise self.fail("empty filter")
        node = self.expr()
        if self.tok.kind != "end":
            raise self.fail()
        return node

    def expr(self) -> Node:
        node = self.conj()
        while self.at("||", "or"):
            self.take()
            node = Or(node, self.conj())
        return node

    def conj(self) -> Node:
        node = self.neg()
        while self.at("&&", "and"):
            self.take()
            node = And(node, self.neg())
        return node

    def neg(self) -> Node:
        if self.at("!", "not"):
            self.take()
            return Not(self.neg())
        if self.at("("):
            self.take()
            node = self.expr()
            if not self.at(")"):
                raise self.fail("missing ')'" if self.tok.kind == "end" else None)
            self.take()
            return node
        return self.test()

    def operand(self) -> Operand:
        t = self.tok
        if t.kind == "string" or (t.kind == "word" and t.text not in KEYWORDS):
            self.take()
            return Operand(t.text, t.column, quoted=t.kind == "string")
        raise self.fail("expected a field or a value" if t.kind == "end" else None)

    def test(self) -> Node:
        left = self.operand()
        t = self.tok
        if t.kind in ("op", "word") and t.text in COMPARISONS:
            self.take()
            return Compare(COMPARISONS[t.text], left, self.operand(), t.column)
        negated = self.at("not")
        if negated:
            self.take()
            if not self.at("in"):
                raise self.fail("expected 'in' after 'not'")
        if self.at("in"):
            self.take()
            return InSet(left, self.members(), negated)
        return Test(left)

    def members(self) -> tuple[tuple[Operand, Operand | None], ...]:
        if not self.at("{"):
            raise self.fail("expected '{' after 'in'")
        self.take()
        out: list[tuple[Operand, Operand | None]] = []
        while not self.at("}"):
            if out and self.at(","):
                self.take()
            value = self.operand()
            if not value.quoted and ".." in value.text:
                lo, _, hi = value.text.partition("..")
                if not lo or not hi:
                    raise FilterError(f"incomplete range {value.text!r}", value.column)
                out.append((Operand(lo, value.column),
                            Operand(hi, value.column + len(lo) + 2)))
            else:
                out.append((value, None))
        if not out:
            raise self.fail("empty set")
        self.take()
        return tuple(out)


def parse(text: str) -> Node:
    """The tree of a display filter; FilterError (with the column) if it is not one."""
    return _Parser(text).parse()
