"""Turn an extracted answer into canonical LaTeX: unicode math, LaTeX noise, units, currency, percent, words.

Everything here is string rewriting (no sympy), so it is cheap and safe on any input size.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from fractions import Fraction

_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻", "0123456789+-")
_SUP_RUN = re.compile(r"[⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻]+")
_VULGAR = {
    "½": (1, 2),
    "⅓": (1, 3),
    "⅔": (2, 3),
    "¼": (1, 4),
    "¾": (3, 4),
    "⅕": (1, 5),
    "⅖": (2, 5),
    "⅗": (3, 5),
    "⅘": (4, 5),
    "⅙": (1, 6),
    "⅚": (5, 6),
    "⅐": (1, 7),
    "⅛": (1, 8),
    "⅜": (3, 8),
    "⅝": (5, 8),
    "⅞": (7, 8),
    "⅑": (1, 9),
    "⅒": (1, 10),
}
_UNICODE_MATH = {
    "−": "-",
    "–": "-",
    "—": "-",
    "×": r"\times ",
    "÷": r"\div ",
    "·": r"\cdot ",
    "⋅": r"\cdot ",
    "∙": r"\cdot ",
    "∞": r"\infty ",
    "π": r"\pi ",
    "≤": r"\le ",
    "≥": r"\ge ",
    "≠": r"\ne ",
    "±": r"\pm ",
    "∓": r"\mp ",
    "∪": r"\cup ",
    "∩": r"\cap ",
    "∅": r"\emptyset ",
    "°": r"^\circ ",
    "∈": r"\in ",
    "θ": r"\theta ",
    "α": r"\alpha ",
    "β": r"\beta ",
    "≈": r"\approx ",
    "′": "'",
    "⁄": "/",
    "∕": "/",
    "\u2009": " ",
    "\u202f": " ",
    "\u00a0": " ",
    "\u2007": " ",
    "\u200b": "",
}
_UNICODE_RE = re.compile("|".join(map(re.escape, _UNICODE_MATH)))


def unicode_to_latex(s: str) -> str:
    if s.isascii():  # every rewrite below needs a non-ASCII character (and NFKC leaves ASCII alone)
        return s
    for ch, (a, b) in _VULGAR.items():
        if ch in s:
            # "3½" is a mixed number
            s = re.sub(rf"(\d)\s*{ch}", rf"(\1+\\frac{{{a}}}{{{b}}})", s)
            s = s.replace(ch, rf"\frac{{{a}}}{{{b}}}")
    s = _SUP_RUN.sub(lambda m: "^{" + m.group(0).translate(_SUPERSCRIPTS) + "}", s)
    s = re.sub(
        r"√\s*(\d+(?:\.\d+)?|[A-Za-z]|\([^()]*\)|\{[^{}]*\})", lambda m: r"\sqrt{" + m.group(1).strip("{}") + "}", s
    )
    s = s.replace("√", r"\sqrt")
    s = re.sub(r"∛\s*(\d+|[A-Za-z]|\([^()]*\))", r"\\sqrt[3]{\1}", s)
    s = _UNICODE_RE.sub(lambda m: _UNICODE_MATH[m.group(0)], s)
    return unicodedata.normalize("NFKC", s)


_NUM_WORDS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}


def words_to_number(s: str):
    """'one hundred twenty-three' -> 123; None if s is not entirely a number in words."""
    toks = re.split(r"[\s-]+", s.strip().lower().replace(" and ", " "))
    if not toks or not toks[0]:
        return None
    neg = False
    if toks[0] in ("minus", "negative"):
        neg, toks = True, toks[1:]
    total, cur, seen = 0, 0, False
    for t in toks:
        if t in _NUM_WORDS:
            cur += _NUM_WORDS[t]
        elif t == "hundred":
            cur = max(cur, 1) * 100
        elif t in _SCALES:
            total += max(cur, 1) * _SCALES[t]
            cur = 0
        else:
            return None
        seen = True
    if not seen:
        return None
    v = total + cur
    return -v if neg else v


def repeating_decimal(int_part: str, nonrep: str, rep: str) -> Fraction:
    """0.1(6) -> 1/6: exact value of a repeating decimal."""
    sign = -1 if int_part.strip().startswith("-") else 1
    ip = int(int_part.strip().lstrip("-") or 0)
    a = int(nonrep or 0)
    b = int(rep)
    n, r = len(nonrep), len(rep)
    frac = Fraction(a, 10**n) + Fraction(b, 10**n * (10**r - 1))
    return sign * (ip + frac)


_REPEAT = re.compile(r"(-?\d*)\.(\d*)\s*(?:\\overline|\\dot|\\bar)\s*\{(\d+)\}")
_REPEAT_PAREN = re.compile(r"^(-?\d*)\.(\d*)\((\d+)\)$")

_TEXT_CMDS = re.compile(
    r"\\(?:text|textbf|textit|textrm|textnormal|mathrm|mathbf|mathit|mbox|operatorname|mathsf|rm|bf)\s*\{"
)

_UNITS = (
    r"square\s+(?:units|feet|meters|inches|centimeters|cm|m|miles)|cubic\s+(?:units|feet|meters|inches|centimeters|cm)|"
    r"units?|cm|mm|km|m|meters?|metres?|centimeters?|kilometers?|miles?|feet|foot|ft|inches|inch|in\.|yards?|"
    r"hours?|hrs?|minutes?|mins?|seconds?|secs?|s|days?|weeks?|months?|years?|grams?|g|kg|kilograms?|pounds?|lbs?|ounces?|oz|"
    r"liters?|litres?|l|ml|gallons?|mph|km/h|kph|m/s|dollars?|cents?|euros?|yuan|rupees?|degrees?|deg|"
    r"people|students|ways|points|apples|cookies|marbles|books|boxes|times|sq|grade|place|term"
)
_UNIT_AFTER_NUM = re.compile(rf"(?<=[\d}}.)])\s*(?:{_UNITS})\b(?:\s*\^\s*\{{?\d\}}?|[²³])?", re.I)


def unwrap_text(s: str) -> str:
    """\\text{abc} -> abc (keeps content, drops the command)."""
    for _ in range(20):
        m = _TEXT_CMDS.search(s)
        if not m:
            break
        depth, i = 1, m.end()
        while i < len(s) and depth:
            if s[i] == "{":
                depth += 1
            elif s[i] == "}":
                depth -= 1
            i += 1
        inner = s[m.end() : i - 1] if depth == 0 else s[m.end() :]
        s = s[: m.start()] + " " + inner + " " + s[i:]
    return s


_ASCII_FUNC = re.compile(r"(?<![\\a-zA-Z])(sqrt|cbrt)\s*\(")
_ASCII_CONST = re.compile(r"(?<![\\a-zA-Z])(pi|infty|inf)(?![a-zA-Z])")


def ascii_functions(s: str) -> str:
    """Plain-text math as models write it in long CoT (`3*sqrt(13)`, `2pi`) → LaTeX the parser reads; without this
    `sqrt(13)` parses as the product s*q*r*t*13. (The substring tests skip the regexes on text that cannot
    match them: most of a long trace, which the segmenter normalises paragraph by paragraph.)"""
    out, i = [], 0
    while ("sqrt" in s or "cbrt" in s) and (m := _ASCII_FUNC.search(s, i)) is not None:
        depth, j = 1, m.end()
        while j < len(s) and depth:
            depth += {"(": 1, ")": -1}.get(s[j], 0)
            j += 1
        if depth:  # unbalanced: leave it to the parser to reject
            break
        inner = ascii_functions(s[m.end() : j - 1])
        out.append(s[i : m.start()] + (rf"\sqrt{{{inner}}}" if m.group(1) == "sqrt" else rf"\sqrt[3]{{{inner}}}"))
        i = j
    s = "".join(out) + s[i:]
    if "pi" not in s and "inf" not in s:
        return s
    return _ASCII_CONST.sub(lambda m: r"\pi" if m.group(1) == "pi" else r"\infty", s)


_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def normalize(s: str) -> tuple[str, dict]:
    """Canonical LaTeX for an answer plus flags noticed on the way ({'percent': True, ...}).

    A plain number (most answers) is already canonical: none of the rewrites below changes one, so it skips them
    (tested against the full chain). Other answers are memoized: a GRPO batch repeats its golds and answers."""
    if _PLAIN_NUMBER.fullmatch(s):
        return s, {}
    out, flags = _normalize_cached(s)
    return out, dict(flags)


@functools.lru_cache(maxsize=8192)
def _normalize_cached(s: str) -> tuple[str, dict]:
    return normalize_full(s)


def normalize_full(s: str) -> tuple[str, dict]:
    """The whole rewrite chain, uncached (normalize's reference)."""
    flags: dict = {}
    s = unicode_to_latex(s)
    s = re.sub(
        r"(?<!\\)\\\\(?=[a-zA-Z]{2,})(?!hline|end\{|begin\{)", lambda m: "\\", s
    )  # '\\le' written with an escaped backslash
    s = s.replace("\n", " ").replace("\t", " ")
    s = re.sub(r"\\\\(?=\s*$)|\\\\\s*(?=\\end\{)", "", s)
    s = re.sub(r"(?<!\\)\\\s*$", "", s)  # a stray trailing backslash ('5\\')
    s = re.sub(r"\\bmod(?![a-zA-Z])", r"\\mod", s)
    # '17\\text{ any text}': words after a number are a label, not variables (connectors like 'and' stay)
    s = re.sub(
        r"(?<=[\d}])\s*\\(?:text|mbox|textrm|mathrm)\s*\{\s*(?!(?:and|or)\s*\})(?=[^{}]*[A-Za-z]{2})[A-Za-z][A-Za-z\s.,'-]*\}\s*$",
        "",
        s,
    )
    s = s.strip().strip("$").strip()
    s = re.sub(r"^\\\(|\\\)$|^\\\[|\\\]$", "", s).strip()
    s = re.sub(r"\\(?:boxed|fbox)\s*\{", "{", s)
    s = re.sub(
        r"\\(?:left|right|big|Big|bigg|Bigg)(?![a-zA-Z])\s*\\?([()\[\]|.{}])",
        lambda m: "" if m.group(1) == "." else ("\\" + m.group(1) if m.group(1) in "{}" else m.group(1)),
        s,
    )
    s = re.sub(r"\\(?:left|right)(?![a-zA-Z])", "", s)
    s = re.sub(r"\\[dtc]frac", r"\\frac", s)
    s = re.sub(r"\\displaystyle|\\limits|\\nolimits|\\mathstrut", "", s)
    # thousands separators: 12{,}345 ; 12,\!345 ; 12\,345 ; 12 345 (only in a plain number)
    s = re.sub(r"(\d)\s*\{,\}\s*(?=\d)", r"\1", s)
    s = re.sub(r"(\d),\\!\s*(?=\d{3})", r"\1", s)
    s = re.sub(r"(\d)\\[,:;!]\s*(?=\d{3}(?!\d))", r"\1", s)
    s = re.sub(r"\\q?quad|(?<!\\)\\[,:;! ]|~", " ", s)  # not the row break '\\\\ ' of a matrix
    s = re.sub(r"\\(?:mathrm|text|operatorname)\s*\{\s*(?:e)\s*\}", "e", s)
    # degrees, percent, currency
    s, n = re.subn(r"\^\s*\{?\s*\\circ\s*\}?|\\degree|\^\s*\{\s*o\s*\}", "", s)
    if n:
        flags["degrees"] = True
    s = unwrap_text(s)
    s = re.sub(
        r"(?<=\d)\s*(?:\^\s*\{\s*(?:st|nd|rd|th)\s*\}|\^\s*(?:st|nd|rd|th)\b|(?:st|nd|rd|th)\b)", "", s
    )  # 12^{th}
    s, n = re.subn(r"\\%|%|\bpercentage\b|\bpercent\b|\bpct\b", "", s)
    if n:
        flags["percent"] = True
    s = re.sub(r"\\\$|\$|€|£|¥|\bUSD\b|\bEUR\b|\bRs\.?", "", s)
    s = re.sub(r"\\(?:varnothing|emptyset)|\\\{\s*\\\}|\bempty set\b|\bno solutions?\b", r"\\emptyset", s, flags=re.I)
    s = _UNIT_AFTER_NUM.sub("", s)
    s = re.sub(r"\^\s*\{?\s*\\prime\s*\}?|'", "", s) if re.search(r"\d\s*'", s) else s
    # operators written in ascii
    s = (
        s.replace(">=", r"\ge ")
        .replace("<=", r"\le ")
        .replace("!=", r"\ne ")
        .replace("=<", r"\le ")
        .replace("=>", r"\ge ")
    )
    s = re.sub(r"\\(?:leqslant|leq)(?![a-zA-Z])", r"\\le", s)
    s = re.sub(r"\\(?:geqslant|geq)(?![a-zA-Z])", r"\\ge", s)
    s = re.sub(r"\\(?:neq)(?![a-zA-Z])", r"\\ne", s)
    s = re.sub(r"\\lt(?![a-zA-Z])", "<", s)
    s = re.sub(r"\\gt(?![a-zA-Z])", ">", s)
    s = ascii_functions(s)
    # \sqrt2 -> \sqrt{2}; \frac94 -> \frac{9}{4}; \frac{1}2 -> \frac{1}{2}
    s = re.sub(r"\\sqrt\s*(\d|[a-zA-Z](?![a-zA-Z]))", r"\\sqrt{\1}", s)
    s = re.sub(r"\\frac\s*(\d)\s*(\d)", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\frac\s*(\{[^{}]*\})\s*(\d|[a-zA-Z](?![a-zA-Z]))", r"\\frac\1{\2}", s)
    s = re.sub(r"\\frac\s*(\d|[a-zA-Z](?![a-zA-Z]))\s*(\{)", r"\\frac{\1}\2", s)
    # repeating decimals
    if re.search(r"\\(?:overline|dot|bar)", s):  # guard: on a long digit run this pattern is quadratic
        s = _REPEAT.sub(lambda m: _frac_latex(repeating_decimal(m.group(1), m.group(2), m.group(3))), s)
    m = _REPEAT_PAREN.match(s.strip())
    if m:
        s = _frac_latex(repeating_decimal(m.group(1), m.group(2), m.group(3)))
    s = re.sub(r"\s+", " ", s).strip().rstrip(".").rstrip(",;").strip()
    # 1 000 000 (space thousands) and 7,425,000 in a plain number
    if re.fullmatch(r"-?\d{1,3}(?: \d{3})+(?:\.\d+)?", s):
        s = s.replace(" ", "")
    s = (
        re.sub(
            r"(?<![\d.,])([1-9]\d{0,2})((?:,\d{3})+)(?![\d,]|\.\d*,)",
            lambda m: m.group(1) + m.group(2).replace(",", ""),
            s,
        )
        if re.fullmatch(r"-?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?", s)
        else s
    )
    # decimal comma: 1000,99 / 0,111 / 1,22 (whole answer only; 3 digits after a non-zero head is thousands)
    m = re.fullmatch(r"(-?\d+),(\d+)", s)
    if m and (m.group(1).lstrip("-") == "0" or len(m.group(2)) not in (1, 3)):
        s = f"{m.group(1)}.{m.group(2)}"
    # mixed number written with a space: 3 1/2
    m = re.fullmatch(r"(-?)(\d+)\s*\\frac\{(\d+)\}\{(\d+)\}", s) or re.fullmatch(r"(-?)(\d+)\s+(\d+)/(\d+)", s)
    if m:
        s = rf"{m.group(1)}({m.group(2)}+\frac{{{m.group(3)}}}{{{m.group(4)}}})"
    w = words_to_number(s) if re.fullmatch(r"[A-Za-z\s-]+", s) else None
    if w is not None:
        s = str(w)
        flags["words"] = True
    return s, flags


def _frac_latex(f: Fraction) -> str:
    if f.denominator == 1:
        return str(f.numerator)
    sign = "-" if f < 0 else ""
    return rf"{sign}\frac{{{abs(f.numerator)}}}{{{f.denominator}}}"


# Commands that only format text; any other command (\sin, \cot, \infty, …) is content and stays in the key.
_FORMAT_COMMANDS = frozenset(
    """text textbf textit textrm textsf texttt textnormal mathrm mathbf mathit mathsf mathtt
    mathnormal operatorname emph mbox hbox rm bf it left right bigl bigr Bigl Bigr big Big displaystyle textstyle
    boxed quad qquad""".split()
)


def text_key(s: str) -> str:
    """Loose key for text answers: case-, space- and markup-insensitive. Formatting commands go; other command
    names stay as words, so `\\cot x` and `\\sin x` keep different keys."""
    s = unwrap_text(s)
    s = re.sub(r"\\([a-zA-Z]+)", lambda m: " " if m.group(1) in _FORMAT_COMMANDS else f" {m.group(1)} ", s)
    s = re.sub(r"[{}$\\]", " ", s)
    s = re.sub(r"\s+", " ", s).strip().lower()
    s = s.strip(".,;:!")
    if re.fullmatch(r"\(\s*[a-z]\s*\)", s):
        s = s.strip("() ")
    return s
