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


_BRACE_TOKEN = re.compile(r"\\[{}]|[{}]")


def _brace_map(text: str, start: int, end: int) -> dict[int, int]:
    """open '{' index -> its closing '}' index for text[start:end], in one pass (unclosed opens are absent).

    Same pairing as match_brace (an escaped \\{ or \\} does not count), but linear: a degenerate output of
    thousands of unterminated boxes would make one match_brace per box quadratic. The regex visits only braces,
    not every character (most of a 3,000-character response has none)."""
    out: dict[int, int] = {}
    stack: list[int] = []
    for m in _BRACE_TOKEN.finditer(text, start, end):
        tok = m.group()
        if tok == "{":
            stack.append(m.start())
        elif tok == "}" and stack:
            out[stack.pop()] = m.start()
    return out


def find_boxes(text: str, start: int = 0, end: Optional[int] = None) -> tuple[list[tuple[int, int, str]], bool]:
    """All complete boxes in text[start:end] as (span_start, span_end, content); flag if the last is truncated."""
    end = len(text) if end is None else end
    boxes: list[tuple[int, int, str]] = []
    last_truncated = False
    pos = start
    braces: Optional[dict[int, int]] = None
    while True:
        m = _BOX_START.search(text, pos, end)
        if not m:
            break
        if m.group(1) == "{":
            if braces is None:
                braces = _brace_map(text, m.end() - 1, end)
            close = braces.get(m.end() - 1, -1)
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


_NAME_EQ_END = re.compile(r"(?:[a-z]\w*(?:_\{?\w+\}?)?|\([a-z, ]+\))\s*=\s*$")  # a trailing 'x =' / '(a, b) ='
_CONNECT_REPL = r" \1\2 "  # the kept text of \text{..} or \mathrm{..} (an unmatched group is ''), done in C


def _is_connector(between: str) -> bool:
    s = _CONNECT_STRIP.sub(_CONNECT_REPL, between)
    s = s.strip().lower()
    if s.endswith("="):  # only then can it end in 'x =' (s is stripped); the search from every letter costs
        s = _NAME_EQ_END.sub("", s).strip()
    if not re.search(r"[a-z0-9]", s):
        return True  # only punctuation / whitespace / junk like '++++'
    words = re.findall(r"[a-z0-9]+", s)
    return len(words) <= 6 and words[-1] in ("and", "or") and not re.search(r"[.!?]\s", s)


MAX_GROUP = 8  # more adjacent boxes than this is a degenerate repetition loop, not a list answer


def _explicit_connector(between: str) -> bool:
    """Math environments are joined only by a visible list connector (',', ';', 'and', 'or'), never by a line
    break: consecutive display equations are steps of a derivation, not a list of answers."""
    s = _CONNECT_STRIP.sub(_CONNECT_REPL, between).strip().lower()
    return bool(s) and _is_connector(between) and bool(re.search(r"[,;]|\b(?:and|or)\b", s))


def _group_last(items: list[tuple[int, int, str]], text: str, strict: bool = False) -> tuple[int, int, str]:
    """Join the last item with preceding ones separated only by connectors ("and", ",", "\\quad")."""
    group = [items[-1]]
    connected = _explicit_connector if strict else _is_connector
    for prev in reversed(items[:-1]):
        if len(group) > MAX_GROUP:
            break
        if connected(text[prev[1] : group[0][0]]):
            group.insert(0, prev)
        else:
            break
    contents = list(dict.fromkeys(g[2].strip() for g in group))  # "\boxed{16}. \boxed{16}. ..." is one answer
    if len(group) > MAX_GROUP or len(contents) == 1:
        return group[-1]
    return group[0][0], group[-1][1], " , ".join(contents)


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


