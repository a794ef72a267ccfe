"""The metrics and labels a PromQL expression names, read by a small tokenizer: promtool
checks syntax but has no parser API. It knows what the expressions under deploy/ use:
selectors with matchers, range and subquery brackets, functions, aggregations with
`by`/`without` before or after their argument, `on`/`ignoring`/`group_*` lists, `offset`.

    read('sum by (route) (rate(http_requests_total{status=~"5.."}[5m]))')
    -> metrics {http_requests_total}; labels: status on it (a matcher), route on it (by)
"""

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(
    r"""(?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
      | (?P<number>\.?\d[\w.]*)
      | (?P<name>[A-Za-z_:][\w:]*)
      | (?P<bracket>[(){}\[\]])
      | (?P<operator>[-+*/%^<>!=~@,]+)
      | (?P<space>\s+)""",
    re.VERBOSE,
)
_CLOSING = {"(": ")", "{": "}", "[": "]"}
#: Words that are neither metrics nor labels.
_KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "inf", "nan"})
#: Words followed by a list of label names: a by/without list applies to its aggregation's
#: argument, the others to both sides of a binary operator (here: the whole expression).
_GROUPING = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
_MATCHERS = frozenset({"=", "!=", "=~", "!~"})


@dataclass(frozen=True)
class Token:
    kind: str
    text: str


@dataclass(frozen=True)
class Selector:
    metric: str
    matchers: dict[str, str] = field(default_factory=dict)  # label -> operator and value


@dataclass(frozen=True)
class LabelUse:
    """A label an expression groups, matches or joins on: each of `metrics` should have it."""

    label: str
    metrics: frozenset[str]


@dataclass(frozen=True)
class Usage:
    selectors: tuple[Selector, ...]
    labels: tuple[LabelUse, ...]

    @property
    def metrics(self) -> frozenset[str]:
        return frozenset(selector.metric for selector in self.selectors)


def tokenize(expr: str) -> list[Token]:
    tokens, position = [], 0
    while position < len(expr):
        found = _TOKEN.match(expr, position)
        if found is None:
            raise ValueError(f"cannot read {expr[position:]!r} in {expr!r}")
        if found.lastgroup != "space":
            tokens.append(Token(str(found.lastgroup), found.group()))
        position = found.end()
    return tokens


def read(expr: str) -> Usage:
    return _Reader(tokenize(expr)).usage()


class _Reader:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.closing = _match_brackets(tokens)
        self.selectors: dict[int, Selector] = {}  # by the position of the metric's name
        self.groupings: list[tuple[int, int]] = []  # (keyword position, its list's "(")

    def usage(self) -> Usage:
        position = 0
        while position < len(self.tokens):
            position = self._step(position)
        labels = [
            LabelUse(label, frozenset([selector.metric]))
            for selector in self.selectors.values()
            for label in selector.matchers
        ]
        labels += [use for grouping in self.groupings for use in self._grouped(*grouping)]
        return Usage(tuple(self.selectors.values()), tuple(labels))

    def _step(self, position: int) -> int:
        token = self.tokens[position]
        if token.text in ("[", "{"):  # a range, or matchers without a name: nothing to read
            return self.closing[position] + 1
        if token.kind != "name" or token.text in _KEYWORDS:
            return position + 1
        if token.text in _GROUPING:
            return self._grouping(position)
        if self._text(position + 1) == "(" or self._text(position + 1) in _GROUPING:
            return position + 1  # a function or an aggregation
        return self._selector(position)

    def _grouping(self, position: int) -> int:
        if self._text(position + 1) != "(":
            return position + 1  # group_left without a list
        self.groupings.append((position, position + 1))
        return self.closing[position + 1] + 1

    def _selector(self, position: int) -> int:
        matchers: dict[str, str] = {}
        end = position + 1
        if self._text(end) == "{":
            matchers = self._matchers(end + 1, self.closing[end])
            end = self.closing[end] + 1
        self.selectors[position] = Selector(self.tokens[position].text, matchers)
        return end

    def _matchers(self, start: int, stop: int) -> dict[str, str]:
        inside = self.tokens[start:stop]
        return {
            name.text: operator.text + value.text
            for name, operator, value in zip(inside, inside[1:], inside[2:], strict=False)
            if name.kind == "name" and operator.text in _MATCHERS
        }

    def _grouped(self, keyword: int, opening: int) -> list[LabelUse]:
        inside = self.tokens[opening + 1 : self.closing[opening]]
        scope = self._metrics_between(*self._scope(keyword, opening))
        return [LabelUse(token.text, scope) for token in inside if token.kind == "name"]

    def _scope(self, keyword: int, opening: int) -> tuple[int, int]:
        """Where the metrics a label list speaks of are: the aggregation's argument, before
        the list (`sum(x) by (a)`) or after it (`sum by (a) (x)`); else the whole expression."""
        if self.tokens[keyword].text not in ("by", "without"):
            return 0, len(self.tokens)
        after = self.closing[opening] + 1
        if self._text(after) == "(":
            return after, self.closing[after]
        before = keyword - 1
        opened = next(start for start, end in self.closing.items() if end == before)
        return opened, before

    def _metrics_between(self, start: int, stop: int) -> frozenset[str]:
        return frozenset(s.metric for at, s in self.selectors.items() if start <= at < stop)

    def _text(self, position: int) -> str:
        return self.tokens[position].text if position < len(self.tokens) else ""


def _match_brackets(tokens: list[Token]) -> dict[int, int]:
    closing: dict[int, int] = {}
    open_at: list[int] = []
    for position, token in enumerate(tokens):
        if token.text in _CLOSING:
            open_at.append(position)
        elif token.kind == "bracket":
            start = open_at.pop() if open_at else None
            if start is None or _CLOSING[tokens[start].text] != token.text:
                raise ValueError(f"{token.text} closes no bracket at token {position}")
            closing[start] = position
    if open_at:
        raise ValueError("an unclosed bracket")
    return closing
