"""Canonical form of math/code problem text for dedup and decontamination.

Templated query pools differ only in their numbers ("Find 3+5" vs "Find 3+6"), so the canonical form removes
everything that does not change the problem (case, spacing, punctuation, LaTeX spelling, number formatting,
prompt wrappers) and PRESERVES every value. The sorted multiset of numbers is extracted alongside: the dedup and
decontamination number guards compare it.

Everything is a polars expression (vectorized, multithreaded Rust regex), which is what makes exact dedup run at
hundreds of thousands of rows per second; `canonicalize(str)` runs the same expression on one row, so there is a
single definition of the form.
"""

from __future__ import annotations

import polars as pl
import pyarrow.compute as pc

# Prompt wrappers added by harnesses and dataset builders; they carry no problem content.
_WRAPPERS = [
    r"let[’']?s\s+think\s+step\s+by\s+step\.?",
    r"(?:please\s+)?(?:reason|think)\s+step\s+by\s+step[^.\n$]*[.,]?",
    r"(?:and\s+|please\s+)?put\s+your\s+(?:final\s+)?answer\s+(?:with)?in\s+\\boxed\{\s*\}\.?",
    r"return\s+your\s+final\s+response\s+as\s+[^\n]*",
    r"(?:output|give|write)\s+(?:only\s+)?(?:the\s+)?final\s+answer\s+(?:with)?in\s+\\boxed\{\s*\}\.?",
    r"solve\s+(?:the\s+)?following\s+(?:math\s+|coding\s+)?problem[^:\n]*:",
]
_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_LEADING_LABEL = (
    r"^\s*(?:problem|question|q|task|exercise)\s*(?:#?\d+|" + "|".join(_UNITS[1:]) + r")?\s*(?:[:.)]|\n)\s*"
)
_TRAILING_LABEL = r"(?:\s*(?:answer|solution|a)\s*:|\n\s*(?:answer|solution|python solution|response)\s*:?)\s*$"
# Markdown and chat-template markup: emphasis, headers, bullets, quotes, rules; role names of chat transcripts.
_MARKUP = [
    (r"[\u200b\u200c\u200d\u2060\ufeff]", ""),
    (r"[\u2212\u2013\u2014]", "-"),
    (r"\*\*|__", ""),
    (r"(?m)^[ \t]*(?:#{1,6}|[-*+>])[ \t]+", ""),
    (r"(?m)^[ \t]*(?:-{3,}|={3,}|\*{3,})[ \t]*$", ""),
    (r"\[/?inst\]|<\|im_(?:start|end)\|>|<\|(?:user|assistant|system)\|>", " "),
    (r"^\s*(?:human|user)\s*:", ""),
    (r"\n\s*assistant\s*:[^\n]*$", ""),
]

_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}


_FRACTION_WORDS = {
    "half": 2,
    "halves": 2,
    "third": 3,
    "thirds": 3,
    "fourth": 4,
    "fourths": 4,
    "quarter": 4,
    "quarters": 4,
    "fifth": 5,
    "fifths": 5,
    "sixth": 6,
    "sixths": 6,
    "seventh": 7,
    "sevenths": 7,
    "eighth": 8,
    "eighths": 8,
    "ninth": 9,
    "ninths": 9,
    "tenth": 10,
    "tenths": 10,
}


