"""CloudWatch Logs Insights, the subset sagewatch's dashboard and saved queries use, run over a
list of JSON events (the archive log group as the embedded AWS stores it).

Supported, with Logs Insights semantics:

* `SOURCE 'log-group'` clauses before the first command (the dashboard's log widget form);
* `fields expr [as name], ...`, `filter condition`, `parse field 'glob with *' as a, b`,
  `stats agg [as name], ... [by expr [as name], ...]`, `sort expr asc|desc, ...`, `limit n`;
* expressions: field names, 'strings', "strings", numbers, `+ - * /`, parentheses,
  `= != in [...] like /regex/ and or`, `concat round coalesce`, and in `stats` the aggregates
  `count(*) count count_distinct sum avg max min latest` (scalar functions and arithmetic may
  wrap them: `round(avg(x))`).

Fields are the event's JSON flattened with dots (`detail.job.name`, array items as
`detail.ProductionVariants.0.VariantName`); a backticked name is the same flattened name
(`` `detail-type` ``, `` `detail.job.tags.team` ``). `@timestamp` is the event's "time"
(milliseconds; shown as `2026-11-20 07:52:14.000`), `@message` the event as JSON.

Missing values: a field that is absent or JSON null is null. A comparison with null is false
(`!=` too), arithmetic and `round` of null are null, aggregates skip nulls, `stats ... by` keeps
events whose group field is null in a group of their own, `sort` puts nulls last either way.
`concat` with a null argument is null: AWS does not document this case, and an empty cell
is the conservative rendering (the preview never shows a value the console might not).
`latest(x)` is the non-null x of the newest event.

Anything else (another command, function or operator, `not`, `<`, regex `parse`, a `sort`
without a direction) raises InsightsError naming the piece: never silently ignored.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Value = str | int | float | None
Record = dict[str, Value]

DEFAULT_LIMIT = 10_000  # rows Logs Insights returns when a query has no limit


class InsightsError(ValueError):
    """A query this interpreter cannot run: malformed, or outside the supported subset."""


class Timestamp(int):
    """Milliseconds since the epoch (`@timestamp`), shown as Logs Insights shows it."""

    def __str__(self) -> str:
        moment = datetime.fromtimestamp(self / 1000, UTC)
        return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{self % 1000:03d}"

    __repr__ = __str__


# ---- tokens -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # name, string, number, regex, op
    text: str  # the value: name without backticks, string without quotes, operator
    start: int  # offsets in the query text
    end: int
    quoted: bool = False  # a `backticked` name: never a keyword

    def is_word(self, *words: str) -> bool:
        return self.kind == "name" and not self.quoted and self.text.lower() in words


_OPERATORS = ("!=", "=", "(", ")", "[", "]", ",", "+", "-", "*", "/", "|")
_UNSUPPORTED_OPERATORS = ("<=", ">=", "=~", "<", ">", "%", "^", "!", "#")


def _operator(query: str, i: int) -> tuple[str, bool] | None:
    """The operator at `i` and whether it is supported (longest match first)."""
    candidates = [(o, True) for o in _OPERATORS] + [(o, False) for o in _UNSUPPORTED_OPERATORS]
    found = [(o, ok) for o, ok in candidates if query.startswith(o, i)]
    return max(found, key=lambda pair: len(pair[0])) if found else None


def _where(query: str, i: int) -> str:
    return f"at offset {i} in {query[max(i - 30, 0) : i + 10]!r}"


_NAME = re.compile(r"[A-Za-z_@][\w@.]*")
_NUMBER = re.compile(r"\d+(\.\d+)?")


def _tokens(query: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(query):
        char = query[i]
        if char.isspace():
            i += 1
        elif char in "'\"":
            text, end = _quoted(query, i, char)
            tokens.append(Token("string", text, i, end))
            i = end
        elif char == "`":
            end = query.find("`", i + 1)
            if end < 0:
                raise InsightsError(f"unterminated backticked name {_where(query, i)}")
            tokens.append(Token("name", query[i + 1 : end], i, end + 1, quoted=True))
            i = end + 1
        elif char == "/" and _regex_expected(tokens):
            text, end = _quoted(query, i, "/")
            tokens.append(Token("regex", text, i, end))
            i = end
        elif match := _NUMBER.match(query, i) or _NAME.match(query, i):
            kind = "number" if char.isdigit() else "name"
            tokens.append(Token(kind, match.group(), i, match.end()))
            i = match.end()
        elif operator := _operator(query, i):
            op, supported = operator
            if not supported:
                what = "comments (#)" if op == "#" else f"operator {op!r}"
                raise InsightsError(f"unsupported {what} {_where(query, i)}")
            tokens.append(Token("op", op, i, i + len(op)))
            i += len(op)
        else:
            raise InsightsError(f"unexpected character {char!r} {_where(query, i)}")
    return tokens


def _regex_expected(tokens: list[Token]) -> bool:
    """A `/` opens a /regex/ after `like`, and after `parse <field>` (to reject it clearly)."""
    return bool(tokens) and (
        tokens[-1].is_word("like") or (len(tokens) > 1 and tokens[-2].is_word("parse"))
    )


def _quoted(query: str, start: int, quote: str) -> tuple[str, int]:
    """A quoted string or /regex/ from `start`; backslash escapes the quote (strings also
    backslash itself; a regex keeps its other escapes for `re`)."""
    out, i = [], start + 1
    while i < len(query):
        char = query[i]
        if char == "\\" and i + 1 < len(query):
            following = query[i + 1]
            if following == quote or (quote != "/" and following == "\\"):
                out.append(following)
            else:
                out.append(char + following)
            i += 2
        elif char == quote:
            return "".join(out), i + 1
        else:
            out.append(char)
            i += 1
    raise InsightsError(f"unterminated {quote} {_where(query, start)}")


# ---- syntax tree --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    value: Value


@dataclass(frozen=True)
class Field:
    name: str


@dataclass(frozen=True)
class Star:
    """The `*` of count(*)."""


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Binary:
    op: str  # + - * / = != and or
    left: Expr
    right: Expr


@dataclass(frozen=True)
class In:
    operand: Expr
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Like:
    operand: Expr
    pattern: re.Pattern[str]


Expr = Literal | Field | Star | Call | Binary | In | Like
Named = tuple[Expr, str]

SCALAR_FUNCTIONS = frozenset({"concat", "round", "coalesce"})
AGGREGATES = frozenset({"count", "count_distinct", "sum", "avg", "max", "min", "latest"})
_CONDITIONS = frozenset({"=", "!=", "and", "or"})


@dataclass(frozen=True)
class Fields:
    items: tuple[Named, ...]


@dataclass(frozen=True)
class Filter:
    condition: Expr


@dataclass(frozen=True)
class Parse:
    source: Field
    pattern: re.Pattern[str]
    names: tuple[str, ...]


@dataclass(frozen=True)
class Stats:
    aggregates: tuple[Named, ...]
    groups: tuple[Named, ...]


@dataclass(frozen=True)
class Sort:
    keys: tuple[tuple[Expr, bool], ...]  # (key, descending)


@dataclass(frozen=True)
class Limit:
    count: int


Command = Fields | Filter | Parse | Stats | Sort | Limit


@dataclass(frozen=True)
class Query:
    text: str
    sources: tuple[str, ...]  # log groups of the SOURCE clauses (none in a saved query)
    commands: tuple[Command, ...]

    def references(self) -> set[str]:
        """Event fields the query reads: every field name not defined by an earlier command
        (a `fields` or `stats` name, a `parse` name)."""
        defined: set[str] = set()
        read: set[str] = set()
        for command in self.commands:
            if isinstance(command, Fields):
                named, used = command.items, [e for e, _ in command.items]
            elif isinstance(command, Stats):
                named = (*command.groups, *command.aggregates)
                used = [e for e, _ in named]
            elif isinstance(command, Parse):
                named, used = tuple((command.source, n) for n in command.names), [command.source]
            elif isinstance(command, Filter):
                named, used = (), [command.condition]
            elif isinstance(command, Sort):
                named, used = (), [key for key, _ in command.keys]
            else:
                named, used = (), []
            for expr in used:
                read |= _fields_in(expr) - defined
            defined |= {name for _, name in named}
        return read


def _fields_in(expr: Expr) -> set[str]:
    if isinstance(expr, Field):
        return {expr.name}
    if isinstance(expr, Call):
        return set().union(*(_fields_in(a) for a in expr.args))
    if isinstance(expr, Binary):
        return _fields_in(expr.left) | _fields_in(expr.right)
    if isinstance(expr, In | Like):
        return _fields_in(expr.operand)
    return set()


# ---- parser -------------------------------------------------------------------------------------


class _Parser:
    """Recursive descent over one command's tokens."""

    def __init__(self, tokens: list[Token], query: str) -> None:
        self.tokens, self.query, self.i = tokens, query, 0
        # the command's text, for messages: "stats count(*) as jobs by account"
        self.source = " ".join(query[tokens[0].start : tokens[-1].end].split()) if tokens else ""

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def next(self, what: str) -> Token:
        token = self.peek()
        if token is None:
            raise InsightsError(f"expected {what} at the end of {self.source!r}")
        self.i += 1
        return token

    def expect(self, op: str) -> None:
        token = self.next(repr(op))
        if token.kind != "op" or token.text != op:
            raise self.unexpected(token, repr(op))

    def accept(self, op: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "op" and token.text == op:
            self.i += 1
            return True
        return False

    def accept_word(self, *words: str) -> str | None:
        token = self.peek()
        if token is not None and token.is_word(*words):
            self.i += 1
            return token.text.lower()
        return None

    def end(self) -> None:
        if (token := self.peek()) is not None:
            raise self.unexpected(token, "the end of the command")

    def unexpected(self, token: Token, expected: str) -> InsightsError:
        return InsightsError(
            f"unsupported or malformed syntax at {token.text!r} in {self.source!r} "
            f"(expected {expected})"
        )

    # expressions: or > and > comparison > + - > * / > atom
    def expression(self) -> Expr:
        left = self.conjunction()
        while self.accept_word("or"):
            left = Binary("or", left, self.conjunction())
        return left

    def conjunction(self) -> Expr:
        left = self.comparison()
        while self.accept_word("and"):
            left = Binary("and", left, self.comparison())
        return left

    def comparison(self) -> Expr:
        if (token := self.peek()) is not None and token.is_word("not"):
            raise InsightsError(f"unsupported operator 'not' in {self.source!r}")
        left = self.sum()
        if self.accept("="):
            return Binary("=", left, self.sum())
        if self.accept("!="):
            return Binary("!=", left, self.sum())
        if self.accept_word("in"):
            return In(left, self.literal_list())
        if self.accept_word("like"):
            token = self.next("a /regex/")
            if token.kind != "regex":
                raise InsightsError(f"unsupported like operand {token.text!r}: only /regex/")
            try:
                return Like(left, re.compile(token.text))
            except re.error as error:
                raise InsightsError(f"bad regex /{token.text}/: {error}") from None
        return left

    def literal_list(self) -> tuple[Value, ...]:
        self.expect("[")
        values: list[Value] = []
        while True:
            atom = self.atom()
            if not isinstance(atom, Literal):
                raise InsightsError(f"`in` takes a list of literals in {self.source!r}")
            values.append(atom.value)
            if not self.accept(","):
                break
        self.expect("]")
        return tuple(values)

    def sum(self) -> Expr:
        left = self.product()
        while (op := self._arithmetic("+", "-")) is not None:
            left = Binary(op, left, self.product())
        return left

    def product(self) -> Expr:
        left = self.atom()
        while (op := self._arithmetic("*", "/")) is not None:
            left = Binary(op, left, self.atom())
        return left

    def _arithmetic(self, *ops: str) -> str | None:
        token = self.peek()
        if token is not None and token.kind == "op" and token.text in ops:
            self.i += 1
            return token.text
        return None

    def atom(self) -> Expr:
        token = self.next("a value")
        if token.kind == "string":
            return Literal(token.text)
        number = self.peek()
        if token.kind == "op" and token.text == "-" and number and number.kind == "number":
            self.i += 1  # a negative literal
            return Literal(-_literal_number(number.text))
        if token.kind == "number":
            return Literal(_literal_number(token.text))
        if token.kind == "op" and token.text == "(":
            inner = self.expression()
            self.expect(")")
            return inner
        if token.kind == "name":
            if not token.quoted and self.accept("("):
                return self.call(token.text.lower())
            if token.is_word(*_KEYWORDS):
                raise self.unexpected(token, "a value")
            return Field(token.text)
        raise self.unexpected(token, "a value")

    def call(self, function: str) -> Call:
        if function not in SCALAR_FUNCTIONS | AGGREGATES:
            raise InsightsError(f"unsupported function {function}() in {self.source!r}")
        if function == "count" and self.accept("*"):
            args: list[Expr] = [Star()]
        else:
            args = [self.expression()]
            while self.accept(","):
                args.append(self.expression())
        self.expect(")")
        if function == "round" and len(args) != 1:
            raise InsightsError(f"round() takes one argument here: {self.source!r}")
        if function in AGGREGATES and len(args) != 1:
            raise InsightsError(f"{function}() takes one argument: {self.source!r}")
        return Call(function, tuple(args))

    def named_list(self) -> tuple[Named, ...]:
        """`expr [as name], ...`; an expression without `as` is named by its own text."""
        items: list[Named] = []
        while True:
            first = self.i
            expr = self.expression()
            name = self.text_of(first, self.i)
            if self.accept_word("as"):
                token = self.next("a name")
                if token.kind != "name":
                    raise self.unexpected(token, "a name after `as`")
                name = token.text
            items.append((expr, name))
            if not self.accept(","):
                return tuple(items)

    def text_of(self, first: int, end: int) -> str:
        if end - first == 1 and self.tokens[first].kind == "name":
            return self.tokens[first].text
        return self.query[self.tokens[first].start : self.tokens[end - 1].end]


def _literal_number(text: str) -> int | float:
    return float(text) if "." in text else int(text)


_KEYWORDS = ("and", "or", "in", "like", "as", "by", "asc", "desc", "not")


def parse_query(text: str) -> Query:
    """Parse a query; InsightsError names the first unsupported or malformed piece."""
    commands: list[list[Token]] = [[]]
    for token in _tokens(text):
        if token.kind == "op" and token.text == "|":
            commands.append([])
        else:
            commands[-1].append(token)
    if not all(commands):
        raise InsightsError(f"empty command in {text!r}")
    sources: list[str] = []
    parsed: list[Command] = []
    for tokens in commands:
        parser = _Parser(tokens, text)
        keyword = parser.next("a command")
        if keyword.is_word("source"):
            if parsed:
                raise InsightsError("SOURCE must come before every command")
            name = parser.next("'log group'")
            parser.end()
            if name.kind != "string":
                raise InsightsError(f"unsupported SOURCE clause {parser.source!r}: only 'name'")
            sources.append(name.text)
        else:
            parsed.append(_command(keyword, parser))
    if not parsed:
        raise InsightsError(f"no command in {text!r}")
    return Query(text, tuple(sources), tuple(parsed))


def _command(keyword: Token, parser: _Parser) -> Command:
    name = keyword.text.lower() if keyword.kind == "name" and not keyword.quoted else ""
    if name == "fields":
        items = parser.named_list()
        parser.end()
        for expr, _ in items:
            _no_aggregates(expr, "fields")
        return Fields(items)
    if name == "filter":
        condition = parser.expression()
        parser.end()
        if not isinstance(condition, In | Like) and not (
            isinstance(condition, Binary) and condition.op in _CONDITIONS
        ):
            raise InsightsError(f"filter needs a condition: {parser.source!r}")
        _no_aggregates(condition, "filter")
        return Filter(condition)
    if name == "parse":
        return _parse_command(parser)
    if name == "stats":
        aggregates = parser.named_list()
        groups = parser.named_list() if parser.accept_word("by") else ()
        parser.end()
        for expr, _ in aggregates:
            _check_stats(expr, parser.source, inside=False)
        for expr, _ in groups:
            _no_aggregates(expr, "stats ... by")
        return Stats(aggregates, groups)
    if name == "sort":
        keys: list[tuple[Expr, bool]] = []
        while True:
            key = parser.expression()
            direction = parser.accept_word("asc", "desc")
            if direction is None:
                raise InsightsError(f"sort needs asc or desc after each key: {parser.source!r}")
            keys.append((key, direction == "desc"))
            if not parser.accept(","):
                break
        parser.end()
        return Sort(tuple(keys))
    if name == "limit":
        token = parser.next("a number")
        parser.end()
        if token.kind != "number" or "." in token.text or int(token.text) < 1:
            raise InsightsError(f"limit takes a positive whole number: {parser.source!r}")
        return Limit(int(token.text))
    raise InsightsError(f"unsupported command {keyword.text!r} in {parser.source!r}")


def _parse_command(parser: _Parser) -> Parse:
    source = parser.next("a field")
    if source.kind != "name":
        raise InsightsError(f"parse needs a field first: {parser.source!r}")
    pattern = parser.next("a 'glob' pattern")
    if pattern.kind != "string":
        raise InsightsError(f"unsupported parse pattern {pattern.text!r}: only 'glob with *'")
    if not parser.accept_word("as"):
        raise InsightsError(f"parse needs `as name, ...`: {parser.source!r}")
    names: list[str] = []
    while True:
        token = parser.next("a name")
        if token.kind != "name":
            raise parser.unexpected(token, "a name")
        names.append(token.text)
        if not parser.accept(","):
            break
    parser.end()
    pieces = pattern.text.split("*")
    if len(pieces) - 1 != len(names):
        raise InsightsError(
            f"parse pattern has {len(pieces) - 1} wildcard(s) for {len(names)} name(s): "
            f"{parser.source!r}"
        )
    groups = ["(.*?)"] * (len(pieces) - 1)
    if pattern.text.endswith("*"):
        groups[-1] = "(.*)"  # a trailing wildcard takes the rest of the value
    regex = re.escape(pieces[0]) + "".join(
        g + re.escape(p) for g, p in zip(groups, pieces[1:], strict=True)
    )
    return Parse(Field(source.text), re.compile(regex, re.DOTALL), tuple(names))


def _no_aggregates(expr: Expr, where: str) -> None:
    if isinstance(expr, Call) and expr.function in AGGREGATES:
        raise InsightsError(f"aggregate {expr.function}() is only allowed in stats, not {where}")
    for child in _children(expr):
        _no_aggregates(child, where)


def _check_stats(expr: Expr, command: str, inside: bool) -> None:
    """Every field of a stats expression sits inside exactly one aggregate."""
    if isinstance(expr, Call) and expr.function in AGGREGATES:
        if inside:
            raise InsightsError(f"nested aggregates in {command!r}")
        if isinstance(expr.args[0], Star) and expr.function != "count":
            raise InsightsError(f"{expr.function}(*) is not supported: {command!r}")
        for child in expr.args:
            _check_stats(child, command, inside=True)
        return
    if isinstance(expr, Field) and not inside:
        raise InsightsError(f"stats uses {expr.name} outside an aggregate function: {command!r}")
    if isinstance(expr, Star) and not inside:
        raise InsightsError(f"* outside count(*): {command!r}")
    for child in _children(expr):
        _check_stats(child, command, inside)


def _children(expr: Expr) -> tuple[Expr, ...]:
    if isinstance(expr, Call):
        return expr.args
    if isinstance(expr, Binary):
        return (expr.left, expr.right)
    if isinstance(expr, In | Like):
        return (expr.operand,)
    return ()


# ---- values -------------------------------------------------------------------------------------


def flatten(event: Mapping[str, Any]) -> Record:
    """An event as Logs Insights discovers it: dotted leaf names, array items as `.0.`, JSON null
    kept as None (so the name exists), booleans as "true"/"false", plus @timestamp, @message."""
    record: Record = {}

    def walk(value: Any, prefix: str) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(item, f"{prefix}{key}.")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{prefix}{index}.")
        elif isinstance(value, bool):
            record[prefix[:-1]] = "true" if value else "false"
        elif value is None or isinstance(value, str | int | float):
            record[prefix[:-1]] = value
        else:
            record[prefix[:-1]] = str(value)

    walk(event, "")
    record["@timestamp"] = _timestamp(event.get("time"))
    record["@message"] = json.dumps(event, separators=(",", ":"), default=str)
    return record


def _timestamp(value: Any) -> Timestamp | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Timestamp(int(value))
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return Timestamp(round(moment.timestamp() * 1000))
    return None


def display(value: Value) -> str:
    """A value as a results table shows it (null: empty)."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def _number(value: Value) -> int | float | None:
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        for kind in (int, float):
            try:
                number = kind(value)
            except ValueError:
                continue
            return number if math.isfinite(number) else None
    return None


def _equal(left: Value, right: Value) -> bool:
    """Numbers compare as numbers (a numeric string equals the number it spells), text as
    text. Null equals nothing."""
    if left is None or right is None:
        return False
    if isinstance(left, int | float) or isinstance(right, int | float):
        a, b = _number(left), _number(right)
        if a is not None and b is not None:
            return a == b
    return str(left) == str(right)


def _arithmetic(op: str, left: Value, right: Value) -> Value:
    a, b = _number(left), _number(right)
    if a is None or b is None:
        return None
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return a / b if b else None


def _round(value: Value) -> Value:
    number = _number(value)
    if number is None:
        return None
    return int(math.copysign(math.floor(abs(number) + 0.5), number))  # halves away from zero


# ---- evaluation ---------------------------------------------------------------------------------


def _evaluate(expr: Expr, record: Record) -> Value:
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, Field):
        return record.get(expr.name)
    if isinstance(expr, Binary):
        if expr.op in ("and", "or"):
            left = _evaluate(expr.left, record) is True
            if expr.op == "and":
                return left and _evaluate(expr.right, record) is True
            return left or _evaluate(expr.right, record) is True
        a, b = _evaluate(expr.left, record), _evaluate(expr.right, record)
        if expr.op == "=":
            return _equal(a, b)
        if expr.op == "!=":
            return a is not None and b is not None and not _equal(a, b)
        return _arithmetic(expr.op, a, b)
    if isinstance(expr, In):
        value = _evaluate(expr.operand, record)
        return any(_equal(value, v) for v in expr.values)
    if isinstance(expr, Like):
        value = _evaluate(expr.operand, record)
        return value is not None and expr.pattern.search(display(value)) is not None
    if isinstance(expr, Call):
        return _scalar(expr.function, [_evaluate(a, record) for a in expr.args])
    raise InsightsError("* is only allowed in count(*)")


def _scalar(function: str, args: list[Value]) -> Value:
    if function == "concat":
        return None if any(a is None for a in args) else "".join(display(a) for a in args)
    if function == "coalesce":
        return next((a for a in args if a is not None), None)
    if function == "round":
        return _round(args[0])
    raise InsightsError(f"aggregate {function}() is only allowed in stats")


def _evaluate_group(expr: Expr, records: Sequence[Record]) -> Value:
    """A stats expression over one group: aggregates reduce the group, the rest combines them."""
    if isinstance(expr, Call) and expr.function in AGGREGATES:
        return _aggregate(expr, records)
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, Binary) and expr.op not in _CONDITIONS:
        a, b = _evaluate_group(expr.left, records), _evaluate_group(expr.right, records)
        return _arithmetic(expr.op, a, b)
    if isinstance(expr, Call):
        return _scalar(expr.function, [_evaluate_group(a, records) for a in expr.args])
    raise InsightsError(f"unsupported stats expression {expr!r}")


def _aggregate(call: Call, records: Sequence[Record]) -> Value:
    argument = call.args[0]
    if isinstance(argument, Star):
        return len(records)
    pairs = [(r, v) for r in records if (v := _evaluate(argument, r)) is not None]
    values = [v for _, v in pairs]
    if call.function == "count":
        return len(values)
    if call.function == "count_distinct":
        return len({display(v) for v in values})
    if call.function == "latest":
        if not pairs:
            return None
        newest = max(range(len(pairs)), key=lambda i: (_ms(pairs[i][0]), i))
        return pairs[newest][1]
    numbers = [n for v in values if (n := _number(v)) is not None]
    if call.function == "sum":
        return sum(numbers) if numbers else None
    if call.function == "avg":
        return sum(numbers) / len(numbers) if numbers else None
    if not values:
        return None
    pick = max if call.function == "max" else min
    if len(numbers) == len(values):  # keep the value itself (a Timestamp stays one)
        return pick(values, key=lambda v: _number(v) or 0)
    return pick(values, key=display)


def _ms(record: Record) -> int:
    value = record.get("@timestamp")
    return int(value) if isinstance(value, int) else -1


# ---- running a query ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    columns: tuple[str, ...]
    rows: tuple[Record, ...]


def run(
    query: str | Query, events: Iterable[Mapping[str, Any]], log_group: str | None = None
) -> Result:
    """Run `query` over `events`. With `log_group`, the query's SOURCE clauses (if any) must name
    it: a dashboard widget that reads another log group is an error, not an empty table."""
    parsed = parse_query(query) if isinstance(query, str) else query
    if log_group is not None and parsed.sources and log_group not in parsed.sources:
        raise InsightsError(f"query reads {list(parsed.sources)}, not {log_group!r}")
    records = [flatten(event) for event in events]
    columns: list[str] = []
    for command in parsed.commands:
        if isinstance(command, Fields):
            for record in records:
                record.update({name: _evaluate(expr, record) for expr, name in command.items})
            columns += [name for _, name in command.items if name not in columns]
        elif isinstance(command, Filter):
            records = [r for r in records if _evaluate(command.condition, r) is True]
        elif isinstance(command, Parse):
            for record in records:
                _apply_parse(command, record)
        elif isinstance(command, Stats):
            records = _stats(command, records)
            columns = [name for _, name in (*command.groups, *command.aggregates)]
        elif isinstance(command, Sort):
            records = _sorted(records, command.keys)
        else:
            records = records[: command.count]
    shown = tuple(columns or ("@timestamp", "@message"))
    return Result(shown, tuple({c: r.get(c) for c in shown} for r in records[:DEFAULT_LIMIT]))


def _apply_parse(command: Parse, record: Record) -> None:
    value = record.get(command.source.name)
    match = command.pattern.search(display(value)) if value is not None else None
    for index, name in enumerate(command.names, 1):
        record[name] = match.group(index) if match else None


def _stats(command: Stats, records: list[Record]) -> list[Record]:
    groups: dict[tuple[str | None, ...], list[Record]] = {}
    keys: dict[tuple[str | None, ...], list[Value]] = {}
    for record in records:
        values = [_evaluate(expr, record) for expr, _ in command.groups]
        key = tuple(None if v is None else display(v) for v in values)
        groups.setdefault(key, []).append(record)
        keys.setdefault(key, values)
    if not command.groups and not records:
        groups[()] = []  # stats without `by` answers one row even over nothing
        keys[()] = []
    out = []
    for key, members in groups.items():
        names = [name for _, name in command.groups]
        row: Record = dict(zip(names, keys[key], strict=True))
        for expr, name in command.aggregates:
            row[name] = _evaluate_group(expr, members)
        out.append(row)
    return out


def _sorted(records: list[Record], keys: tuple[tuple[Expr, bool], ...]) -> list[Record]:
    ordered = list(records)
    for key, descending in reversed(keys):  # stable sorts, least significant key first
        valued = [(r, _evaluate(key, r)) for r in ordered]
        present = [(r, v) for r, v in valued if v is not None]
        present.sort(key=lambda pair: _sort_key(pair[1]), reverse=descending)
        ordered = [r for r, _ in present] + [r for r, v in valued if v is None]
    return ordered


def _sort_key(value: Value) -> tuple[int, float, str]:
    if isinstance(value, int | float):
        return (0, float(value), "")
    return (1, 0.0, display(value))


__all__ = [
    "InsightsError",
    "Query",
    "Result",
    "Timestamp",
    "Value",
    "display",
    "flatten",
    "parse_query",
    "run",
]
