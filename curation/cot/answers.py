"""Each approach's own final answer, and its verdict against the reference (DLCoT label1).

An approach inside a long CoT rarely boxes its result; it says "so the distance is 3√13" or "x = 5". We take the
last answer-like statement of the approach (boxed > "answer is" > concluding "therefore … is/=" sentence), and
let `verifiers.math` decide equivalence with the reference. No statement at all → `incomplete`.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from math import gcd
from typing import Callable, Sequence

from verifiers.math.extract import match_brace
from verifiers.math.normalize import ascii_functions, unicode_to_latex

from .verify import check_pairs

_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
_ANSWER_IS = re.compile(
    r"\b(?:final answer|the answer|answer)\b\s*(?:is|should be|would be|=|:)\s*:?\s*(?P<a>[^\n]{1,160})", re.I
)
_CONCLUDE = re.compile(
    r"(?:^|(?<=[.!?:])\s+|\n)\s*(?:\*\*)?(?:so|therefore|thus|hence|that means|this means|which means|"
    r"consequently|finally|then)\b,?\s*(?P<body>[^\n]{0,240})",
    re.I,
)
_COPULA = re.compile(r"\s(?:is|are|equals|would be|should be|must be|comes out to|turns out to be)\s+|\s*=\s*")
_STOP_AT = re.compile(
    r"(?<!\\)(?:\.\s|\.$|,\s+[A-Za-z]{2,}|;|\n| because | since | but | which | when | if | for all | where )"
)
_NUMERIC = re.compile(r"[\d\\$]|\b(?:sqrt|pi|infinity|frac)\b", re.I)
_TRAIL = re.compile(r"\s*(?:units?|square units|degrees|cm|meters?|dollars)?\s*[.,;:!]*\s*$", re.I)
_BAD_TAIL = re.compile(r"\b(?:correct|right|wrong|positive|negative|possible|true|false|valid|the same)\b", re.I)


def last_boxed(text: str) -> str | None:
    found = None
    for m in _BOX.finditer(text):
        close = match_brace(text, m.end() - 1)
        if close != -1:
            found = text[m.end() : close].strip()
    return found


_LEADING = re.compile(r"^(?:approximately|about|roughly|exactly|just|only|still|equal to|now|also|indeed)\s+", re.I)
# "4 + 5 \equiv 9 \mod 11": the residue the congruence chain ends on
_CONGRUENCE = re.compile(r".*(?:\\equiv|≡)\s*", re.S)
_MOD_TAIL = re.compile(r"\s*\(?\s*\\?(?:pmod|bmod|mod)\s*\{?\s*\d+\s*\}?\s*\)?\s*$")
_MATH_WORDS = re.compile(
    r"^(?:sqrt|pi|frac|dfrac|cdot|times|text|mathrm|left|right|infty|infinity|and|or|sin|cos|tan|log|ln|cup|cap|"
    r"le|ge|leq|geq|pm|circ|mod|pmod|boxed|begin|end|pmatrix|bmatrix|vmatrix|matrix|array|cases|binom)$",
    re.I,
)
_OPEN_TEXT = re.compile(r"\\(?:text|textbf|textit|mathrm|mbox)\s*\{\s*$")


def _math_prefix(ans: str) -> str:
    """Cut an answer at the first ordinary word: '7 inches' -> '7', '45 ways to choose' -> '45'."""
    for m in re.finditer(r"(?<![\\A-Za-z])[A-Za-z]{3,}|(?<=\s)(?:in|of|to|at|on|by|as)(?=\s)", ans):
        if not _MATH_WORDS.match(m.group(0)):
            return _OPEN_TEXT.sub("", ans[: m.start()]).strip()  # "204 \text{ minutes}" -> "204"
    return ans


_NUM_WORDS = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen twenty".split()
    )
}
_SYMBOLIC = re.compile(r"[A-Za-z0-9\s+\-*/^().,]{1,20}")


def _clean(ans: str) -> str | None:
    ans = ans.strip().strip("*").strip()
    stop = _STOP_AT.search(ans + " ")
    if stop:
        ans = ans[: stop.start()]
    ans = _LEADING.sub("", ans)
    first = re.match(r"([A-Za-z]+)\b", ans)
    if first and first.group(1).lower() in _NUM_WORDS:
        ans = _NUM_WORDS[first.group(1).lower()]
    if "\\)" in ans and "\\(" not in ans:
        ans = ans[: ans.index("\\)")]
    ans = _math_prefix(ans)
    ans = re.sub(r"\s+[(\[]$", "", ans)  # "5 (" of "5 (units)"
    ans = _TRAIL.sub("", ans).strip().strip("$").strip()
    ans = re.sub(r"^\\\(|\\\)$|^\\\[|\\\]$", "", ans).strip().rstrip(",.;:").strip()
    if "mod" in ans:
        ans = _MOD_TAIL.sub("", _CONGRUENCE.sub("", ans)).strip()
    if not ans or len(ans) > 120:
        return None
    if not _NUMERIC.search(ans):
        # symbolic answers such as "p - q": short, an operator between single-letter names
        if not (_SYMBOLIC.fullmatch(ans) and re.search(r"[+\-*/^]", ans) and not re.search(r"[A-Za-z]{3,}", ans)):
            return None
    return ans


_CONCLUDE_ANY = re.compile(
    r"(?:^|(?<=[.!?:,])\s+|\n)\s*(?:\*\*)?(?:so|therefore|thus|hence|that means|this means|which means|"
    r"consequently|finally|then|which gives|giving|we get|i get)\b,?\s*(?P<body>[^\n]{0,240})",
    re.I,
)
_INLINE_AFTER_COPULA = re.compile(r"(?:\bis|\bare|\bbe|=|:)\s*(?:\\\((?P<a>.+?)\\\)|\$(?P<b>[^$\n]+)\$)")
_DISPLAY_LINE = re.compile(
    r"^\s*(?:\\\[(?P<a>.+?)\\\]|\\\((?P<b>.+?)\\\)|\$\$(?P<c>.+?)\$\$|\$(?P<d>[^$]+)\$)\s*[.,]?\s*$", re.S | re.M
)
_EQ_LINE = re.compile(r"^(?P<line>[^\n]{1,200}=[^\n]{1,200})$", re.M)
_ABANDON = re.compile(
    r"not sure (?:if|that|how)|doesn'?t (?:seem to )?help|not (?:immediately )?helpful|more complicated|overkill|"
    r"doesn'?t seem (?:right|to)|not (?:directly )?useful|a different approach|another approach|approach this differently|"
    r"more involved|prone to error|stick with|that doesn'?t (?:seem|look) right|i made a mistake|"
    r"more straightforward|complicat|not (?:be )?necessary|unnecessar|won'?t work|doesn'?t work|dead end",
    re.I,
)


def _rhs(expr: str) -> str:
    """Right-hand side of the last '=' in the last clause that has one (or the whole expression)."""
    clauses = [c for c in _STOP_AT.split(expr + " ") if c and c.strip()]
    with_eq = [c for c in clauses if "=" in c]
    clause = with_eq[-1] if with_eq else expr
    parts = re.split(r"(?<![<>!\\])=(?!=)", clause)
    if len(parts) > 1 and parts[-1].strip().rstrip(".") == "0" and re.search(r"[A-Za-z]", parts[-2]):
        return ""  # "x^2 - 5x - 14 = 0" states an equation, not a value
    return parts[-1] if len(parts) > 1 else clause


# "9 (x-values) times 7 (y-values), which is 63.": the value the sentence ends on
_WHICH_IS = re.compile(
    r",?\s+(?:which|that|this) (?:is|equals|gives(?: us| me)?|makes|comes (?:out )?to|would be)\s+"
    r"(?P<a>[^\n,;]{1,60}?)\s*(?:[,;]|\.(?:\s|$)|$)",
    re.I | re.M,
)


_CASED = {}  # IGNORECASE pattern -> the same pattern compiled case-sensitively, for lower-cased ASCII text


def _scan(rx: re.Pattern, text: str, low: str | None):
    """`rx.finditer(text)`, 2-3x faster on ASCII text: the case-sensitive pattern over `low` (its lower-cased
    form) matches at the same offsets. Read groups by offset from `text`: the match's own groups are lower case."""
    if low is None:
        return rx.finditer(text)
    if rx not in _CASED:
        _CASED[rx] = re.compile(rx.pattern, rx.flags & ~re.I)
    return _CASED[rx].finditer(low)