def _number_words() -> dict[str, str]:
    """Space-delimited number words → digits (applied after punctuation spacing, so ' one ' is a whole word)."""
    m: dict[str, str] = {}
    # first the longer phrases (leftmost match, earliest pattern wins): "two hundred", "two-thirds"
    for i, unit in enumerate(_UNITS[1:10], start=1):
        m[f" {unit}  hundred "] = f" {i * 100} "
        for den, dv in _FRACTION_WORDS.items():
            if (i == 1) == den.endswith(
                ("half", "third", "fourth", "quarter", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
            ):
                for sep in ("  -  ", "  "):
                    m[f" {unit}{sep}{den} "] = f" {i}  /  {dv} "
    for tens, tv in _TENS.items():
        for i, unit in enumerate(_UNITS[1:10], start=1):
            for sep in ("  -  ", "  "):
                m[f" {tens}{sep}{unit} "] = f" {tv + i} "
    for tens, tv in _TENS.items():
        m[f" {tens} "] = f" {tv} "
    for i, w in enumerate(_UNITS):
        m[f" {w} "] = f" {i} "
    m[" hundred "] = " 100 "
    m[" a  dozen "] = " 12 "
    return m


NUMBER_WORDS = _number_words()

# (pattern, replacement) regex passes, in order. Rust regex syntax (no look-around).
_LATEX = [
    (r"\\([$%])", "$1"),  # escaped \$ and \%
    (r"\$\s*(\d+)\s*\$\s*(st|nd|rd|th)\b", "$1$2"),  # $7$th → 7th
    (r"\^\s*\{?\s*\\circ\s*\}?", " degrees "),
    (r"\\pi\b", " pi "),
    (r"\\[dt]?frac\s*\{\s*([a-z0-9.]+)\s*\}\s*\{\s*([a-z0-9.]+)\s*\}", "$1/$2"),  # \frac{1}{3} → 1/3
    (r"\\[dt]frac", r"\frac"),
    (r"\\left\s*([(\[|.]|\\\{|\\langle)", "$1"),
    (r"\\right\s*([)\]|.]|\\\}|\\rangle)", "$1"),
    (r"\\left|\\right", ""),
    (r"\\\(|\\\)|\\\[|\\\]|\$\$", "$"),
    (r"\\displaystyle|\\textstyle", ""),
    (r"\\(?:,|;|!|:|quad|qquad)|~|\\\s", " "),
    (r"\\[lc]?dots\b", " "),  # "\ldots" and "..." (a sentence mark) both vanish
    (r"\\leq\b|\\leqslant\b", r"\le"),
    (r"\\geq\b|\\geqslant\b", r"\ge"),
    (r"\\neq\b", r"\ne"),
    (r"\\cdot\b|\\times\b", "*"),
    (r"\\text\s*\{([^{}]*)\}|\\mathrm\s*\{([^{}]*)\}|\\textbf\s*\{([^{}]*)\}|\\emph\s*\{([^{}]*)\}", "$1$2$3$4"),
    (r"([\^_])\s*\{\s*([A-Za-z0-9])\s*\}", "$1$2"),  # x^{2} → x^2
    (r"\\frac\s*(\d)\s*(\d)", "$1/$2"),  # \frac12 → 1/2
]
_NUMBERS = [
    (r"(\d),(\d\d\d)\b", "$1$2"),  # thousands separators, applied three times (up to 10^12)
    (r"(\d),(\d\d\d)\b", "$1$2"),
    (r"(\d),(\d\d\d)\b", "$1$2"),
    (r"(\d)\{,\}(\d)", "$1$2"),  # LaTeX 1{,}000
    (r"(\d+)\.0+\b", "$1"),  # 2.00 → 2
    (r"(\d+\.\d*[1-9])0+\b", "$1"),  # 1.50 → 1.5
    (r"(^|[^\d.])\.(\d)", "${1}0.$2"),  # .5 → 0.5
]
_DECIMAL_MARK = "\u2024"  # protects the decimal point while punctuation is removed
_FACTORIAL = "\u01c3"  # protects a factorial '!' ("5!" is not "5") from sentence punctuation removal
BREAK = "\u241e"  # sentence boundary token, kept until the number sequence per sentence is extracted


def fold(texts: pl.Series) -> pl.Series:
    """NFKC + lowercase, done by pyarrow: polars 2.1's `str.to_lowercase` leaves some ASCII capitals untouched in
    strings that also hold non-ASCII characters (seen on "There … Ｆind")."""
    arr = texts.fill_null("").to_arrow()
    return pl.Series(texts.name, pc.utf8_lower(pc.utf8_normalize(arr, "NFKC")))


def canonical_expr(col: str | pl.Expr) -> pl.Expr:
    """Polars expression: FOLDED text (see `fold`) → canonical text (see module doc)."""
    return _drop_breaks(_with_breaks(col))


def _drop_breaks(e: pl.Expr) -> pl.Expr:
    return e.str.replace_all(BREAK, " ", literal=True).str.replace_all(r"\s+", " ").str.strip_chars()


def _with_breaks(col: str | pl.Expr) -> pl.Expr:
    """Canonical text with a BREAK token at every sentence end (. ; ? !)."""
    e = pl.col(col) if isinstance(col, str) else col
    for pat, rep in _MARKUP:
        e = e.str.replace_all(pat, rep)
    e = e.str.replace_all(r"\r\n?|\u00a0|\t", " ")
    e = e.str.replace(_LEADING_LABEL, "").str.replace(_TRAILING_LABEL, "")
    e = e.str.replace_all("|".join(f"(?:{w})" for w in _WRAPPERS), " ")  # one pass
    for pat, rep in _LATEX:
        e = e.str.replace_all(pat, rep)
    for pat, rep in _NUMBERS:
        e = e.str.replace_all(pat, rep)
    # Punctuation that does not change a problem: sentence marks (not decimal points), quotes, braces around a
    # single token are kept; every symbol becomes its own token so "3+5" == "3 + 5".
    e = e.str.replace_all(r"(\d)\.(\d)", f"$1{_DECIMAL_MARK}$2")
    # "5!" / "n!" / "(n+1)!" is a factorial unless the text ends there ("… divided by 7!" is an exclamation)
    e = e.str.replace_all(r"(\d|[)}]|(?:^|[^a-z\\])[a-z])!(\s*[^\s])", f"$1 {_FACTORIAL} $2")
    e = e.str.replace_all(r"[.;!?]+", f" {BREAK} ")
    e = e.str.replace_all(r"[,:\"'`“”‘’]", " ")
    e = e.str.replace_all(r"([^\w\s\\" + _DECIMAL_MARK + r"])", " $1 ")
    # Tokens separated by two spaces so each " word " match leaves its neighbour's delimiter intact.
    e = e.str.replace_all(r"\s+", "  ")
    e = pl.concat_str(pl.lit(" "), e, pl.lit(" "))
    e = e.str.replace_many(NUMBER_WORDS, leftmost=True)
    e = e.str.replace_all(_DECIMAL_MARK, ".", literal=True).str.replace_all(_FACTORIAL, "!", literal=True)
    e = e.str.replace_all(r"\$ \$", " ").str.replace_all(r"\s+", " ").str.strip_chars()
    # braces around one token, once numbers are final ("a_{8.0}", "a_{eight}" → "a_8"; "x^{2}" → "x ^ 2")
    e = e.str.replace_all(r"_ \{ ([^ {}]+) \}", "_$1").str.replace_all(r"\^ \{ ([^ {}]+) \}", "^ $1")
    return e


NUMBER_PATTERN = r"\d+(?:\.\d+)?"


def numbers_expr(canonical: str | pl.Expr) -> pl.Expr:
    """Sorted number multiset of canonical text as one string ("3 5 5"); "" when there are none."""
    e = pl.col(canonical) if isinstance(canonical, str) else canonical
    return e.str.extract_all(NUMBER_PATTERN).list.sort().list.join(" ")


def number_sequence_expr(with_breaks: str | pl.Expr) -> pl.Expr:
    """Numbers in order of appearance within each sentence, sentences sorted ("6 12|3"): equal for copies whose
    sentences were reordered, different for "x-y=6, x+y=12" vs "x-y=12, x+y=6" (same multiset, other problem)."""
    e = pl.col(with_breaks) if isinstance(with_breaks, str) else with_breaks
    per_sentence = e.str.split(BREAK).list.eval(pl.element().str.extract_all(NUMBER_PATTERN).list.join(" "))
    return per_sentence.list.eval(pl.element().filter(pl.element() != "")).list.sort().list.join("|")


def canonical_frame(texts: pl.Series | list[str], chunk: int = 1 << 17, order: bool = True) -> pl.DataFrame:
    """DataFrame with `canonical`, `numbers` (sorted multiset) and `number_seq` (see `number_sequence_expr`; null
    when `order` is False, which saves its cost) for each input text, in order. Chunked so the regex passes'
    intermediate columns stay small (peak memory)."""
    s = texts if isinstance(texts, pl.Series) else pl.Series("text", texts, dtype=pl.String)
    s = s.cast(pl.String)
    parts = []
    for lo in range(0, max(len(s), 1), chunk):
        df = pl.DataFrame({"text": fold(s.slice(lo, chunk))})
        df = df.select(_with_breaks("text").alias("b"))
        seq = number_sequence_expr("b") if order else pl.lit(None, dtype=pl.String)
        parts.append(
            df.select(_drop_breaks(pl.col("b")).alias("canonical"), seq.alias("number_seq"))
            .with_columns(numbers_expr("canonical").alias("numbers"))
            .select("canonical", "numbers", "number_seq")
        )
    return pl.concat(parts, rechunk=False) if len(parts) > 1 else parts[0]


def with_breaks(texts: list[str]) -> list[str]:
    """Canonical text with a BREAK token at each sentence end: where one text's copy inside another stops."""
    df = pl.DataFrame({"text": fold(pl.Series("text", texts, dtype=pl.String))})
    return df.select(_with_breaks("text").str.replace_all(r"\s+", " ").str.strip_chars().alias("b"))["b"].to_list()


def canonicalize(text: str) -> str:
    return canonical_frame([text])["canonical"][0]


def numbers(text: str) -> list[str]:
    """Number multiset of a raw text (canonicalized first), sorted as strings."""
    n = canonical_frame([text])["numbers"][0]
    return n.split() if n else []
