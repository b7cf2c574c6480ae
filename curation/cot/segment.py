"""DLCoT segmentation of a long chain of thought into verbatim spans (arXiv:2503.16385, methods.md §1).

A segmentation is a list of `Segment(kind, start, end, approach)` whose spans tile the text in order: the first
starts at 0, each starts where the previous ended, the last ends at len(text). The text is never modified, so
any simplification is a set of deletions of whole spans and every span can be audited against the original.

Kinds: question_repeat, understanding, approach (solution exploration, numbered 1..k), verification (checks of
the current approach; `approach` says which), conclusion (closing statement, and everything after the end of
the thinking part), other.

The heuristic segmenter works on paragraphs (blank-line separated) and cue phrases; it is deterministic,
needs no model, and is the default. The LLM segmenter (cot/llm_segment.py) shares the `Segment` type and the
`validate` check, and falls back to this one.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import asdict, dataclass
from functools import lru_cache
from itertools import accumulate
from typing import Iterable

KINDS = ("question_repeat", "understanding", "approach", "verification", "conclusion", "other")


@dataclass
class Segment:
    kind: str
    start: int
    end: int
    approach: int | None = None
    verdict: str | None = None

    def text(self, source: str) -> str:
        return source[self.start : self.end]

    def to_dict(self) -> dict:
        return asdict(self)


class SegmentationError(ValueError):
    pass


def validate(segments: list[Segment], text: str) -> None:
    """Raise SegmentationError unless the spans tile `text` in order with known kinds."""
    if not text:
        if segments:
            raise SegmentationError("segments given for an empty text")
        return
    if not segments:
        raise SegmentationError("no segments for a non-empty text")
    pos = 0
    for i, s in enumerate(segments):
        if s.kind not in KINDS:
            raise SegmentationError(f"segment {i}: unknown kind {s.kind!r} (kinds: {', '.join(KINDS)})")
        if s.start != pos:
            raise SegmentationError(f"segment {i} starts at {s.start}, expected {pos} (spans must tile the text)")
        if s.end <= s.start:
            raise SegmentationError(f"segment {i} is empty or reversed ({s.start}..{s.end})")
        pos = s.end
    if pos != len(text):
        raise SegmentationError(f"segments end at {pos}, text has {len(text)} characters")


# --- paragraphs --------------------------------------------------------------------------------------------
_PARA_BREAK = re.compile(r"\n[ \t]*\n\s*")


def paragraphs(text: str) -> list[tuple[int, int]]:
    """Blank-line separated paragraphs as spans that tile the text (trailing blank lines stay with a paragraph)."""
    spans, start = [], 0
    for m in _PARA_BREAK.finditer(text):
        if m.end() >= len(text):
            break
        spans.append((start, m.end()))
        start = m.end()
    if start < len(text) or not spans:
        spans.append((start, len(text)))
    return [s for s in spans if s[1] > s[0]]


# --- cues --------------------------------------------------------------------------------------------------
# Markers that end the thinking part: everything after them is the visible answer (conclusion).
END_OF_THOUGHT = re.compile(r"</think>|<\|end_of_thought\|>")
_TAG = re.compile(r"^\s*(?:<think>|<\|begin_of_thought\|>)\s*$")


class Cue:
    """A case-insensitive cue regex that is fast on ASCII text. Python's `re` with IGNORECASE is slow on
    alternations (an unanchored word-boundary one costs ~30 us per paragraph head, and the cues are most of the
    segmenters' time). On ASCII text the pattern, compiled case-sensitively, runs on the lower-cased text: the same
    matches at the same offsets (cue patterns are written in lower case, checked here, and ASCII lower-casing keeps
    lengths), 2-3x faster. `literals` (lower case), when given, is a cheaper test first: every match contains one
    of them. Non-ASCII text goes to the IGNORECASE regex (Unicode case folding is wider than `str.lower`). Meant
    for truth tests and offsets: on ASCII text a match's groups are lower-cased."""

    def __init__(self, pattern: str, literals: tuple[str, ...] = ()):
        if re.search(r"[A-Z]", re.sub(r"\\.", "", pattern)):
            raise ValueError(f"cue pattern must be lower case (escapes aside): {pattern[:60]!r}")
        self.regex = re.compile(pattern, re.I)
        self._lower = re.compile(pattern)
        self.literals = literals

    def search(self, s: str):
        if not s.isascii():
            return self.regex.search(s)
        low = s.lower()
        if self.literals and not any(x in low for x in self.literals):
            return None
        return self._lower.search(low)

    def match(self, s: str):
        return self._lower.match(s.lower()) if s.isascii() else self.regex.match(s)

    def each(self, texts: list[str], where: list[bool] | None = None) -> list[bool]:
        """`bool(self.search(t))` for every text (False where `where` is False), in one call: per-text method
        calls would cost more than the lower-case regex saves."""
        lo, ci = self._lower.search, self.regex.search
        if where is None:
            where = [True] * len(texts)
        if not self.literals:
            return [w and bool(lo(t.lower()) if t.isascii() else ci(t)) for t, w in zip(texts, where)]
        lows = [t.lower() if w and t.isascii() else None for t, w in zip(texts, where)]
        maybe = [w and x is None for w, x in zip(where, lows)]  # non-ASCII: always ask the regex
        # which lower-cased texts contain a literal: str.find over them all joined (a literal never spans the
        # separator), jumping to the next text after each find
        joined = "\x00".join(x or "" for x in lows)
        starts = list(accumulate((len(x or "") + 1 for x in lows), initial=0))
        for lit in self.literals:
            i = joined.find(lit)
            while i != -1:
                k = bisect_right(starts, i) - 1
                maybe[k] = True
                i = joined.find(lit, starts[k + 1])
        return [m and bool(ci(t) if x is None else lo(x)) for t, x, m in zip(texts, lows, maybe)]


_LEAD = r"^\W{0,4}(?:\*\*)?"
NEW_APPROACH = Cue(
    _LEAD + r"(?:(?:hmm|wait|ok(?:ay)?|so|but|now|well|or|actually|a minute)\W+){0,3}(?:"
    r"alternatively|"
    r"another (?:way|approach|method|idea|thought|strategy|option)|"
    r"(?:let me|let's|let us|i(?:'ll| will| could| can| should)|maybe i (?:can|could|should)|we can|i can)"
    r" (?:also )?(?:try|use|consider|think of|approach|attempt|solve|tackle|do|compute|calculate|find|verify|check)"
    r" (?:(?:it|this|the problem|that) )?(?:(?:using|with|by|via|in) )?(?:a |an )?"
    r"(?:different|another|other|alternative|new|second|third|more (?:direct|straightforward|systematic|efficient))"
    r"|(?:maybe )?there(?:'s| is| must be| might be) (?:a |an )?(?:better|smarter|easier|simpler|different|another|"
    r"more (?:direct|efficient|straightforward|elegant)|faster|quicker) (?:way|approach|method)"
    r"|is there (?:a |an )?(?:better|smarter|easier|simpler|different|another|more efficient) (?:way|approach|method)"
    r"|(?:a |an )?(?:different|alternative|second|better|simpler|easier) (?:approach|way|method)"
    r"|instead,"
    r"|on second thought"
    r")"
)
VERIFY = Cue(
    _LEAD + r"(?:(?:hmm|ok(?:ay)?|so|but|now|well|also|actually|first|wait|a minute|hold on|however)\W+){0,3}(?:"
    r"(?:let me|let's|let us|i (?:should|will|can|need to|want to|'ll|could)|we (?:should|can))"
    r" (?:just |quickly |also |now |first )?(?:double[- ]check|verify|check|confirm|make sure|ensure|test|"
    r"recheck|re-check|re-?examine|re-?verify|see if|see whether|plug|substitute|cross[- ]check|sanity|go back|"
    r"recap|review|re-?calculate|recompute|re-?evaluate|reconsider|look (?:at|back))|"
    r"to (?:double[- ]check|verify|check|confirm|make sure|be sure|ensure|be thorough|be safe)|"
    r"just to (?:be|make|double|confirm|check|verify|ensure)|"
    r"(?:double[- ]checking|verifying|checking|verification|sanity check)|"
    r"(?:is|does|did|was|are) (?:this|that|it|there|my|the answer|everything) .{0,40}(?:correct|right|valid|make sense|"
    r"check out|consistent|way to check|mistake|error)|"
    r"(?:plugging|substituting) (?:it |them |these |this |the values? )?back|"
    r"i (?:think|believe) (?:that's|that is|this is|it's) (?:the answer|correct|right)[^.?!]{0,20}[,;] but"
    r")"
)
# "Wait", "Hmm", "But ..." open a check only when the first sentence is about checking or asks a question.
WEAK_VERIFY = Cue(_LEAD + r"(?:(?:ok(?:ay)?|so|now|well|also|actually)\W+)?(?:wait|hmm|hold on|but|however)\b")
CHECK_WORDS = Cue(
    r"\b(?:check|verify|verif|confirm|make sure|be sure|thorough|mistake|error|wrong|another way|"
    r"other way|double|reconsider|interpret|missed|overlook)|\?"
)
# Short self-affirmations ("Yes, that checks out.") continue the current part; they never open one.
AFFIRM = Cue(
    _LEAD + r"(?:(?:yes|yep|yeah|right|correct|good|great|ok(?:ay)?|so|perfect|alright)\W+)*(?:"
    r"(?:that|this|it|everything|both) (?:checks out|seems|looks|makes sense|matches|is (?:correct|right|consistent)|"
    r"all checks)|(?:yes|yep|perfect|great|good)\b)"
)
QUESTION_CUE = Cue(
    _LEAD + r"(?:(?:alright|all right|okay|ok|so|hmm|well|now)\W+)*(?:"
    r"(?:so )?(?:i|we)(?: (?:need|have|want|am asked|are asked|got|am given|are given)|'ve got|'m given|'ve been given) "
    r"(?:to|a|an|this|the|these|that|here)|"
    r"let(?:'s| me| us) (?:tackle|break (?:this|it) down|work through|try to solve) (?:this|it|down)|"
    r"(?:the|this) (?:problem|question) (?:says|asks|is|gives|states|wants)|"
    r"let(?:'s| me) (?:see|read|restate|understand|parse|figure out what)|"
    r"(?:here|this) (?:is|'s) (?:a|the|an)|"
    r"i'?m (?:trying|supposed|asked|given) to|"
    r"[a-z]+ (?:has|had|got) (?:this|a|the) (?:problem|question)\b|"
    r"given (?:that|a|an|the)"
    r")"
)
ANSWER_STATEMENT = Cue(
    r"\\boxed\s*\{|"
    r"\b(?:final answer|the answer|my answer|the result|the solution)\b[^.\n]{0,40}\b(?:is|should be|would be|=|:)|"
    r"(?:^|[.!]\s+|\n)\s*(?:\*\*)?(?:therefore|thus|hence|so|consequently|in conclusion|in summary|finally)\b[,:]?"
    r"[^\n]{0,200}?(?:\bis\b|\bare\b|\bequals?\b|=|\bwould be\b|\bshould be\b)"
)
CONCLUSION_CUE = Cue(
    _LEAD + r"(?:(?:so|therefore|thus|hence|yes|ok(?:ay)?|alright|all right|overall)\W+)*(?:"
    r"(?:the |my )?final answer|(?:the )?answer is|in conclusion|to (?:summarize|conclude|sum up)|in summary|"
    r"i(?:'m| am) (?:confident|sure|fairly|pretty)|i think (?:that's|that is|this is) (?:it|correct|the answer|right)|"
    r"i don't (?:think|see) (?:there's|there is|i've|i have|any)|"
    r"i can(?:'t| not| now) (?:see|think|be (?:confident|sure))|"
    r"(?:so|therefore|thus|hence),? the (?:answer|final|value|number|result)|"
    r"i think (?:i've|i have) (?:covered|confirmed|verified|checked|considered)"
    r")"
)
APPROACH_START = Cue(
    _LEAD + r"(?:(?:alright|all right|okay|ok|so|now|well)\W+)*(?:"
    r"first(?:ly)?,? (?:let(?:'s| me| us)|i(?:'ll| will| need to| should| can)? (?:find|calculate|compute|solve|"
    r"substitute|plug|look|consider|factor|expand|simplify|convert|isolate|set))|"
    r"let(?:'s| me| us) (?:start|begin|solve|tackle|try|find|calculate|compute|look at|consider|use|denote|"
    r"substitute|plug|set|work|expand|simplify|factor|first)|"
    r"(?:one|a) (?:way|approach|method) (?:to|is|would)|to (?:solve|find|compute|calculate|do) (?:this|that|it|the)|"
    r"i(?:'ll| will) (?:start|begin|use|try|solve)|"
    r"let(?:'s| me| us) see if (?:i|we) can|"
    r"let(?:'s| me| us) (?:convert|rewrite|define|denote|assign|call|apply|draw|list|set up|compute|evaluate)"
    r")"
)
UNDERSTAND = Cue(
    _LEAD + r"(?:(?:alright|all right|okay|ok|so|now|well|hmm|first(?:ly)?|first things first)\W+)*(?:"
    r"(?:i need to |let me |let's |we need to |i should |i have to )?(?:first )?(?:understand|recall|remember|"
    r"notice|think about what|figure out what|understand what)|"
    r"i (?:know|recall|remember|notice|think) (?:that|there)|(?:the|our|my) (?:goal|task|key|plan|strategy)|"
    r"first things first|i need to (?:find a way|figure out (?:how|what)|find out what|think about)|"
    r"(?:this|these|it) (?:looks|seems|is a)|looking at (?:this|the)"
    r")"
)
# A paragraph that only says what is asked or given, right after the problem statement.
ASKED = Cue(
    _LEAD + r"(?:(?:and|so|alright|all right|okay|ok|now)\W+)*(?:"
    r"(?:i|we) (?:need|have|want|am asked|are asked) to (?:find|determine|compute|calculate|figure out|express|"
    r"evaluate|show|prove)\b|"
    r"we (?:have|are given)\b|"
    r"let(?:'s| me| us) (?:write down|restate|rewrite|list) (?:the|this|these|what)"
    r")"
)
ANOTHER_WAY = Cue(r"\b(?:another|different|other|alternative|better|faster|simpler|easier) (?:way|approach|method)")
# "Let me see if there's a different approach" / "Is there a faster way ...?" near the start of a paragraph
ASKS_OTHER_WAY = Cue(
    r"\b(?:maybe|perhaps|if|whether|is|might be) there(?:'s| is| are)?\s*(?:a |an |any )?(?:different|another|better|"
    r"other|faster|quicker|simpler|easier|smarter|more (?:efficient|direct|elegant)) (?:way|approach|method)"
)


BRIEF_ASIDE_CHARS = 250
LAST_REMARK_CHARS = 200


# "Alternatively, I could graph the line ..." announces a check of its own; "Alternatively, 550 / 4 = 137.5"
# only re-states a result inside the check under way.
PLAN = Cue(
    r"\b(?:i|we) (?:could|can|might|may|will|'ll|should|consider)\b|\blet(?:'s| me| us)\b",
    (" could", " can", " might", " may", " will", " 'll", " should", " consider", "let"),
)
_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)]|\([a-z0-9]\))\s")