def _candidates(text: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    # Exact prefilters for the slow scans (a match needs these words; on ASCII text lower-casing is exact, while
    # IGNORECASE also folds a few non-ASCII letters, so other text is always scanned)
    low = text.lower() if text.isascii() else None
    which = low is None or "which" in low or "that" in low or "this" in low
    for m in _scan(_WHICH_IS, text, low) if which else ():
        raw = _LEADING.sub("", text[m.start("a") : m.end("a")].strip())
        if raw.count("(") > raw.count(")") or raw.count("[") > raw.count("]"):
            continue  # cut at a comma inside a pair or an interval: "which is (0.5, 1)"
        a = _clean(raw) if _math_prefix(raw) == raw else None  # "which is 63", not "which is 3 more than 9"
        if a and "=" in a:
            a = _clean(_rhs(a))  # "which is 2^5 * 2^5 = 1024"
        if a:
            out.append((m.start("a"), a))
    for m in _scan(_ANSWER_IS, text, low) if low is None or "answer" in low else ():
        a = _clean(text[m.start("a") : m.end("a")])
        if a:
            out.append((m.end(), a))
    for m in _scan(_CONCLUDE_ANY, text, low):
        body = text[m.start("body") : m.end("body")]
        cut = re.search(
            r" because | since | so that | which | when | if |,? (?:achieved|attained|reached) (?:at|when)", body
        )
        body = body[: cut.start()] if cut else body
        cop = None
        for c in _COPULA.finditer(body):
            cop = c
        if cop is None:
            continue
        tail = body[cop.end() :]
        if _BAD_TAIL.match(tail.strip()):
            continue
        a = _clean(tail)
        if a:
            out.append((m.start("body") + cop.end(), a))
    for m in _INLINE_AFTER_COPULA.finditer(text) if "$" in text or "\\(" in text else ():
        a = _clean(_rhs(m.group("a") or m.group("b")))
        if a:
            out.append((m.start(), a))
    for m in _DISPLAY_LINE.finditer(text):
        inner = next(g for g in m.groups() if g)
        a = _clean(_rhs(inner))
        if a:
            out.append((m.start(), a))
    for m in _EQ_LINE.finditer(text):
        line = m.group("line")
        if _DISPLAY_LINE.match(line):
            continue
        a = _clean(_rhs(line))
        if a:
            out.append((m.start(), a))
    return out


# "Therefore, in the worst case, it takes five guesses ...": a count stated in prose, with no "is" or "=" to
# anchor it; only read when the approach states no answer any other way
_PROSE_CONCLUSION = re.compile(
    r"(?:^|(?<=[.!?])\s+|\n)\s*(?:therefore|thus|hence|so|in conclusion)\b,?(?P<s>[^.\n]{1,200})", re.I
)
_PROSE_NUMBER = re.compile(r"(?<![\w.\\^_])(?:\d+(?:\.\d+)?|" + "|".join(_NUM_WORDS) + r")(?![\w]|\.\d)", re.I)


def _prose_count(text: str) -> list[tuple[int, str]]:
    off = max(0, len(text) - 1500)
    last = None
    for last in _PROSE_CONCLUSION.finditer(text, off):
        pass
    m = last and _PROSE_NUMBER.search(last.group("s"))
    if not m:
        return []
    word = m.group(0).lower()
    return [(last.start("s") + m.start(), _NUM_WORDS.get(word, word))]


def approach_answer(text: str, problem: str | None = None) -> str | None:
    """The last answer the approach states, or None when it reaches none (or abandons the attempt after it).
    With `problem`, the statement must answer what the question asks (`Ask`), and the final-answer extractor's
    reading of the approach ("Therefore, there are 11 values") is one of the statements."""
    box = last_boxed(text)
    if box:
        return box
    if problem is None:
        cands = _candidates(text) or _prose_count(text)
    else:
        ask = question_ask(problem)
        cands = _candidates(text) + _extracted(text)
        if ask.kind == "count":
            cands = _count_statements(text, ask) + cands
        cands = prefer_ask(cands, ask, text) or _prose_count(text)
    if not cands:
        return None
    pos, ans = max(cands, key=lambda c: c[0])
    if _ABANDON.search(text[pos:]):
        return None
    return ans


# ---- what the question asks -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ask:
    """What a question asks for, as far as an approach's answer must match it: a count ("how many values"), an
    extremum's value ("the maximum value", not where it is reached), an interval, or any value."""

    kind: str  # count | extremum | interval | value
    nouns: tuple[str, ...] = ()  # count: the words after "how many" ("real", "values")


_HOW_MANY = re.compile(
    r"\bhow\s+many\s+((?:[A-Za-z-]+\s+){0,6}?)(?=of\b|are\b|is\b|can\b|do\b|does\b|will\b|would\b|"
    r"must\b|satisf|in\b|have\b|has\b|did\b|were\b|was\b|could\b|should\b|there\b|[?,.$])",
    re.I,
)
_NUMBER_OF = re.compile(
    r"\b(?:find|compute|determine|what is|how many)\s+(?:the\s+)?(?:total\s+)?number\s+of\s+"
    r"((?:[A-Za-z-]+\s+){0,3})",
    re.I,
)
_EXTREMUM_ASK = re.compile(
    r"\b(?:maximum|minimum|largest|smallest|greatest|least|max|min)\s+(?:possible\s+)?value\b", re.I
)
_EXTREMUM_WORD = re.compile(r"\b(?:maxim|minim|largest|smallest|greatest|least|max\b|min\b|highest|lowest)", re.I)
_INTERVAL_ASK = re.compile(r"interval\s+notation", re.I)
_INTERVAL = re.compile(r"[(\[].*,.*[)\]]|\\emptyset|\\varnothing|\\mathbb\s*\{?R|\\infty|\\cup")
_COUNT = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?|" + "|".join(_NUM_WORDS) + r")$", re.I)  # ≥ 0
# "x = -3" / "\\( x = -2.5 \\)": a value assigned to one variable of the problem (a root, an argmax), not a count
_ASSIGNED = re.compile(r"(?<![A-Za-z\\])[A-Za-z]\s*(?:=|\\approx)\s*(?:\\\(|\$)?\s*$")


