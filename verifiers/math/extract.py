"""Find the final answer inside raw model output, and say where it was found.

Priority: last complete ``\\boxed{}``/``\\fbox{}`` (an unterminated final box is "no answer", never an earlier
box) > "final answer is ..."/"Answer: ..." > markdown bold > last LaTeX math environment > a concluding
"Therefore ... N" sentence > the whole text when short > last number (only when configured).
Adjacent boxes/environments joined by "and", "or", commas are returned together ("\\boxed{1} and \\boxed{2}").
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Optional

LastNumber = Literal["never", "short", "always"]

SHORT_CHARS = 120  # a prediction this short is treated as an answer line, not as reasoning


@dataclass
class Extraction:
    answer: Optional[str]
    source: str  # boxed | final_answer | answer_line | bold | latex_env | conclusion | whole | last_number | choice | none | truncated_box
    span: Optional[tuple[int, int]] = None

    @property
    def found(self) -> bool:
        return self.answer is not None and self.answer.strip() != ""


_CHAT_JUNK = re.compile(r"<\|(?:im_start|im_end|endoftext|eot_id|end_of_text)\|>")
_DOUBLE_BS_CMD = re.compile(r"\\\\(?=(?:boxed|fbox|frac|dfrac|tfrac|left|right|sqrt|text|pi|cdot|times|infty)\b)")
_BOX_START = re.compile(r"\\(?:boxed|fbox|framebox)\s*(\{|\s+(?=[^\s{]))")


def _visible_region(text: str) -> tuple[int, int]:
    """Span of text to search: after the last </think>, before trailing chat-template junk."""
    start = 0
    close = text.rfind("</think>")
    if close != -1:
        start = close + len("</think>")
        if not text[start:].strip():  # nothing after thinking: fall back to the thinking itself
            start = 0
    end = len(text)
    m = _CHAT_JUNK.search(text, start + 1)
    if m and text[start : m.start()].strip():
        end = m.start()
    return start, end


def match_brace(text: str, open_idx: int) -> int:
    """Index of the '}' closing the '{' at open_idx, or -1 if unterminated."""
    depth = 0
    i = open_idx
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "{}":
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def find_boxes(text: str, start: int = 0, end: Optional[int] = None) -> tuple[list[tuple[int, int, str]], bool]:
    """All complete boxes in text[start:end] as (span_start, span_end, content); flag if the last is truncated."""
    end = len(text) if end is None else end
    boxes: list[tuple[int, int, str]] = []
    last_truncated = False
    pos = start
    while True:
        m = _BOX_START.search(text, pos, end)
        if not m:
            break
        if m.group(1) == "{":
            close = match_brace(text, m.end() - 1)
            if close == -1 or close >= end:
                last_truncated = True
                pos = m.end()
                continue
            boxes.append((m.start(), close + 1, text[m.end() : close]))
            last_truncated = False
            pos = close + 1
        else:  # "\boxed 5": one token
            t = re.match(r"[^\s$.,;]+", text[m.end() : end])
            if not t:
                pos = m.end()
                continue
            boxes.append((m.start(), m.end() + t.end(), t.group(0)))
            last_truncated = False
            pos = m.end() + t.end()
    return boxes, last_truncated


_CONNECT_STRIP = re.compile(
    r"\\[()\[\]]|\$+|\\q?quad|\\[,;:! ]|\\text\s*\{([^{}]*)\}|\\(?:mathrm|textbf|mbox)\s*\{([^{}]*)\}|\\\\"
)


def _is_connector(between: str) -> bool:
    s = _CONNECT_STRIP.sub(lambda m: " " + (m.group(1) or m.group(2) or "") + " ", between)
    s = s.strip().lower()
    s = re.sub(r"(?:[a-z]\w*(?:_\{?\w+\}?)?|\([a-z, ]+\))\s*=\s*$", "", s).strip()
    if not re.search(r"[a-z0-9]", s):
        return True  # only punctuation / whitespace / junk like '++++'
    words = re.findall(r"[a-z0-9]+", s)
    return len(words) <= 6 and words[-1] in ("and", "or") and not re.search(r"[.!?]\s", s)


def _group_last(items: list[tuple[int, int, str]], text: str) -> tuple[int, int, str]:
    """Join the last item with preceding ones separated only by connectors ("and", ",", "\\quad")."""
    group = [items[-1]]
    for prev in reversed(items[:-1]):
        if _is_connector(text[prev[1] : group[0][0]]):
            group.insert(0, prev)
        else:
            break
    if len(group) == 1:
        return group[0]
    return group[0][0], group[-1][1], " , ".join(g[2] for g in group)


_ENV = re.compile(
    r"\$\$(?P<dd>.+?)\$\$|\\\[(?P<br>.+?)\\\]|\\\((?P<pa>[^\n]+?)\\\)|(?<![\\$])\$(?P<d>(?:[^\n$\\]|\\.)+?)\$",
    re.S,
)
_ENV_BEGIN = re.compile(r"\\begin\{(equation|align|gather|displaymath)\*?\}(.+?)\\end\{\1\*?\}", re.S)


def find_envs(text: str, start: int = 0, end: Optional[int] = None) -> list[tuple[int, int, str]]:
    end = len(text) if end is None else end
    out = []
    for m in _ENV.finditer(text, start, end):
        content = next(g for g in m.groups() if g is not None)
        if content.strip():
            out.append((m.start(), m.end(), content))
    for m in _ENV_BEGIN.finditer(text, start, end):
        out.append((m.start(), m.end(), m.group(2)))
    out.sort()
    return out


_FINAL = re.compile(
    r"(?:final\s+answer\s*(?:is|:)?|(?<![a-z])answer\s*(?:is|:)|\*\*\s*answer\s*:?\s*\*\*\s*:?)"
    r"\s*(?:[:\-]\s*)?(?:\$\\boxed)?",
    re.I,
)
_ANSWER_END = re.compile(r"\n\s*\n|I hope it is correct|\.(?:\s|$)(?![^$]*\$\s*\.?\s*$)|\n(?=[A-Z#*])")
_NUMBER = re.compile(r"(?<![A-Za-z0-9_.])-?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?|\.\d+)(?:\s*/\s*\d+)?")
_CONCLUSION_START = re.compile(r"\b(?:Therefore|Thus|Hence|So|In conclusion|Consequently|therefore|thus|hence)\b")
_CONCLUSION = re.compile(r"((?:Therefore|Thus|Hence|So|In conclusion|Consequently|therefore|thus|hence)\b[^\n]*?)(?:\.\s|\.?$|\n)")


def _answer_from_span(text: str, s: int, e: int) -> Optional[tuple[int, int, str]]:
    """Best answer inside an 'answer' span: its boxes, else its math, else text after the last ' is '."""
    seg = text[s:e]
    boxes, _ = find_boxes(text, s, e)
    if boxes:
        return _group_last(boxes, text)
    envs = find_envs(text, s, e)
    if envs:
        # "the largest $n$ is 34": the text after ' is ' wins over a variable name in math mode
        m = list(re.finditer(r"\s(?:is|are|=)\s", seg))
        if m and s + m[-1].end() > envs[-1][1] and _NUMBER.search(seg[m[-1].end():]):
            tail_start = s + m[-1].end()
            return tail_start, e, text[tail_start:e]
        return _group_last(envs, text)
    m = list(re.finditer(r"\s(?:is|are)\s", seg))
    if m:
        s = s + m[-1].end()
    ans = text[s:e].strip().strip('"').rstrip(".").strip()
    if ans and not _looks_like_answer(ans):
        nums = list(_NUMBER.finditer(text, s, e))
        if len(nums) == 1:  # "Jane started growing Sphere 3 hours ago."
            return nums[0].start(), nums[0].end(), nums[0].group(0)
    return (s, e, ans) if ans else None


def _conclusion(text: str, start: int, end: int) -> Optional[tuple[int, int, str]]:
    """'Therefore, there are 12 sequences.': the single number of the last concluding sentence."""
    starts = list(_CONCLUSION_START.finditer(text, start, end))
    if starts:
        m = _CONCLUSION.match(text, starts[-1].start(), end)
    if starts and m:
        nums = list(_NUMBER.finditer(text, m.start(1), m.end(1)))
        if len(nums) == 1 and "$" not in m.group(1):
            return nums[0].start(), nums[0].end() + (1 if text[nums[0].end():nums[0].end() + 1] == "%" else 0), nums[0].group(0) + ("%" if text[nums[0].end():nums[0].end() + 1] == "%" else "")
    return None


def _final_answer(text: str, start: int, end: int) -> Optional[tuple[int, int, str]]:
    matches = list(_FINAL.finditer(text, start, end))
    for m in reversed(matches):
        s = m.end()
        if text[m.start() : m.end()].endswith("\\boxed"):
            s = m.end() - len("$\\boxed")
        stop = _ANSWER_END.search(text, s, end)
        e = stop.start() if stop else end
        e = min(e, s + 300)
        got = _answer_from_span(text, s, e)
        if got and got[2].strip():
            return got
    return None


_BOLD = re.compile(r"\*\*([^*\n]{1,80})\*\*")


_CHOICE_PATTERNS = [
    re.compile(r"\\boxed\s*\{\s*(?:\\text(?:bf)?\s*\{)?\s*\(?([A-J])\)?(?=[\s}):.]|$)"),
    re.compile(r"answer\s*(?:is|:)?\s*[:\-]?\s*(?:option|choice)?\s*(?:\*\*)?\s*(?:\\textbf\{)?\s*\(?([A-J])\)?(?![A-Za-z])", re.I),
    re.compile(r"(?:option|choice)\s+(?:is\s+)?\(?([A-J])\)?(?![A-Za-z])"),
    re.compile(r"\\textbf\s*\{\s*\(([A-J])\)"),
    re.compile(r"\*\*\s*\(?([A-J])\)?(?:[\s.:)][^*]*)?\*\*"),
    re.compile(r"(?<![A-Za-z])\(([A-J])\)"),
]


def extract_choice(text: str, letters: str = "ABCDEFGHIJ") -> Extraction:
    """Multiple-choice letter in its common forms: \\boxed{C}, \\boxed{\\text{(C)}}, 'answer is (C)', **C**, \\textbf{(C) }."""
    start, end = _visible_region(text)
    boxes, truncated = find_boxes(text, start, end)
    if truncated:
        return Extraction(None, "truncated_box")
    for pat in _CHOICE_PATTERNS:
        hits = [m for m in pat.finditer(text, start, end) if m.group(1) in letters]
        if hits:
            m = hits[-1]
            return Extraction(m.group(1), "choice", (m.start(1), m.end(1)))
    return Extraction(None, "none")


def extract(
    text: str,
    *,
    role: Literal["prediction", "gold"] = "prediction",
    last_number: LastNumber = "short",
    short_chars: int = SHORT_CHARS,
) -> Extraction:
    """Locate the final answer. Gold strings (bare answers) fall back to the whole string."""
    if text is None:
        return Extraction(None, "none")
    if _DOUBLE_BS_CMD.search(text):
        text = _DOUBLE_BS_CMD.sub(lambda m: "\\", text)  # '\\boxed' written with an escaped backslash
    start, end = _visible_region(text)
    boxes, truncated = find_boxes(text, start, end)
    if truncated and role == "prediction":
        # The final box never closed (generation cut off): there is no final answer, whatever came before.
        return Extraction(None, "truncated_box")
    fa = _final_answer(text, start, end)
    if boxes:
        s, e, a = _group_last(boxes, text)
        if fa and fa[0] > e and role == "prediction":
            # "... \boxed{255} ... Final Answer: The final answer is $10,455$": the later statement wins
            return Extraction(fa[2], "final_answer", (fa[0], fa[1]))
        return Extraction(a, "boxed", (s, e))
    if fa:
        return Extraction(fa[2], "final_answer", (fa[0], fa[1]))
    bolds = list(_BOLD.finditer(text, start, end))
    if bolds and role == "prediction":
        m = bolds[-1]
        inner = m.group(1).strip().rstrip(":.").strip()
        if inner and re.search(r"[\d\\]|^[A-Za-z]$|^\([A-Z]\)", inner):
            return Extraction(inner, "bold", (m.start(1), m.end(1)))
    visible = text[start:end]
    if role == "gold":
        stripped = visible.strip()
        envs = find_envs(text, start, end)
        if envs:
            # a gold wrapped in $...$ (possibly several: "$1$ and $2$")
            s, e, a = _group_last(envs, text)
            if not text[start:s].strip() or len(envs) == 1 or len(stripped) < 200:
                return Extraction(a, "latex_env", (s, e))
            return Extraction(a, "latex_env", (s, e))
        return Extraction(stripped, "whole", (start, end)) if stripped else Extraction(None, "none")
    envs = find_envs(text, start, end)
    concl = _conclusion(text, max(start, end - 600), end)
    if envs:
        s, e, a = _group_last(envs, text)
        if not (concl and concl[0] > e):
            return Extraction(a, "latex_env", (s, e))
    if concl:
        return Extraction(concl[2], "conclusion", (concl[0], concl[1]))
    stripped = visible.strip()
    if stripped and len(stripped) <= short_chars:
        if _looks_like_answer(stripped):
            off = text.find(stripped, start)
            return Extraction(stripped, "whole", (off, off + len(stripped)))
    uses_math = stripped.count("$") >= 2 or "\\(" in stripped or "\\[" in stripped
    if last_number == "always" or (last_number == "short" and len(stripped) <= short_chars and not uses_math):
        nums = list(_NUMBER.finditer(text, start, end))
        if nums:
            m = nums[-1]
            return Extraction(m.group(0), "last_number", (m.start(), m.end()))
    return Extraction(None, "none")


_WORDY = re.compile(r"[A-Za-z]{3,}")
_OK_WORDS = re.compile(
    r"^(?:percent|percentage|pct|and|or|degrees?|dollars?|cents?|units?|cm|mm|km|meters?|miles?|feet|inches|"
    r"hours?|minutes?|seconds?|days?|years?|sqrt|frac|dfrac|pi|infty|cdot|times|text|mathrm|left|right|"
    r"begin|end|pmatrix|bmatrix|array|yuan|euros?|pounds?|square|cubic|sin|cos|tan|log|ln|exp|"
    r"cup|cap|emptyset|varnothing|neq|leq|geq|le|ge|pm|circ|[a-z]{3,}(?=\())$",
    re.I,
)


def _looks_like_answer(s: str) -> bool:
    """A short string that is an answer itself rather than a sentence: at most one unknown word."""
    words = _WORDY.findall(s)
    unknown = [w for w in words if not _OK_WORDS.match(w)]
    if not unknown:
        return True
    # pure text answers ("Evelyn", "odd", "regular hexagon") have no digits
    return len(unknown) <= 4 and not re.search(r"\d", s) and len(s) <= 60
