"""A parsed display filter -> a function of the segment table returning a boolean mask.

Compiling checks every field name and literal first (so a bad filter is refused before
a capture is read); the compiled function then works on whole columns: numeric fields
are compared with NumPy, text-like ones (addresses, state names) once per distinct value
and spread over the rows through their category codes.  No Python runs per row.

Semantics are Wireshark 4.0's (checked against tshark 4.0.17): ``a == b`` is true when
any occurrence of ``a`` equals ``b`` (``ip.addr`` occurs as source and destination);
``a != b`` means "all occurrences differ", i.e. ``!(a == b)`` on segments where ``a``
is present, false where it is absent (``ip.src != 10.0.0.1`` is false on IPv6);
``===`` is "all equal", ``~=`` "any differs"; a bare field tests presence.
"""

from __future__ import annotations

import difflib
import ipaddress
import operator
import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from .fields import BOOL, FIELDS, FLOAT, IPV4, IPV6, PROTO, TEXT, UINT, Field, Values, maximum
from .syntax import And, Compare, FilterError, InSet, Node, Not, Operand, Or, Test, parse

Mask = Callable[[pd.DataFrame], np.ndarray]
Pred = Callable[[object], bool]  # a test of one (distinct) text-like value

_ORDER = {"lt": operator.lt, "gt": operator.gt, "le": operator.le, "ge": operator.ge}
_EQ = {"any_eq", "all_ne", "all_eq", "any_ne"}
_FIELDISH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+")


def compile_filter(text: str) -> Mask:
    """``-Y TEXT`` -> function(segment table) -> boolean mask; FilterError if unusable."""
    return _compile(parse(text))


def _field(op: Operand) -> Field | None:
    return None if op.quoted else FIELDS.get(op.text)


def _unknown(op: Operand) -> FilterError:
    near = difflib.get_close_matches(op.text, FIELDS, n=1, cutoff=0.8)
    hint = f" (did you mean {near[0]}?)" if near else ""
    return FilterError(f'unknown field "{op.text}"{hint}', op.column)


def _compile(node: Node) -> Mask:
    if isinstance(node, And):
        a, b = _compile(node.left), _compile(node.right)
        return lambda seg: a(seg) & b(seg)
    if isinstance(node, Or):
        a, b = _compile(node.left), _compile(node.right)
        return lambda seg: a(seg) | b(seg)
    if isinstance(node, Not):
        a = _compile(node.arg)
        return lambda seg: ~a(seg)
    if isinstance(node, Test):
        f = _field(node.operand)
        if f is None:
            raise _unknown(node.operand)
        return lambda seg: _any_present(f.read(seg), len(seg))
    if isinstance(node, InSet):
        return _compile_in(node)
    return _compile_compare(node)


def _any_present(occ: list[Values], n: int) -> np.ndarray:
    out = np.zeros(n, bool)
    for v in occ:
        out |= v.present
    return out


# -- literals ----------------------------------------------------------------------------

def _literal(f: Field, op: Operand, exact: bool = True) -> object:
    """A literal read as a value of field ``f`` (an int, float, address network or text;
    ``exact``: a text one of the field's names, when it has names)."""
    text = op.text
    try:
        if f.kind in (UINT, BOOL):
            if f.kind == BOOL and text.lower() in ("true", "false"):
                return int(text.lower() == "true")
            value = int(text, 0) if not text.startswith("0") or text == "0" else int(
                text, 16 if text[:2].lower() == "0x" else 8)
            if value < 0 or (f.kind == BOOL and value > 1):
                raise ValueError
            top = maximum(f.name)
            if value > top:
                raise FilterError(f'"{text}" is too big for {f.name} (at most {top})',
                                  op.column)
            return value
        if f.kind == FLOAT:
            return float(text)
        if f.kind == IPV4:
            return ipaddress.IPv4Network(text, strict=False)
        if f.kind == IPV6:
            return ipaddress.IPv6Network(text, strict=False)
        if exact and f.names and text not in f.names:
            near = (difflib.get_close_matches(text, f.names, n=1, cutoff=0.6)
                    or difflib.get_close_matches(text.upper(), f.names, n=1, cutoff=0.6))
            hint = f" (did you mean {near[0]}?)" if near else f" (one of {', '.join(f.names)})"
            raise FilterError(f'"{text}" is no value of {f.name}{hint}', op.column)
        return text
    except ValueError:
        if not op.quoted and _FIELDISH.fullmatch(text) and text not in FIELDS:
            raise _unknown(op) from None
        raise FilterError(f'"{text}" is not a valid value of {f.name}', op.column) from None


def _pred(f: Field, op: str, lit: object) -> Pred:
    """The test of one distinct value of a text-like field (address or name)."""
    if f.kind in (IPV4, IPV6):
        net = lit  # an IPv4Network / IPv6Network (a single address is a /32 or /128)
        if op in ("any_eq", "all_eq", "all_ne", "any_ne"):
            return lambda v: ipaddress.ip_address(v) in net  # type: ignore[operator]
        cmp = _ORDER[op]
        bound = int(net.network_address)  # type: ignore[attr-defined]
        return lambda v: cmp(int(ipaddress.ip_address(v)), bound)
    if op == "contains":
        return lambda v: str(lit) in v  # type: ignore[operator]
    if op == "matches":
        rx = re.compile(str(lit), re.IGNORECASE)
        return lambda v: rx.search(v) is not None  # type: ignore[arg-type]
    if op in _EQ:
        return lambda v: v == lit
    cmp = _ORDER[op]
    return lambda v: cmp(v, lit)