def question_ask(problem: str | None) -> Ask:
    if not problem:
        return Ask("value")
    m = _HOW_MANY.search(problem) or _NUMBER_OF.search(problem)
    if m:
        words = tuple(w.lower() for w in re.findall(r"[A-Za-z]{3,}", m.group(1)))
        return Ask("count", words)
    if _INTERVAL_ASK.search(problem):
        return Ask("interval")
    if _EXTREMUM_ASK.search(problem):
        return Ask("extremum")
    return Ask("value")


def _assigned(text: str, pos: int, ans: str) -> bool:
    """The statement at `pos` gives `ans` as the value of one variable ('x = -2.5')."""
    at = text.find(ans, max(0, pos - 5), pos + 300)
    return at > 0 and _ASSIGNED.search(text, max(0, at - 12), at) is not None


def answers_ask(ans: str, ask: Ask, text: str, pos: int) -> bool:
    """Whether a stated answer is of the kind the question asks for: a count is a whole number that is not the value
    of a variable; an extremum's value is not where it is reached; an interval question wants an interval."""
    a = ans.strip().strip("$").strip()
    if ask.kind == "count":
        return bool(_COUNT.match(a)) and not _assigned(text, pos, ans)
    if ask.kind == "extremum":
        return not _assigned(text, pos, ans)
    if ask.kind == "interval":
        return bool(_INTERVAL.search(a))
    return True