def _continues_previous(prev: str, p: str) -> bool:
    """`p` is what `prev` announced: `prev` ends with a colon and `p` is a formula or list item, or both are
    items of one list. Such a paragraph never starts a part of its own."""
    item = bool(_LIST_ITEM.match(p))
    if prev.rstrip().endswith(":"):
        return item or _is_formula(p) or p.lstrip().startswith(("\\[", "$$", "\\("))
    return item and bool(_LIST_ITEM.match(prev))


def opens_approach(p: str) -> bool:
    head = p.lstrip()[:200]
    return bool(NEW_APPROACH.search(head) or ASKS_OTHER_WAY.search(head[:120]))


_ALNUM = re.compile(r"[A-Za-z0-9]+")
_WORK = re.compile(r"=|\\frac|\\sqrt|\^|\d\s*[-+*/×·]\s*\d|\\times|\\cdot|\\le|\\ge|<|>")
_WORD = re.compile(r"[A-Za-z]{3,}")
_STOP = frozenset(
    "the and that this with from have for are was were what which then than there their they them these those "
    "into onto over under about find value values given let how many much where when will would should could "
    "can also each such some any all its it's our your you".split()
)


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)} - _STOP


@lru_cache(maxsize=256)
def _problem_words(problem: str) -> frozenset[str]:
    return frozenset(_words(problem))


