"""Was a completion cut off? Evidence from the text alone, for traces whose source gives no finish reason (replay).

A generation that hit its token cap stops wherever the cap fell: mid-sentence ("perhaps r_in is related to"),
mid-formula ("Approximating \\( \\sqrt{120"), after a heading whose content never came ("2. **Angle
Relationships**"), or inside a thinking block that never closed. On 3,700 real traces of 20 models, complete ones
end on a sentence or formula terminator in all but a handful of cases (a unit after the final box: "\\boxed{105} m"),
which are allowed here. The answer ("is it right?") is a separate question: a cut-off trace is `truncated` whatever
it said before the cut, because nothing after the cut confirms it.
"""

from __future__ import annotations

import re
from typing import Optional

# Thinking that never closed. (An unclosed <|begin_of_solution|> is left to the ending checks: models often
# state the boxed answer and omit only that marker.)
THINK_PAIRS = (("<think>", "</think>"), ("<|begin_of_thought|>", "<|end_of_thought|>"))
_TAIL_JUNK = re.compile(
    r"(?:\s|<\|(?:im_end|endoftext|eot_id|end_of_text|end_of_solution|end_of_thought)\|>|</s>)*"
    r"(?:<\|?[a-z_]*)?\s*$"
)  # a closing marker cut mid-token ('<|end_of_') ends the text
_TERMINAL = set(".!?)]}$*\"'`»")
_HEADING = re.compile(r"^\s*(?:\d+[.)]\s*|#+\s*|[-*]\s+)?\*\*([^*\n.!?]{1,60})\*\*\s*:?\s*$|^\s*#+\s+([^\n.!?]{1,60})$")
_DANGLING_WORD = re.compile(
    r"\b(?:and|or|but|the|a|an|to|of|is|are|was|were|be|that|which|with|for|in|by|if|then|so|because|since|"
    r"when|where|as|than|from|at|on|into|let|let's|perhaps|maybe|wait|alternatively|hmm|therefore|thus|hence|"
    r"equals|gives|get|we|i)\s*$",
    re.I,
)
_BOX_THEN_UNIT = re.compile(r"\\boxed\s*\{.*\}\s*\$?\s*(?:\\\)|\\\])?\s*[A-Za-z%°.]{0,12}(?:\s+[A-Za-z.]{1,12}){0,2}$")
_ANSWER_LINE = re.compile(r"(?:answer|####)[^\n]{0,40}?[:=\s]\s*\$?-?[\w\\{}^./+-]{1,40}\$?$", re.I)


def _unbalanced(par: str) -> Optional[str]:
    """The text ends inside a formula: its last opening delimiter comes after its last closing one (a typo earlier
    in the paragraph, such as a stray '\\(', does not count once a later formula closes)."""
    if par.rfind("\\(") > par.rfind("\\)"):
        return "unclosed \\("
    if par.rfind("\\[") > par.rfind("\\]"):
        return "unclosed \\["
    if len(re.findall(r"(?<!\\)\$\$", par)) % 2:
        return "unclosed $$"
    depth = 0
    for ch in re.sub(r"\\[{}]", "", par):
        depth += (ch == "{") - (ch == "}")
    if depth > 0 and not par.rstrip().endswith((".", "\\]", "\\)", "$")):
        return "unclosed {"
    return None


def cut_off(text: Optional[str]) -> Optional[str]:
    """A short reason when the text shows it was cut off, else None (looks complete)."""
    if text is None or not text.strip():
        return None  # empty is a failed or degenerate output, not a cut-off one
    for open_t, close_t in THINK_PAIRS:
        if open_t in text and close_t not in text[text.find(open_t) :]:
            return f"{open_t} never closed"
    end = _TAIL_JUNK.search(text).start()
    body = text[:end]
    paragraphs = [p for p in re.split(r"\n\s*\n", body) if p.strip()]
    last_par = paragraphs[-1] if paragraphs else body
    lines = [x for x in body.splitlines() if x.strip()]
    last_line = lines[-1] if lines else body
    heading = _HEADING.match(last_line)
    if heading and not re.search(r"\d|\\boxed", heading.group(1) or heading.group(2) or ""):
        return "ends on a heading"
    if re.search(r"(?::\s*\*\*|\*\*\s*:)\s*$", last_line):
        return "ends on a bold lead-in whose content never came"  # '**Therefore, the value of f(1/5) is:**'
    why = _unbalanced(last_par)
    if why:
        return f"ends inside a formula ({why})"
    last = body.rstrip()[-1]
    if last in _TERMINAL:
        return None
    if _BOX_THEN_UNIT.search(last_line) or _ANSWER_LINE.search(last_line):
        return None  # '\boxed{105} m', 'Answer: 42', '#### 42'
    if last in ",;:+-=*/^_(<\\&|" or _DANGLING_WORD.search(body):
        return "ends mid-sentence"
    return "ends without a sentence or formula terminator"