def prefer_ask(cands: list[tuple[int, str]], ask: Ask, text: str) -> list[tuple[int, str]]:
    """The statements that answer the ask, else all of them: an approach that ends on a root where a count is asked
    stated that root (hand labels call it incorrect, not incomplete); but an approach that only finds where an
    extremum is reached ("x = -2.5" for "the maximum value") states no answer. `DLCoT` reads the last approach's
    answer from the conclusion when its own does not answer the ask (`answers_ask`)."""
    fit = [c for c in cands if answers_ask(c[1], ask, text, c[0])]
    return fit if fit or ask.kind == "extremum" else cands  # where the extremum is reached answers nothing


_STATES = re.compile(
    r"(?:\bis|\bare|\bbe|\bgives?|\bget|\bhave|\bhas|\btotal(?:\s+of)?|\bexactly|\bonly|\bmakes?|=|:)"
    r"\s*(?:\\\(|\$)?\s*$",
    re.I,
)


def answer_fits(text: str, ans: str, ask: Ask) -> bool:
    """`answers_ask` for an answer already read from `text` (found at its last occurrence)."""
    return answers_ask(ans, ask, text, max(0, text.rfind(ans) - 5))


_ONE_VAR = re.compile(r"^\s*[A-Za-z]\s*=\s*(?=\S)(?!.*=)")