def _first_sentence(p: str, n: int = 300) -> str:
    p = p.strip()[:n]
    m = re.search(r"(?<=[.!?])\s", p)
    return p[: m.start()] if m else p


def restates(p: str, problem: str | None) -> bool:
    """Most of the paragraph's tokens (numbers and symbols too) come from the problem statement."""
    if not problem:
        return False
    pt = _ALNUM.findall(p.lower()) if p.isascii() else [t.lower() for t in _ALNUM.findall(p)]
    qt = _problem_tokens(problem)
    return len(pt) >= 2 and sum(t in qt for t in pt) / len(pt) >= 0.75


@lru_cache(maxsize=256)
def _problem_tokens(problem: str) -> frozenset[str]:  # asked for each opening paragraph of a trace
    return frozenset(t.lower() for t in _ALNUM.findall(problem))


# what normalisation deletes: spacing, delimiters, brackets, \left/\right, degrees, \text / \mathrm (one run of the
# single characters at a time: the same deletions as one alternative per character, faster)
_NORM = re.compile(r"[\s$*(){}°]+|\\(?:[()\[\]!,;: ]|left|right|text|mathrm)|\^\{?\\circ\}?")
_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")


def _norm_math(s: str) -> str:
    from .answers import latexify

    s = latexify(s)
    return _NORM.sub("", _FRAC.sub(r"(\1)/(\2)", s) if "frac" in s else s)