_FINAL = re.compile(  # the lookahead only lets the scan skip positions no alternative can start at (~40% faster)
    r"(?=[fFaA*])(?:final\s+answer\s*(?:is|:)?|(?<![a-z])answer\s*(?:is|:)|\*\*\s*answer\s*:?\s*\*\*\s*:?)"
    r"\s*(?::\s*|-\s+)?(?:\$\\boxed)?",  # 'Answer - 5' is a dash, 'answer is -3' a minus sign
    re.I,
)
_ANSWER_END = re.compile(r"\n\s*\n|I hope it is correct|\.(?:\s|$)(?![^$]*\$\s*\.?\s*$)|\n(?=[A-Z#*])")
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.])-?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?|\.\d+)(?:\s*/\s*\d+)?"
    r"(?!\d|(?:st|nd|rd|th)\b)"
)  # '8th grade' is an ordinal, not a value
_CONCLUSION_START = re.compile(r"\b(?:Therefore|Thus|Hence|So|In conclusion|Consequently|therefore|thus|hence)\b")
_CONCLUSION = re.compile(
    r"((?:Therefore|Thus|Hence|So|In conclusion|Consequently|therefore|thus|hence)\b[^\n]*?)(?:\.\s|\.?$|\n)"
)


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
        if m and s + m[-1].end() > envs[-1][1] and _NUMBER.search(seg[m[-1].end() :]):
            tail_start = s + m[-1].end()
            return tail_start, e, text[tail_start:e]
        return _group_last(envs, text)
    m = list(re.finditer(r"\s(?:is|are)\s", seg))
    if m:
        s = s + m[-1].end()
    ans = text[s:e].strip().strip('"').rstrip(".").rstrip("*").strip()
    if ans and not _looks_like_answer(ans):
        nums = list(_NUMBER.finditer(text, s, e))
        if len(nums) == 1:  # "Jane started growing Sphere 3 hours ago."
            return nums[0].start(), nums[0].end(), nums[0].group(0)
    return (s, e, ans) if ans else None


_CLAIM = re.compile(
    r"(?:\bis|\bare|=|\bequals|\bto|\bbe|\barrived\s+at|\bget|\bgot|\bobtain(?:ed)?)\s+(?:indeed\s+|exactly\s+|just\s+|simply\s+|equal\s+to\s+|then\s+)*"
    r"\$?\s*(" + _NUMBER.pattern + r")(?!\s*[\^*+\-/]\s*\d)\s*(%?)",
)
_CLAIMED_ANSWER = re.compile(
    r"(?<![\w.])(" + _NUMBER.pattern + r")\s+is\s+(?:indeed\s+)?(?:the|my)\s+(?:correct|final|right)\b"
)


# After its conclusion a trace may check it ('To check: 280 - 48 = 232'); the check's numbers are not the answer.
_CHECK_CUE = re.compile(
    r"\b(?:to check|let(?:'s| me| us) (?:check|verify|double-check)|verif(?:y|ication)"
    r"|double-check|sanity check)\b|\bcheck(?:ing)?:",
    re.I,
)


_AFFIRM = re.compile(
    r"\b(?:checks? out|matches|consistent(?:ly)?|confirm(?:s|ed)?|makes sense|confident|correct|"
    r"is right|verified|adds up)\b",
    re.I,
)


def _before_check(text: str, start: int, end: int) -> Optional[int]:
    """Where the response's closing check begins, when it ends by affirming an earlier result ('Let me
    double-check: ... 280 - 48 = 232, which matches. Everything checks out.', "I'm confident that's the correct
    answer.") without revising it; None otherwise."""
    body_end = tail_junk_start(text, start, end)
    last = max(text.rfind(". ", start, body_end - 2), text.rfind("\n", start, body_end - 2)) + 1
    last = max(last, start)
    if not _AFFIRM.search(text, last, body_end):
        return None
    cues = list(_CHECK_CUE.finditer(text, max(start, body_end - 1500), body_end))
    if not cues:
        return None if _NUMBER.search(text, last, body_end) else last
    c = cues[-1].start()
    if _REVISION.search(text, c, body_end) or _CLAIMED_ANSWER.search(text, c, body_end):
        return None  # the check found something else, or states the answer itself: what it ends with counts
    return max(text.rfind(". ", start, c), text.rfind("\n", start, c), start - 1) + 1


_REVISION = re.compile(
    r"\b(?:actually|instead|mistake|wrong|error|incorrect|answer is|(?:does not|doesn't|did not|"
    r"didn't) (?:match|check|work))\b",
    re.I,
)


_UNIT_WORD_END = re.compile(r"\s*[A-Za-z]+[.!]?\s*")  # '... arrived at 8 meals.'