def _hits(v: Values, pred: Pred | None, op: str, lit: object) -> np.ndarray:
    """Where occurrence ``v`` is present and its value equals / orders as ``op`` says
    (for the "ne" operators: equals; the caller negates)."""
    if v.codes is not None:
        assert pred is not None
        table = np.array([pred(c) for c in v.categories or ()] + [False], bool)
        return table[v.codes] & v.present
    assert v.values is not None
    if op in _EQ:
        return (v.values == lit) & v.present
    return _ORDER[op](v.values, lit) & v.present


def _combine(op: str, hits: list[np.ndarray], occ: list[Values], n: int) -> np.ndarray:
    """Wireshark's quantifiers over the occurrences of a field (hits: "equals" for the
    equality family, the comparison itself otherwise)."""
    present = _any_present(occ, n)
    anyhit = np.zeros(n, bool)
    for h in hits:
        anyhit |= h
    if op == "all_ne":
        return present & ~anyhit
    if op in ("all_eq", "any_ne"):
        allhit = present.copy()
        for h, v in zip(hits, occ, strict=True):
            allhit &= h | ~v.present
        return allhit if op == "all_eq" else present & ~allhit
    return anyhit


def _check_op(f: Field, op: str, column: int) -> None:
    if f.kind == PROTO:
        raise FilterError(f"{f.name} can only be tested for presence", column)
    if op in ("contains", "matches") and f.kind != TEXT:
        raise FilterError(f"{f.name} is not text: '{op}' does not apply", column)


def _compile_compare(node: Compare) -> Mask:
    lf, rf = _field(node.left), _field(node.right)
    op = node.op
    # a value on the left ("80 == tcp.port") is refused, as Wireshark 4.0 does
    if lf is None and (rf is not None or not _FIELDISH.fullmatch(node.left.text)):
        raise FilterError(f'the left side of a comparison must be a field, not '
                          f'"{node.left.text}"', node.left.column)
    if lf is None:
        raise _unknown(node.left)
    if rf is not None:
        return _compile_fields(node, lf, rf)
    _check_op(lf, op, node.column)
    lit = _literal(lf, node.right, exact=op not in ("contains", "matches"))
    pred = _pred(lf, op, lit) if lf.kind in (IPV4, IPV6, TEXT) else None

    def mask(seg: pd.DataFrame) -> np.ndarray:
        occ = lf.read(seg)
        return _combine(op, [_hits(v, pred, op, lit) for v in occ], occ, len(seg))
    return mask


def _compile_fields(node: Compare, lf: Field, rf: Field) -> Mask:
    """Field against field (``tcp.srcport == tcp.dstport``): numeric ones only."""
    for f in (lf, rf):
        _check_op(f, node.op, node.column)
        if f.kind not in (UINT, FLOAT, BOOL):
            raise FilterError(f"{f.name}: only numeric fields compare with fields",
                              node.column)
    op = node.op
    cmp = operator.eq if op in _EQ else _ORDER[op]

    def mask(seg: pd.DataFrame) -> np.ndarray:
        lo, ro = lf.read(seg), rf.read(seg)
        hits = [cmp(a.values, b.values) & a.present & b.present for a in lo for b in ro]
        pairs = [Values(a.present & b.present) for a in lo for b in ro]
        return _combine(op, hits, pairs, len(seg))
    return mask


def _compile_in(node: InSet) -> Mask:
    f = _field(node.operand)
    if f is None:
        raise _unknown(node.operand)
    _check_op(f, "any_eq", node.operand.column)
    tests: list[tuple[str, object, object]] = []  # ("eq", v, None) or ("range", lo, hi)
    for lo, hi in node.members:
        if hi is None:
            tests.append(("eq", _literal(f, lo), None))
        else:
            if f.kind in (TEXT,):
                raise FilterError(f"a range needs numbers or addresses, not {f.name}",
                                  lo.column)
            tests.append(("range", _literal(f, lo), _literal(f, hi)))
    text_like = f.kind in (IPV4, IPV6, TEXT)

    def member(v: object) -> bool:
        for kind, a, b in tests:
            if kind == "eq" and (_pred(f, "any_eq", a)(v)):
                return True
            if kind == "range" and (_pred(f, "ge", a)(v) and _pred(f, "le", b)(v)):
                return True
        return False

    def mask(seg: pd.DataFrame) -> np.ndarray:
        occ = f.read(seg)
        hits = []
        for v in occ:
            if text_like:
                hits.append(_hits(v, member, "any_eq", None))
                continue
            h = np.zeros(len(seg), bool)
            for kind, a, b in tests:
                assert v.values is not None
                h |= (v.values == a) if kind == "eq" else ((v.values >= a) & (v.values <= b))
            hits.append(h & v.present)
        found = _combine("any_eq", hits, occ, len(seg))
        return (_any_present(occ, len(seg)) & ~found) if node.negated else found
    return mask