def final_answer(text: str) -> str | None:
    """The trace's own last stated answer (boxed, else the last answer statement), to find its first mention."""
    from .answers import approach_answer, last_boxed

    return last_boxed(text) or approach_answer(text[-1500:])


def _is_formula(p: str) -> bool:
    return len(p.strip()) < 200 and not re.search(r"(?<!\\)\b[A-Za-z]{4,}\b", p)


def is_work(p: str) -> bool:
    return bool(_WORK.search(p))


def states_answer(p: str) -> bool:
    return bool(ANSWER_STATEMENT.search(p)) and (bool(re.search(r"\d|\\|\$", p)) or "answer" in p.lower())


def opens_check(p: str) -> bool:
    """The paragraph starts a check of an answer (not a self-affirmation, not a bare "Wait, ..." aside)."""
    head = p.lstrip()[:200]
    if AFFIRM.match(head) and not VERIFY.search(head):
        return False
    if VERIFY.search(head):
        return True
    return bool(WEAK_VERIFY.search(head)) and bool(CHECK_WORDS.search(p.lstrip()[:120]))


def opener_cues(ptext: list[str]) -> dict[str, list]:
    """`opens_approach` (`oa`) and `opens_check` (`oc`) of every paragraph at once, with the cue lists they are
    made of (the CRF's features): the same results, at a fraction of the per-paragraph calls' cost."""
    heads = [p.lstrip()[:200] for p in ptext]
    heads120 = [h[:120] for h in heads]
    lows = [h.lower() for h in heads]
    ways = [("way" in lo or "approach" in lo or "method" in lo) for lo in lows]  # needed by the "other way" cues
    newap = NEW_APPROACH.each(heads)
    asksother = ASKS_OTHER_WAY.each(heads120, ways)
    ver = VERIFY.each(heads)
    aff = [bool(AFFIRM.match(h)) for h in heads]
    weak = WEAK_VERIFY.each(heads)
    chk = CHECK_WORDS.each(heads120, weak)
    return {
        "heads": heads,
        "ways": ways,
        "newap": newap,
        "asksother": asksother,
        "ver": ver,
        "aff": aff,
        "weak": weak,
        "chk": chk,
        "oa": [x or y for x, y in zip(newap, asksother)],
        "oc": [v or (not af and c) for v, af, c in zip(ver, aff, chk)],
    }