def _conclusion(text: str, start: int, end: int) -> Optional[tuple[int, int, str]]:
    """'Therefore, there are 12 sequences.' / 'Thus the number of divisors of 196 is 9.' / '1940 is the correct
    number': the number a concluding sentence states, else None (a sentence with several loose numbers is not one)."""
    best: Optional[tuple[int, int, str]] = None
    m = None
    starts = list(_CONCLUSION_START.finditer(text, start, end))
    if starts:
        m = _CONCLUSION.match(text, starts[-1].start(), end)
    if m:
        sent_s, sent_e = m.start(1), m.end(1)
        nums = list(_NUMBER.finditer(text, sent_s, sent_e))
        claims = list(_CLAIM.finditer(text, sent_s, sent_e))
        if claims and claims[-1].end() >= sent_e - 40:
            c = claims[-1]
            best = c.start(1), c.end(2), c.group(1) + c.group(2)
        elif len(nums) == 1 and "$" not in m.group(1) and "\\(" not in m.group(1):
            pct = text[nums[0].end() : nums[0].end() + 1] == "%"
            best = nums[0].start(), nums[0].end() + pct, nums[0].group(0) + ("%" if pct else "")
    last = max(text.rfind(". ", start, end - 2), text.rfind("\n", start, end - 2)) + 1
    checking = best is not None and _CHECK_CUE.search(text, best[1], end)
    if best is None or (best[0] < last and not checking):
        # the response's last sentence: "The integer value of \\( x \\) is 45."
        claims = list(_CLAIM.finditer(text, max(last, start), end))
        if claims and (end - claims[-1].end() <= 3 or _UNIT_WORD_END.fullmatch(text, claims[-1].end(), end)):
            c = claims[-1]
            best = c.start(1), c.end(2), c.group(1) + c.group(2)
    for c in _CLAIMED_ANSWER.finditer(text, start, end):
        if best is None or c.start() > best[0]:
            best = c.start(1), c.end(1), c.group(1)
    return best


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
        if got and got[2].strip() and _answer_like(got[2]):
            w = re.match(r"(?:" + "|".join(_NUM_WORD_LIST) + r")\b(?=\s+[a-z])", got[2].strip(), re.I)
            if w:  # "the answer is three boxes contain neither ...": the number word is the answer
                off = text.find(w.group(0), got[0])
                return off, off + len(w.group(0)), w.group(0)
            return got
    return None


_PROSE_ANSWER = re.compile(
    r"^(?:correct|incorrect|right|wrong|clear|clearly|indeed|verified|consistent|confirmed|as follows|follows|"
    r"below|above|the|a|an|to|that|this|it|not|no|yes|true|false|in|of|for|on|at|by|with|highlighted|boxed|"
    r"presented|given|shown|stated|obtained|found|calculated|correctly|therefore|thus|so|now|then|we|i|is|are|"
    r"be|been|was|were|has|have|had|should|would|could|can|will|problem|question|solution|answer)$",
    re.I,
)


def _answer_like(ans: str) -> bool:
    """Reject 'the final answer is correct', '... clearly highlighted', '? It seems ...': prose, not an answer."""
    a = ans.strip().strip("*").strip()
    if not a or a[0] in "?!":
        return False
    if re.search(r"[\d\\^_=]", a) or len(a) <= 2:
        return True
    words = re.findall(r"[A-Za-z]+", a)
    if words and all(_PROSE_ANSWER.match(w) for w in words):
        return False
    return len(words) <= 4 or bool(re.match(r"(?:" + "|".join(_NUM_WORD_LIST) + r")\b", a, re.I))


_NUM_WORD_LIST = (
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
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "hundred",
)


_BOLD = re.compile(r"\*\*([^*\n]{1,80})\*\*")


