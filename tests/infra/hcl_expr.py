r"""A small evaluator for the HCL expressions used in this repo's `validation` conditions.

The variable validations are judged by Terraform itself wherever a ``terraform`` binary is on
PATH (tests/infra/tf_judge.py). This evaluator is the fallback for machines without one, and
still evaluates the plain expressions of the static tests (merged tags/labels). It covers the
subset the conditions use:

- literals: numbers, strings (with HCL escapes), true/false/null, lists, objects
- references: ``var.NAME`` with ``.attr`` / ``[index]`` access, for-expression variables
- operators: ``! - * / % + - < <= > >= == != && ||`` and ``cond ? a : b``
- ``[for x in xs : expr if cond]`` and ``[for k, v in map : expr]``
- functions: can, try, regex, contains, length, alltrue, anytrue, startswith, endswith,
  floor, ceil, max, min, lower, upper, trimspace, keys, values, tostring, tonumber, merge,
  coalesce, concat

Semantics follow Terraform where it matters for validations: arithmetic/comparison on null is
an error, and ``regex`` fails when nothing matches. ``&&`` and ``||`` do not short-circuit by
default (both sides are evaluated, so ``var.x == null || length(var.x) > 0`` errors on null),
as in Terraform < 1.12; ``short_circuit=True`` gives the Terraform >= 1.12 behaviour (the
right side is not evaluated when the left decides). Known differences from Terraform: regular
expressions use Python's ``re``, not RE2 (``$`` also matches before a final newline, ``\d``
matches non-ASCII digits); values are not converted to the variables' types. Anything outside
the subset raises :class:`UnsupportedExpression`, so a new condition form cannot be silently
mis-evaluated.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping


class EvalError(Exception):
    """The expression fails at evaluation time (what `can()` catches)."""


class UnsupportedExpression(Exception):
    """The expression uses syntax or a function this evaluator does not implement."""


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<op>==|!=|<=|>=|&&|\|\||=>|[-+*/%<>!?:.,()\[\]{}=])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_-]*)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Tok:
    kind: str
    text: str


def tokenize(src: str) -> list[Tok]:
    pos, out = 0, []
    while pos < len(src):
        m = _TOKEN_RE.match(src, pos)
        if not m:
            raise UnsupportedExpression(f"cannot tokenize at {src[pos:pos + 20]!r} in {src!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind != "ws":
            out.append(Tok(kind, m.group()))
    out.append(Tok("eof", ""))
    return out


def _unescape(literal: str) -> str:
    body = literal[1:-1]
    if "${" in body.replace("$${", "") or "%{" in body.replace("%%{", ""):
        raise UnsupportedExpression(f"string templates are not supported: {literal}")
    out, i = [], 0
    simple = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
    while i < len(body):
        c = body[i]
        if c == "\\":
            nxt = body[i + 1]
            if nxt in simple:
                out.append(simple[nxt])
                i += 2
                continue
            if nxt == "u":
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
                continue
            raise UnsupportedExpression(f"unknown escape \\{nxt} in {literal}")
        out.append(c)
        i += 1
    return "".join(out).replace("$${", "${").replace("%%{", "%{")


# AST nodes are tuples: (kind, ...). Kept simple on purpose.


class Parser:
    def __init__(self, src: str):
        self.src = src
        self.toks = tokenize(src)
        self.i = 0

    def peek(self, offset: int = 0) -> Tok:
        return self.toks[self.i + offset]

    def take(self, text: str | None = None, kind: str | None = None) -> Tok:
        t = self.peek()
        if (text is not None and t.text != text) or (kind is not None and t.kind != kind):
            raise UnsupportedExpression(f"expected {text or kind!r}, got {t.text!r} in {self.src!r}")
        self.i += 1
        return t

    def at(self, text: str) -> bool:
        t = self.peek()
        return t.text == text and t.kind in ("op", "ident")

    def parse(self):
        node = self.expr()
        if self.peek().kind != "eof":
            raise UnsupportedExpression(f"unexpected {self.peek().text!r} in {self.src!r}")
        return node

    def expr(self):
        cond = self.binary(0)
        if self.at("?"):
            self.take("?")
            a = self.expr()
            self.take(":")
            b = self.expr()
            return ("cond", cond, a, b)
        return cond

    _LEVELS = (("||",), ("&&",), ("==", "!="), ("<", "<=", ">", ">="), ("+", "-"), ("*", "/", "%"))

    def binary(self, level: int):
        if level == len(self._LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek().kind == "op" and self.peek().text in self._LEVELS[level]:
            op = self.take().text
            right = self.binary(level + 1)
            left = ("bin", op, left, right)
        return left

    def unary(self):
        if self.at("!"):
            self.take()
            return ("not", self.unary())
        if self.at("-"):
            self.take()
            return ("neg", self.unary())
        return self.postfix(self.primary())

    def postfix(self, node):
        while True:
            if self.at(".") and self.peek(1).kind in ("ident", "number"):
                self.take(".")
                node = ("attr", node, self.take().text)
            elif self.at("["):
                self.take("[")
                idx = self.expr()
                self.take("]")
                node = ("index", node, idx)
            else:
                return node

    def primary(self):
        t = self.peek()
        if t.kind == "number":
            self.take()
            return ("lit", float(t.text) if any(c in t.text for c in ".eE") else int(t.text))
        if t.kind == "string":
            self.take()
            return ("lit", _unescape(t.text))
        if t.kind == "ident":
            self.take()
            if t.text in ("true", "false"):
                return ("lit", t.text == "true")
            if t.text == "null":
                return ("lit", None)
            if self.at("("):
                self.take("(")
                args = []
                while not self.at(")"):
                    args.append(self.expr())
                    if not self.at(")"):
                        self.take(",")
                self.take(")")
                return ("call", t.text, args)
            return ("name", t.text)
        if self.at("("):
            self.take("(")
            node = self.expr()
            self.take(")")
            return node
        if self.at("["):
            self.take("[")
            if self.at("for"):
                return self.for_expr()
            items = []
            while not self.at("]"):
                items.append(self.expr())
                if not self.at("]"):
                    self.take(",")
            self.take("]")
            return ("list", items)
        if self.at("{"):
            self.take("{")
            pairs = []
            while not self.at("}"):
                key_tok = self.peek()
                if key_tok.kind == "ident" and self.peek(1).text in ("=", ":"):
                    self.take()
                    key = ("lit", key_tok.text)
                else:
                    key = self.expr()
                self.take(self.peek().text if self.peek().text in ("=", ":") else "=")
                pairs.append((key, self.expr()))
                if self.at(","):
                    self.take(",")
            self.take("}")
            return ("object", pairs)
        raise UnsupportedExpression(f"unexpected {t.text!r} in {self.src!r}")

    def for_expr(self):
        self.take("for")
        first = self.take(kind="ident").text
        second = None
        if self.at(","):
            self.take(",")
            second = self.take(kind="ident").text
        self.take("in")
        coll = self.expr()
        self.take(":")
        body = self.expr()
        cond = None
        if self.at("if"):
            self.take("if")
            cond = self.expr()
        self.take("]")
        return ("for", first, second, coll, body, cond)


def _type_name(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (list, tuple)):
        return "list"
    if isinstance(v, dict):
        return "map"
    return type(v).__name__


def _need(v: Any, kind: str, what: str) -> Any:
    ok = {
        "bool": isinstance(v, bool),
        "number": isinstance(v, (int, float)) and not isinstance(v, bool),
        "string": isinstance(v, str),
        "collection": isinstance(v, (list, tuple, dict)),
    }[kind]
    if not ok:
        raise EvalError(f"{what}: expected {kind}, got {_type_name(v)} ({v!r})")
    return v


def _regex(pattern: str, s: str):
    _need(pattern, "string", "regex pattern")
    _need(s, "string", "regex subject")
    m = re.search(pattern, s)
    if not m:
        raise EvalError(f"regex {pattern!r} does not match {s!r}")
    if m.re.groupindex:
        return m.groupdict()
    if m.re.groups:
        return list(m.groups())
    return m.group(0)


def _length(v: Any) -> int:
    if isinstance(v, str):
        return len(v)
    return len(_need(v, "collection", "length"))


def _all_bool(xs: Any, fn: str) -> list[bool]:
    _need(xs, "collection", fn)
    return [_need(x, "bool", fn) for x in xs]


def _tonumber(v: Any):
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v
    if isinstance(v, str):
        try:
            return int(v) if re.fullmatch(r"-?\d+", v) else float(v)
        except ValueError:
            pass
    raise EvalError(f"cannot convert {v!r} to number")


def _tostring(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float, str)):
        return str(v)
    raise EvalError(f"cannot convert {_type_name(v)} to string")


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "regex": _regex,
    "contains": lambda xs, v: v in _need(xs, "collection", "contains"),
    "length": _length,
    "alltrue": lambda xs: all(_all_bool(xs, "alltrue")),
    "anytrue": lambda xs: any(_all_bool(xs, "anytrue")),
    "startswith": lambda s, p: _need(s, "string", "startswith").startswith(_need(p, "string", "startswith")),
    "endswith": lambda s, p: _need(s, "string", "endswith").endswith(_need(p, "string", "endswith")),
    "floor": lambda n: math.floor(_need(n, "number", "floor")),
    "ceil": lambda n: math.ceil(_need(n, "number", "ceil")),
    "max": lambda *ns: max(_need(n, "number", "max") for n in ns),
    "min": lambda *ns: min(_need(n, "number", "min") for n in ns),
    "lower": lambda s: _need(s, "string", "lower").lower(),
    "upper": lambda s: _need(s, "string", "upper").upper(),
    "trimspace": lambda s: _need(s, "string", "trimspace").strip(),
    "keys": lambda m: sorted(_need(m, "collection", "keys")),
    "values": lambda m: [m[k] for k in sorted(_need(m, "collection", "values"))],
    "tostring": _tostring,
    "tonumber": _tonumber,
    "merge": lambda *ms: {k: v for m in ms for k, v in _need(m, "collection", "merge").items()},
    "coalesce": lambda *vs: next((v for v in vs if v is not None and v != ""), None),
    "concat": lambda *ls: [x for xs in ls for x in _need(xs, "collection", "concat")],
}


def _compare(op: str, a: Any, b: Any) -> bool:
    _need(a, "number", f"left of {op}")
    _need(b, "number", f"right of {op}")
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _arith(op: str, a: Any, b: Any) -> Any:
    _need(a, "number", f"left of {op}")
    _need(b, "number", f"right of {op}")
    if op in "/%" and b == 0:
        raise EvalError("division by zero")
    return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b, "%": lambda: a % b}[op]()


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return a == b


def evaluate(node, scope: Mapping[str, Any], short_circuit: bool = False) -> Any:
    def ev(n, s=None):
        return evaluate(n, scope if s is None else s, short_circuit)

    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "name":
        if node[1] not in scope:
            raise UnsupportedExpression(f"unknown name {node[1]!r}")
        return scope[node[1]]
    if kind == "attr":
        base = ev(node[1])
        if not isinstance(base, dict):
            raise EvalError(f"cannot read .{node[2]} of {_type_name(base)}")
        if node[2] not in base:
            raise EvalError(f"no attribute {node[2]!r}")
        return base[node[2]]
    if kind == "index":
        base, idx = ev(node[1]), ev(node[2])
        try:
            return base[idx]
        except (KeyError, IndexError, TypeError) as exc:
            raise EvalError(f"invalid index {idx!r}") from exc
    if kind == "list":
        return [ev(n) for n in node[1]]
    if kind == "object":
        return {_tostring(ev(k)): ev(v) for k, v in node[1]}
    if kind == "not":
        return not _need(ev(node[1]), "bool", "operand of !")
    if kind == "neg":
        return -_need(ev(node[1]), "number", "operand of -")
    if kind == "cond":
        c = _need(ev(node[1]), "bool", "condition of ?:")
        return ev(node[2] if c else node[3])
    if kind == "bin":
        op = node[1]
        if short_circuit and op in ("&&", "||"):  # Terraform >= 1.12
            a = _need(ev(node[2]), "bool", f"left of {op}")
            if a == (op == "||"):
                return a
            return _need(ev(node[3]), "bool", f"right of {op}")
        a, b = ev(node[2]), ev(node[3])  # both sides, as Terraform < 1.12
        if op == "&&":
            return _need(a, "bool", "left of &&") and _need(b, "bool", "right of &&")
        if op == "||":
            return _need(a, "bool", "left of ||") or _need(b, "bool", "right of ||")
        if op == "==":
            return _equal(a, b)
        if op == "!=":
            return not _equal(a, b)
        if op in ("<", "<=", ">", ">="):
            return _compare(op, a, b)
        return _arith(op, a, b)
    if kind == "call":
        name, args = node[1], node[2]
        if name == "can":
            try:
                ev(args[0])
                return True
            except EvalError:
                return False
        if name == "try":
            for arg in args:
                try:
                    return ev(arg)
                except EvalError:
                    continue
            raise EvalError("try: no argument succeeded")
        if name not in FUNCTIONS:
            raise UnsupportedExpression(f"function {name}() is not supported by the test evaluator")
        values = [ev(a) for a in args]
        try:
            return FUNCTIONS[name](*values)
        except EvalError:
            raise
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise EvalError(f"{name}(): {exc}") from exc
    if kind == "for":
        _, first, second, coll_node, body, cond = node
        coll = ev(coll_node)
        if isinstance(coll, dict):
            pairs = sorted(coll.items())
        elif isinstance(coll, (list, tuple)):
            pairs = list(enumerate(coll))
        else:
            raise EvalError(f"for: cannot iterate over {_type_name(coll)}")
        out = []
        for k, v in pairs:
            inner = dict(scope)
            if second is None:
                inner[first] = v
            else:
                inner[first], inner[second] = k, v
            if cond is not None and not _need(ev(cond, inner), "bool", "for ... if"):
                continue
            out.append(ev(body, inner))
        return out
    raise UnsupportedExpression(f"node {kind}")


def strip_interpolation(expr: Any) -> str:
    """python-hcl2 returns expressions as ``"${...}"``; this returns the inner source."""
    if isinstance(expr, bool):
        return "true" if expr else "false"
    if not isinstance(expr, str):
        return repr(expr)
    if expr.startswith("${") and expr.endswith("}"):
        return expr[2:-1]
    return expr


def eval_expression(expr: str, scope: Mapping[str, Any]) -> Any:
    """Evaluates any supported expression (``"${...}"`` or bare) in ``scope``
    (for example ``{"var": {...}, "local": {...}}``). Errors propagate."""
    return evaluate(Parser(strip_interpolation(expr)).parse(), scope)


def eval_condition(condition: str, variables: Mapping[str, Any], short_circuit: bool = False) -> bool:
    """Evaluates a validation condition with ``var.*`` bound to ``variables``.

    Returns False when the condition is false *or* fails to evaluate: Terraform rejects the
    value in both cases. ``short_circuit``: ``&&``/``||`` as in Terraform >= 1.12.
    """
    tree = Parser(strip_interpolation(condition)).parse()
    try:
        result = evaluate(tree, {"var": dict(variables)}, short_circuit)
    except EvalError:
        return False
    if not isinstance(result, bool):
        raise UnsupportedExpression(f"condition {condition!r} returned {result!r}, not a bool")
    return result