_DIGITS = re.compile(r"\D+")
# Characters that normalisation turns into digits (superscripts, vulgar fractions, circled / full-width / math
# digits, roots). Without them, normalising a paragraph keeps its digits, in order.
_DIGIT_MAKERS = re.compile(
    r"[^\x00-\x7f](?<=[\u00b2\u00b3\u00b9\u00bc-\u00be\u2070-\u209f\u2150-\u218f"
    r"\u2460-\u24ff\u2776-\u2793\uff10-\uff19\u221a\u221b\U0001d7ce-\U0001d7ff])"
)


def lacks_digits(p: str, *digits: str) -> bool:
    """True when `p` cannot contain, even after normalisation, any value whose digits are one of `digits` (each
    non-empty): a cheap test before normalising every paragraph of a long trace."""
    if not digits or not (p.isascii() or not _DIGIT_MAKERS.search(p)):
        return False
    found = _DIGITS.sub("", p)
    return all(d and d not in found for d in digits)


def leading_tags(ptext: list[str]) -> int:
    """Tag-only paragraphs at the start (`<think>`): they join whatever part comes first."""
    i = 0
    while i < len(ptext) and _TAG.match(ptext[i]):
        i += 1
    return i


def thought_paragraphs(text: str) -> tuple[list[tuple[int, int]], int]:
    """Paragraphs of the thinking part, and where it ends (the end-of-thought marker, else len(text)): what
    follows the marker is the written solution, always one `conclusion` segment."""
    m = END_OF_THOUGHT.search(text)
    think_end = m.start() if m else len(text)
    return (paragraphs(text[:think_end]) if think_end > 0 else []), think_end