_CHOICE_PATTERNS = [
    re.compile(r"\\boxed\s*\{\s*(?:\\text(?:bf)?\s*\{)?\s*\(?([A-J])\)?(?=[\s}):.]|$)"),
    re.compile(
        r"answer\s*(?:is|:)?\s*[:\-]?\s*(?:option|choice)?\s*(?:\*\*)?\s*(?:\\textbf\{)?\s*\(?([A-J])\)?(?![A-Za-z])",
        re.I,
    ),
    re.compile(r"(?:option|choice)\s+(?:is\s+)?\(?([A-J])\)?(?![A-Za-z])"),
    re.compile(r"\\textbf\s*\{\s*\(([A-J])\)"),
    re.compile(r"\*\*\s*\(?([A-J])\)?(?:[\s.:)][^*]*)?\*\*"),
    re.compile(r"(?<![A-Za-z])\(([A-J])\)"),
    re.compile(r"\A\s*([A-J])(?:[.:)]\s|\s*$)"),  # a bare option, or 'C. x = 42' (the option then its text)
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


_STRAY_BS_CLOSE = re.compile(r"(?<!\\)\\\}(?=\s*(?:\$|\\\]|\\\)|\.?\s*$))")


def extract(
    text: str,
    *,
    role: Literal["prediction", "gold"] = "prediction",
    last_number: LastNumber = "short",
    short_chars: int = SHORT_CHARS,
    allow_letter: bool = False,
) -> Extraction:
    """Locate the final answer. Gold strings (bare answers) fall back to the whole string.

    allow_letter: accept a bare letter ('x', 'b') found in unboxed math as the answer (only when the gold is a
    letter); otherwise such a span is a variable name from the reasoning, not an answer.
    """
    if text is None:
        return Extraction(None, "none")
    if _DOUBLE_BS_CMD.search(text):
        text = _DOUBLE_BS_CMD.sub(lambda m: "\\", text)  # '\\boxed' written with an escaped backslash
    start, end = _visible_region(text)
    boxes, truncated = find_boxes(text, start, end)
    if truncated and role == "gold":
        # Gold strings are bare answers: a stray unterminated '\boxed{' wrapper is a data typo, not a cut-off.
        m = list(_BOX_START.finditer(text, start, end))[-1]
        inner = text[m.end() : end].strip()
        if not boxes or boxes[-1][0] < m.start():
            return Extraction(inner, "gold_unterminated_box", (m.end(), end)) if inner else Extraction(None, "none")
    if truncated and role == "prediction":
        fixed = _STRAY_BS_CLOSE.sub("}", text[:end]) if "\\}" in text[start:end] else None
        if fixed is not None and not find_boxes(fixed, start, len(fixed))[1]:
            # '\boxed{5\}$': a stray backslash before the closing brace, not a cut-off (same offsets, 1 char less)
            return extract(
                fixed + text[end:],
                role=role,
                last_number=last_number,
                short_chars=short_chars,
                allow_letter=allow_letter,
            )
        # The final box never closed (generation cut off): there is no final answer, whatever came before.
        return Extraction(None, "truncated_box")
    if boxes and role == "prediction" and not boxes[-1][2].strip():
        return Extraction(None, "empty_box")  # '\boxed{}' last: a template echoed or a degenerate loop
    boxes = [b for b in boxes if b[2].strip()]
    fa = _final_answer(text, start, end)
    if boxes:
        s, e, a = _group_last(boxes, text)
        if fa and fa[0] > e and role == "prediction":
            # "... \boxed{255} ... Final Answer: The final answer is $10,455$": the later statement wins
            return Extraction(fa[2], "final_answer", (fa[0], fa[1]))
        return Extraction(a, "boxed", (s, e))
    if fa and role == "prediction" and len(text[start:end].strip()) > LONG_CHARS and not _committed(text, fa, end):
        fa = None  # 'If n can only be 64, then the answer is 64. But ...' 20k characters before the end
    if fa and (allow_letter or not _bare_letter(fa[2])):
        return Extraction(fa[2], "final_answer", (fa[0], fa[1]))
    bold = None
    for m in reversed(list(_BOLD.finditer(text, start, end))) if role == "prediction" else ():
        inner = m.group(1).strip().rstrip(":.").strip()
        if _STEP_HEADER.match(inner) or m.group(1).rstrip().endswith(":") or _LEAD_IN.search(inner):
            continue  # '**Step 3: Combine 5 and 7**' names a step; its numbers are not the answer
        if inner and re.search(r"[\d\\]|^[A-Za-z]$|^\([A-Z]\)", inner) and (allow_letter or not _bare_letter(inner)):
            bold = Extraction(inner, "bold", (m.start(1), m.end(1)))
        break
    if bold is not None:
        later = _env_answer(text, bold.span[1], end, len(text[start:end].strip()) > LONG_CHARS, allow_letter)
        if later is None:  # a display equation after the bold line states the result: it wins
            return bold
    visible = text[start:end]
    if role == "gold":
        stripped = visible.strip()
        envs = find_envs(text, start, end)
        if envs:
            # a gold wrapped in $...$ (possibly several: "$1$ and $2$")
            s, e, a = _group_last(envs, text)
            return Extraction(a, "latex_env", (s, e))
        return Extraction(stripped, "whole", (start, end)) if stripped else Extraction(None, "none")
    stripped = visible.strip()
    cut = _before_check(text, start, end)
    if cut is not None:
        c = _conclusion(text, max(start, cut - 600), cut)
        if c:  # 'Therefore, Frank answered 56 ...  Let me double-check: 280 - 48 = 232 ... Everything checks out.'
            return Extraction(c[2], "conclusion", (c[0], c[1]))
        e = _env_answer(text, start, cut, len(stripped) > LONG_CHARS, allow_letter)
        if e:  # 'Therefore, the diagonal is \\(11\\sqrt{2}\\). To verify, ... = 242, which matches.'
            return Extraction(e[2], "latex_env", (e[0], e[1]))
    concl = _conclusion(text, max(start, end - 600), end)
    env = _env_answer(text, start, end, len(stripped) > LONG_CHARS, allow_letter)
    if env and not (concl and concl[0] > env[1]):
        return Extraction(env[2], "latex_env", (env[0], env[1]))
    if concl:
        return Extraction(concl[2], "conclusion", (concl[0], concl[1]))
    if stripped and len(stripped) <= short_chars:
        if _looks_like_answer(stripped) and _answer_like(stripped) and (allow_letter or not _bare_letter(stripped)):
            off = text.find(stripped, start)
            return Extraction(stripped, "whole", (off, off + len(stripped)))
    uses_math = stripped.count("$") >= 2 or "\\(" in stripped or "\\[" in stripped
    if last_number == "always" or (last_number == "short" and len(stripped) <= short_chars and not uses_math):
        nums = list(_NUMBER.finditer(text, start, end))
        if nums:
            m = nums[-1]
            return Extraction(m.group(0), "last_number", (m.start(), m.end()))
    return Extraction(None, "none")


_LEAD_IN = re.compile(r"\b(?:is|are|be|equals|to|of|as|the)$", re.I)  # '**Therefore, the value of f(1/5) is:**'
_STEP_HEADER = re.compile(r"^(?:(?:step|part|case|method|approach|stage)\s*\d+|\d+[.)]\s)", re.I)
_HYPOTHETICAL = re.compile(r"\b(?:if|suppose|supposing|assuming|assume|maybe|perhaps|would|unless|whether)\b", re.I)
COMMIT_TAIL = 600  # characters of further text a long response may write after its stated answer


def _committed(text: str, fa: tuple[int, int, str], end: int) -> bool:
    """A long response commits to an 'answer is' statement when it is not conditional and comes at its end
    (or only a check of it follows); one that floats mid-reasoning is a step, not the final answer."""
    sent_start = max(text.rfind(". ", 0, fa[0]), text.rfind("\n", 0, fa[0])) + 1
    if _HYPOTHETICAL.search(text, sent_start, fa[0]):
        return False
    if re.search(r"final\s+answer", text[max(sent_start, fa[0] - 60) : fa[0]], re.I):
        return True  # 'Final Answer: The final answer is 14,916. I hope it is correct. [Note: ...]'
    rest = text[fa[1] : end]
    return len(rest.strip()) <= COMMIT_TAIL or bool(_CHECK_CUE.match(rest.lstrip(" .\n*$\\)]")))


LONG_CHARS = 1000  # past this, unboxed math counts only where a response ends, not anywhere in its reasoning
_TAIL_JUNK = re.compile(r"(?:\s|<\|[a-z_]+\|>|[.!)*])*$")  # the definition; tail_junk_start computes it
_CHAT_NAME = frozenset("abcdefghijklmnopqrstuvwxyz_")


def tail_junk_start(text: str, start: int, end: int) -> int:
    """Where the trailing run of whitespace, '.!)*' and chat tokens ('<|im_end|>') begins in text[start:end]:
    `_TAIL_JUNK.search(text, start, end).start()`, found from the end. The regex search tried every start
    position of a 3,000-character response (about a third of the in-process time of an unboxed answer)."""
    i = end
    while i > start:
        c = text[i - 1]
        if c.isspace() or c in ".!)*":
            i -= 1
            continue
        if c == ">" and i - 2 > start and text[i - 2] == "|":  # '<|name|>': a name of [a-z_]+ between bars
            n = i - 2
            while n > start and text[n - 1] in _CHAT_NAME:
                n -= 1
            if n < i - 2 and n - 2 >= start and text[n - 2 : n] == "<|":
                i = n - 2
                continue
        break
    return i


_NOT_ANSWER_MATH = re.compile(
    r"\\(?:neq?|equiv|pmod|bmod|implies|Rightarrow|Longrightarrow|to|iff|mid|nmid)(?![a-zA-Z])|\.\.\.|\\[lc]?dots"
)
_BARE_LETTER = re.compile(r"\s*(?:[A-Za-z]|\\(?:alpha|beta|gamma|theta|lambda|mu)|[A-Za-z]_\{?\w+\}?)\s*")


def _bare_letter(s: str) -> bool:
    return bool(_BARE_LETTER.fullmatch(s.strip().strip("$").replace("\\(", "").replace("\\)", "")))


def _env_value(content: str, allow_letter: bool, long: bool) -> Optional[str]:
    """An unboxed math span as an answer, or None for a bare variable ('x', 'b'), an unfinished line ('93 -') and,
    inside long reasoning, a congruence, inequation or implication (steps, not answers)."""
    c = content.strip()
    if not c or (long and _NOT_ANSWER_MATH.search(c)):
        return None
    if re.search(r"(?:[+\-*/=,(]|\\(?:cdot|times|frac))\s*$", c):
        return None
    if not allow_letter and _bare_letter(c):
        return None
    return c


def _env_answer(text: str, start: int, end: int, long: bool, allow_letter: bool) -> Optional[tuple[int, int, str]]:
    """Last unboxed math that states an answer. In a long response only math that ends the response counts."""
    envs = find_envs(text, start, end)
    if not envs:
        return None
    text_end = tail_junk_start(text, start, end)
    s, e, a = _group_last(envs, text, strict=True)
    if long and text_end - e > 150:
        return None
    if re.search(r"\n\s*\n\s*\S+\s+\S+\s+\S+", text[e:text_end]):
        return None  # a later paragraph goes on reasoning ("But then the sum is 3 +1"): not the final statement
    if " , " in a and not all(_env_value(x, allow_letter, long) for x in a.split(" , ")):
        s, e, a = envs[-1]
    v = _env_value(a, allow_letter, long)
    return (s, e, v) if v else None


_WORDY = re.compile(r"[A-Za-z]{3,}")
_OK_WORDS = re.compile(
    r"^(?:percent|percentage|pct|and|or|degrees?|dollars?|cents?|units?|cm|mm|km|meters?|miles?|feet|inches|"
    r"hours?|minutes?|seconds?|days?|years?|sqrt|frac|dfrac|tfrac|[dt]?binom|b?mod|textbf|mathbf|pi|infty|cdot|times|text|mathrm|left|right|"
    r"begin|end|pmatrix|bmatrix|array|yuan|euros?|pounds?|square|cubic|sin|cos|tan|log|ln|exp|"
    r"cup|cap|emptyset|varnothing|neq|leq|geq|le|ge|pm|circ|[a-z]{3,}(?=\())$",
    re.I,
)


def _looks_like_answer(s: str) -> bool:
    """A short string that is an answer itself rather than a sentence: at most one unknown word."""
    words = _WORDY.findall(re.sub(r"(?<=[\d)])(?:or|and)(?=[A-Za-z(\\-])", " ", s))  # 'W(x)=1orW(x)=-1'
    unknown = [w for w in words if not _OK_WORDS.match(w)]
    if not unknown:
        return True
    # pure text answers ("Evelyn", "odd", "regular hexagon") have no digits
    return len(unknown) <= 4 and not re.search(r"\d", s) and len(s) <= 60