def concluded_answer(rest: str, ask: Ask) -> str | None:
    """The final answer of the text after a trace's last approach (its checks and conclusion, then the visible
    answer), read by the final-answer extractor: what the last approach concluded when it does not state it."""
    from verifiers.math.extract import extract

    got = extract(rest, last_number="never")
    if got.answer is None or got.source not in ("boxed", "final_answer", "bold", "conclusion"):
        return None
    a = got.answer.strip() if got.source == "boxed" else _clean(got.answer)
    if a:
        a = _ONE_VAR.sub("", a, count=1)  # "b = -1": the value of the variable asked for
    return a if a and answer_fits(rest, a, ask) else None


_ADJECTIVES = {
    "real",
    "different",
    "distinct",
    "possible",
    "positive",
    "negative",
    "integer",
    "ordered",
    "perfect",
    "nonnegative",
    "complex",
    "such",
}
_NOT_NOUNS = {"less", "more", "than", "that", "the", "with", "from", "and", "for", "greater", "smaller", "between"}


def _count_statements(text: str, ask: Ask) -> list[tuple[int, str]]:
    """'which is 11 values', 'there are two such integers': a whole number followed (within three words) by the
    thing the question counts."""
    nouns = [w for w in ask.nouns if w not in _NOT_NOUNS]
    stems = {w.rstrip("s") for w in nouns if w not in _ADJECTIVES} or {w.rstrip("s") for w in nouns}
    if not stems:
        return []
    noun = "|".join(re.escape(w) for w in sorted(stems))
    rx = re.compile(
        r"(?<![\w.\\^_,-])(\d{1,3}(?:,\d{3})+|\d+|"
        + "|".join(_NUM_WORDS)
        + r")\s*(?:\\\)|\$)?\s+(?:[A-Za-z-]+\s+){0,3}?(?:"
        + noun
        + r")(?:e?s)?\b",
        re.I,
    )
    out = []
    for m in rx.finditer(text):
        if not _STATES.search(text, max(0, m.start(1) - 30), m.start(1)):
            continue  # "for 3 digits of 8^5 ...": a number in passing, not a stated count
        word = m.group(1).lower()
        out.append((m.start(1), _NUM_WORDS.get(word, word)))
    return out


def _extracted(text: str) -> list[tuple[int, str]]:
    """The final-answer extractor's reading of the text (verifiers.math.extract), as a stated answer."""
    from verifiers.math.extract import extract

    got = extract(text, last_number="never")
    if got.answer is None or got.span is None or got.source not in ("final_answer", "bold"):
        return []
    a = _clean(got.answer)
    return [(got.span[0], a)] if a else []


_LATEX_CMD = re.compile(r"\\[A-Za-z]+")
_LETTER = re.compile(r"[A-Za-z]")
_RELATION = re.compile(r"=|<|>|\\(?:le|ge|leq|geq|neq|ne|approx|in|subset)(?![A-Za-z])")
_OPEN_END = re.compile(r"(?:[-+*/^=(\[{,]|\\)\s*$")