def answer_hits(text: str, ptext: list[str], since: int = 0) -> list[bool]:
    """Per paragraph: does it state the answer the trace ends with (the first answer, in DLCoT's sense)? When no
    paragraph from `since` on restates that answer verbatim, any answer statement counts."""
    from .answers import approach_answer

    final = final_answer(text)
    fnorm = _norm_math(final) if final else None
    fdigits = _DIGITS.sub("", fnorm) if fnorm else ""

    def reached(p: str) -> bool:
        if fnorm:
            if lacks_digits(p, fdigits):
                return False
            if fnorm not in _norm_math(p):  # cheap filter before the answer extractor
                return False
            got = approach_answer(p)
            return got is not None and _norm_math(got) == fnorm
        return states_answer(p)

    hit = [reached(p) for p in ptext]
    if not any(hit[since:]):
        hit = [states_answer(p) for p in ptext]
    return hit


def is_question_repeat(p: str, problem: str | None) -> bool:
    head = _first_sentence(p, 400)
    if QUESTION_CUE.search(head):
        return True
    if problem:
        pw, qw = _words(p), _problem_words(problem)
        if pw and qw and len(pw & qw) / len(pw) >= 0.6 and len(pw & qw) >= 3:
            return True
    return False


class HeuristicSegmenter:
    """Paragraphs + cue phrases → DLCoT macro parts. Deterministic and fast (no model)."""

    name = "heuristic"

    def segment(self, text: str, problem: str | None = None) -> list[Segment]:
        if not text:
            return []
        paras, think_end = thought_paragraphs(text)
        labels = self._label(text, paras, problem)
        if think_end < len(text):
            labels.append(("conclusion", think_end, len(text), None, False))
        segs = _merge(labels)
        validate(segs, text)
        return segs

    def _label(self, text: str, paras: list[tuple[int, int]], problem: str | None):
        out: list[tuple[str, int, int, int | None, bool]] = []
        n = len(paras)
        if n == 0:
            return out
        ptext = [text[s:e] for s, e in paras]
        conc_from = self._conclusion_start(ptext, closed=paras[-1][1] < len(text))
        lead_tag = i = leading_tags(ptext)  # they join the opening part
        kinds: list[tuple[str, int | None]] = [("other", None)] * n
        new = [False] * n  # a verification paragraph that opens a new check
        phase = "intro"
        k = 0
        seg_has_work = False
        answered = False
        if i < n and i < conc_from and is_question_repeat(ptext[i], problem):
            kinds[i] = ("question_repeat", None)
            i += 1
            while i < min(conc_from, n) and self._restates_more(ptext[i - 1], ptext[i], problem):
                kinds[i] = ("question_repeat", None)
                i += 1
        stop = min(conc_from, n)
        hit = answer_hits(text, ptext[:stop], since=i)
        opened = i  # paragraph where the current part began
        cont = [j > 0 and _continues_previous(ptext[j - 1], ptext[j]) for j in range(n)]
        openers = opener_cues(ptext)
        oa, oc = openers["oa"], openers["oc"]
        # cue paragraphs that can end the span of a candidate approach (for the "is it substantial?" test)
        cache: dict[int, bool] = {}

        def cue(q: int) -> bool:
            if q not in cache:
                cache[q] = q >= stop or oa[q] or oc[q]
            return cache[q]

        seen = 0  # intro paragraphs that start something of their own (continuations do not count)
        for j in range(i, stop):
            p = ptext[j]
            head = p.lstrip()[:200]
            if cont[j] and kinds[j - 1][0] != "question_repeat":
                # a paragraph announced by a colon (formula, list item) belongs to the part that announced it
                kinds[j] = kinds[j - 1]
                if phase != "intro":
                    seg_has_work = seg_has_work or is_work(p)
                    answered = answered or hit[j]
                continue
            if phase == "intro":
                seen += 1
                strong = APPROACH_START.search(head) or NEW_APPROACH.search(head)
                thinking = UNDERSTAND.search(head) and not strong
                weak = is_work(p) and not restates(p, problem) and not thinking
                if weak and not strong and not hit[j] and j - i < 4 and self._start_ahead(ptext, hit, j, stop):
                    weak = False  # "Let's start with ..." follows shortly: this is still analysis
                if strong or weak or hit[j] or seen > 4:
                    phase, k, seg_has_work = "explore", 1, is_work(p)
                    kinds[j] = ("approach", k)
                    answered, opened = hit[j], j
                else:
                    kinds[j] = ("understanding", None)
                continue
            approach_cue = oa[j]
            aside = answered and approach_cue and self._brief_aside(ptext, cue, j)
            if (
                approach_cue
                and (seg_has_work or kinds[j - 1][0] != "approach")
                and not (answered and (aside or self._continues_alternative(ptext, j, opened)))
            ):
                k += 1
                kinds[j] = ("approach", k)
                seg_has_work = is_work(p)
                answered, opened = answered or hit[j], j
                continue
            if answered and oc[j] or (answered and aside and PLAN.search(head[:80])):
                kinds[j] = ("verification", k)
                new[j] = True
                seg_has_work = True
                opened = j
                continue
            kinds[j] = kinds[j - 1] if kinds[j - 1][0] in ("approach", "verification") else ("approach", k)
            seg_has_work = seg_has_work or is_work(p)
            if hit[j]:
                answered = True
        for j in range(conc_from, n):
            kinds[j] = ("conclusion", None)
        for j in range(lead_tag):
            kinds[j] = kinds[lead_tag] if lead_tag < n else ("other", None)
        for (s, e), (kind, a), fresh in zip(paras, kinds, new):
            out.append((kind, s, e, a, fresh))
        return out

    @staticmethod
    def _restates_more(prev: str, p: str, problem: str | None) -> bool:
        """The problem statement goes on: restated givens, what is asked ("And I need to find x + y."), the items
        or formulas a restating paragraph announced with a colon, or a bare connector ("and") between them."""
        head = p.lstrip()[:200]
        if APPROACH_START.search(head):
            return False
        return (
            restates(p, problem)
            or bool(ASKED.search(head))
            or _continues_previous(prev, p)
            or (len(p.strip()) <= 4 and p.strip().isalpha())
        )

    @staticmethod
    def _start_ahead(ptext: list[str], hit: list[bool], j: int, stop: int, window: int = 4) -> bool:
        """An explicit start of a solution ("Let's start by ...") within `window` paragraphs, before any answer."""
        for q in range(j + 1, min(stop, j + 1 + window)):
            if APPROACH_START.search(ptext[q].lstrip()[:200]):
                return True
            if hit[q]:
                return False
        return False

    @staticmethod
    def _brief_aside(ptext: list[str], cue, j: int) -> bool:
        """After the answer, a bare "Alternatively, ..." (no announced change of method) whose span up to the next
        cue paragraph is short re-states or re-computes a result: part of the current check, not a new approach."""
        head = ptext[j].lstrip()[:200]
        if ANOTHER_WAY.search(head) or ASKS_OTHER_WAY.search(head[:120]):
            return False
        size, q = 0, j
        while q < len(ptext) and (q == j or not cue(q)) and size < BRIEF_ASIDE_CHARS:
            size += len(ptext[q].strip())
            q += 1
        return size < BRIEF_ASIDE_CHARS

    @staticmethod
    def _continues_alternative(ptext: list[str], j: int, opened: int) -> bool:
        """After an answer, an "Alternatively ..." that does not open a new approach: it dismisses itself
        ("..., but that would be messy"), or it elaborates the paragraph just before, which already opened a
        part that announced another way (or is a substantive check of its own)."""
        first = _first_sentence(ptext[j], 300)
        if re.search(r",\s+but\b", first):
            return True
        if opened == j - 1:
            prev = ptext[j - 1]
            return bool(ANOTHER_WAY.search(prev) or NEW_APPROACH.search(prev.lstrip()[:200])) or len(prev.strip()) >= 60
        return False

    @staticmethod
    def _conclusion_start(ptext: list[str], closed: bool = False) -> int:
        """Start of the closing run: the last paragraphs (at most 3) that restate the final answer or close.
        When the thought is `closed` (an end-of-thought marker follows), its last short paragraph is a closing
        remark ("I think that's the final answer.", "So, x = 66.") unless it only affirms or opens a check."""
        n = len(ptext)
        j = n
        taken = 0
        while j > 0 and taken < 3:
            p = ptext[j - 1]
            head = p.lstrip()[:200]
            closing = bool(CONCLUSION_CUE.search(head)) or ("\\boxed" in p and len(p) < 400)
            last = j == n and len(p.strip()) < LAST_REMARK_CHARS
            if last and closed and not opens_check(p) and not opens_approach(p):
                closing = closing or not (AFFIRM.match(head) and not re.search(r"\d|\\|\banswer\b", p))
            if closing or (last and len(p.strip()) < 120 and states_answer(p)):
                j -= 1
                taken += 1
                continue
            if j < n and j > 1 and _is_formula(p) and CONCLUSION_CUE.search(ptext[j - 2].lstrip()[:200]):
                j -= 1  # "So, the final answer is:" / formula / "**Final Answer**"
                continue
            break
        if j == 0:  # never call the whole trace a conclusion
            return n if n > 1 else 1
        return j