def not_final(answer: str, reference: str | None) -> str | None:
    """Why an extracted statement is not a final answer to the problem (None: it can be one). An abandoned
    approach often ends on an intermediate expression ('25x^2 u^2', 'G(s)^n') or a cut-off fragment ('(0.5');
    DLCoT calls such an approach incomplete, not incorrect. Judged against the reference's own shape."""
    a = latexify(answer.strip())
    # unbalanced; "(" and "[" count together because half-open intervals such as "(-2, 3]" mix them
    rounds = a.count("(") + a.count("[") - a.count(")") - a.count("]")
    if a.count("{") != a.count("}") or rounds or _OPEN_END.search(a):
        return "fragment"
    if reference is None:
        return None
    ref = reference.strip()
    letters = set(_LETTER.findall(_LATEX_CMD.sub(" ", a))) - {"e", "i"}
    ref_letters = set(_LETTER.findall(_LATEX_CMD.sub(" ", ref)))
    if letters - ref_letters and not ref_letters:
        return "unknowns left"  # the reference is a value, the statement still has unknowns
    if _RELATION.search(a) and not _RELATION.search(ref):
        return "relation"
    return None


@dataclass
class ApproachVerdict:
    approach: int
    answer: str | None
    verdict: str  # correct | incorrect | incomplete | unchecked
    note: str | None = None  # why a stated answer was not taken as final (→ incomplete)
    stated_in: str = "approach"  # "conclusion": read after the last approach (it states no answer to the ask)
    own_answer: str | None = None  # the approach's own statement when `stated_in` is "conclusion"


def approach_verdicts(
    approaches: dict[int, str],
    reference: str | None,
    workers: int = 2,
    timeout_ms: int = 3000,
    checker: Callable[[Sequence[tuple[str, str]]], list[bool | None]] | None = None,
    abandoned: frozenset[int] | set[int] = frozenset(),
    problem: str | None = None,
) -> list[ApproachVerdict]:
    """Verdict per approach text. Without a reference, answers are still extracted but marked `unchecked`.
    `abandoned`: approaches the trace replaced by another method without checking them (see `judge_answers`);
    `problem`: lets a fraction count in the form the problem asks for (`in_asked_form`)."""
    out = [ApproachVerdict(k, approach_answer(t, problem), "incomplete") for k, t in sorted(approaches.items())]
    return judge_answers(out, reference, workers, timeout_ms, checker, abandoned, problem)


def judge_answers(
    items: list[ApproachVerdict],
    reference: str | None,
    workers: int = 2,
    timeout_ms: int = 3000,
    checker: Callable[[Sequence[tuple[str, str]]], list[bool | None]] | None = None,
    abandoned: frozenset[int] | set[int] = frozenset(),
    problem: str | None = None,
) -> list[ApproachVerdict]:
    """Check each stated final answer against the reference (see `screen` and `settle`)."""
    todo = screen(items, reference)
    if reference is None:
        for v in todo:
            v.verdict = "unchecked"
        return items
    if todo:
        check = checker or (lambda pairs: check_pairs(pairs, workers=workers, timeout_ms=timeout_ms))
        results = check([(reference, as_prediction(checked_answer(v, problem))) for v in todo])
        for v, ok in zip(todo, results):
            settle(v, bool(ok), abandoned)
    return items


def screen(items: list[ApproachVerdict], reference: str | None) -> list[ApproachVerdict]:
    """The items whose stated answer can be a final answer (those go to the verifier); the others stay
    `incomplete` with a note saying why (`not_final`)."""
    for v in items:
        if v.answer is not None and (why := not_final(v.answer, reference)):
            v.note = f"not a final answer ({why}): {v.answer[:60]}"
    return [v for v in items if v.answer is not None and v.note is None]


def settle(v: ApproachVerdict, ok: bool, abandoned: frozenset[int] | set[int] = frozenset()) -> None:
    """The verdict from the verifier's answer. A wrong value in an approach the trace abandoned (the next part
    is another method, not a check of this one) is an intermediate result, so the approach is `incomplete`
    (DLCoT: it reaches no final answer); a right one still makes it `correct`."""
    v.verdict = "correct" if ok else "incorrect"
    if not ok and v.approach in abandoned:
        v.verdict, v.note = "incomplete", f"abandoned for another approach after {v.answer[:60]}"