def _merge(labels: Iterable[tuple[str, int, int, int | None, bool]]) -> list[Segment]:
    segs: list[Segment] = []
    for kind, s, e, a, fresh in labels:
        if segs and segs[-1].kind == kind and segs[-1].approach == a and not fresh:
            segs[-1].end = e
        else:
            segs.append(Segment(kind, s, e, a))
    return segs


def approach_spans(segments: list[Segment]) -> dict[int, list[Segment]]:
    """Approach number → its `approach` segments (not its verifications)."""
    out: dict[int, list[Segment]] = {}
    for s in segments:
        if s.kind == "approach" and s.approach is not None:
            out.setdefault(s.approach, []).append(s)
    return out


def abandoned_approaches(segments: list) -> set[int]:
    """Approaches followed directly by another approach: the trace changed method without checking them.
    Takes `Segment`s or their dicts."""

    def get(s, key):
        return s[key] if isinstance(s, dict) else getattr(s, key)

    out = set()
    for a, b in zip(segments, segments[1:]):
        if get(a, "kind") == "approach" and get(b, "kind") == "approach" and get(b, "approach") != get(a, "approach"):
            out.add(get(a, "approach"))
    return out


def boundaries(segments: list[Segment]) -> list[int]:
    return [s.start for s in segments[1:]]