def latexify(answer: str) -> str:
    """Plain-text and unicode math as written inside thoughts ('3*sqrt(13)', '2pi', '√3') in LaTeX; the verifier's
    own normalizers, so answers are read here exactly as `verifiers.math` reads them."""
    return ascii_functions(unicode_to_latex(answer))


# "... can be written in the form $\frac{m}{n}$, where m and n are relatively prime positive integers. What is $m+n$?"
_FORM_M_N = re.compile(r"\\[dt]?frac\s*\{?\s*m\s*\}?\s*\{?\s*n\s*\}?|\bm\s*/\s*n\b")
_ASKED_M_N = re.compile(r"\b(?:what is|find|compute|determine)\s*\$\s*([mn0-9+\-^*{}\s]*[mn][mn0-9+\-^*{}\s]*)\$", re.I)
_FRACTION = re.compile(r"^\s*\(?\s*(?:\\[dt]?frac\s*\{\s*(\d+)\s*\}\s*\{\s*(\d+)\s*\}|(\d+)\s*/\s*(\d+))\s*\)?\s*\.?$")


def in_asked_form(answer: str | None, problem: str | None) -> str | None:
    """The value the problem asks for when it asks for an expression of a fraction's numerator and denominator
    (AMC/AIME: "the answer is m/n ... What is m + n?") and the approach states the fraction: 1/6 → 7. An approach
    that reaches the fraction has solved the problem; the conversion is often written only after its checks."""
    if not answer or not problem or not _FORM_M_N.search(problem):
        return None
    asked, frac = _ASKED_M_N.search(problem), _FRACTION.match(answer)
    if asked is None or frac is None:
        return None
    a, b = (int(x) for x in (frac.group(1, 2) if frac.group(1) else frac.group(3, 4)))
    if b == 0:
        return None
    g = gcd(a, b)
    m, n = a // g, b // g
    expr = re.sub(r"\s+", "", asked.group(1)).replace("{", "(").replace("}", ")").replace("^", "**")
    expr = re.sub(r"(\d)([mn(])", r"\1*\2", expr)  # 100m + n
    expr = re.sub(r"([mn)])([mn(])", r"\1*\2", expr)  # mn
    if not re.fullmatch(r"[mn0-9+\-*()]+", expr):
        return None
    value = _arith(expr, {"m": m, "n": n})
    return str(value) if value is not None else None


def _arith(expr: str, names: dict[str, int]) -> int | None:
    """Integer value of + - * ** over names and literals (exponents up to 10), None for anything else; parsed
    with `ast`, never evaluated as code."""
    try:
        tree = ast.parse(expr, mode="eval").body
    except SyntaxError:
        return None
    ops = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b}

    def ev(node) -> int | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name):
            return names.get(node.id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            x = ev(node.operand)
            return None if x is None else (-x if isinstance(node.op, ast.USub) else x)
        if isinstance(node, ast.BinOp):
            a, b = ev(node.left), ev(node.right)
            if a is None or b is None:
                return None
            if isinstance(node.op, ast.Pow):
                return a**b if 0 <= b <= 10 else None
            op = ops.get(type(node.op))
            return op(a, b) if op else None
        return None

    return ev(tree)


def checked_answer(v: "ApproachVerdict", problem: str | None) -> str:
    """What goes to the verifier for an approach: its answer in the form the problem asks for (noted on `v`)."""
    asked = in_asked_form(v.answer, problem)
    if asked is None:
        return v.answer
    v.note = f"{v.answer} in the asked form: {asked}"
    return asked


def as_prediction(answer: str) -> str:
    """Wrap a bare answer so the verifier's extractor takes all of it."""
    answer = latexify(answer)
    depth = 0
    for c in answer:
        depth += c == "{"
        depth -= c == "}"
        if depth < 0:
            return answer
    return f"\\boxed{{{answer}}}" if depth == 0 else answer
