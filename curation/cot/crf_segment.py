"""DLCoT segmentation by a linear-chain CRF over the cue features of each paragraph (the default segmenter).

The hand-written rules of `HeuristicSegmenter` fit the traces they were tuned on (boundary F1 0.90) much better
than fresh ones (0.66–0.75): every rule is a guess about which cue wins when several fire. Here the same cues
(cue phrases, "has the trace stated its final answer yet?", colon-announced formulas, position, the first words)
are features, and a CRF (python-crfsuite) learns from the hand-labelled set how much each one counts and which part
may follow which. It stays deterministic and needs no GPU or model download (the weights ship with the package,
~670 kB); its features cost about 2.7x the rules' time per trace, so `ParallelSegmenter` spreads big batches over
processes. Held out (`heldout6`, tests/data/segmentation/README.md): boundary F1 0.648 vs 0.494 for the rules
(0.82 / 0.44 on traces of 5-8k / 8k+ chars; `heldout5`, shorter: 0.719 vs 0.642).

Tags per paragraph of the thinking part: Q (question repeat), U (understanding), A+ / A (an approach starts /
goes on), V+ / V (a verification step starts / goes on), C (conclusion), O (other). Text from the end-of-thought
marker on is one conclusion segment, as in the heuristic segmenter. Training refines the approach tags (A! for the
paragraph where an approach hands over to a check or the conclusion, A2… for the second and later approaches; see
`tags_from_segments`); decoding reads only their first letter and "+".

Train (and cross-validate) on a labelled file: `python -m curation.cot.crf_segment train --labels FILE --out MODEL`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import tempfile
import threading
from pathlib import Path
from typing import Iterable

from . import segment as S
from .segment import Segment, validate

MODEL_PATH = Path(__file__).with_name("models") / "dlcot_segmenter.crfsuite"
CODE_DATA = ("models/dlcot_segmenter.crfsuite",)  # the weights are behaviour: part of the segment stage's code version
# Trained on every labelled split except the held-out one (see tests/data/segmentation/README.md).
HELDOUT_SPLITS = ("heldout6",)
# Strong L2: cross-validated F1 0.732 (c2 0.05) -> 0.747 (0.8) on 215 traces; plateau from 0.8 to 1.6.
PARAMS = {"c1": 0.1, "c2": 0.8, "max_iterations": 200, "feature.possible_transitions": True}

_SHORT = {
    "question_repeat": "Q",
    "understanding": "U",
    "approach": "A",
    "verification": "V",
    "conclusion": "C",
    "other": "O",
}
_LONG = {"Q": "question_repeat", "U": "understanding", "C": "conclusion", "O": "other"}
_WORDS = re.compile(r"[a-z']+|\?")
# Giving up on the current method ("This is getting messy.", "Let me think differently.") and naming another one
# anywhere near the start of a paragraph, not only as its first words (long traces bury the cue).
ABANDON = S.Cue(
    r"\b(?:messy|complicated|complex|confusing|tedious|time-consuming|a pain|overcomplicat\w*|cumbersome|"
    r"stuck|dead end|not (?:helpful|working|getting anywhere|leading anywhere|sure (?:if|that|this|how))|"
    r"(?:does|did)n'?t (?:help|work|seem to (?:help|work|lead))|going in circles|not the right way)\b",
    (
        "messy",
        "compl",
        "confusing",
        "tedious",
        "time-consuming",
        "a pain",
        "cumbersome",
        "stuck",
        "dead end",
        "not ",
        "t help",
        "t work",
        "t seem",
        "circles",
    ),
)
OTHER_METHOD = S.Cue(
    r"\b(?:another|different|better|simpler|smarter|new|alternative|more direct|easier|cleverer|other)\s+"
    r"(?:approach|way|method|strategy|substitution|idea|tactic|angle)\b|\bthink (?:about (?:it|this) )?differently\b|"
    r"\b(?:approach|tackle|look at) (?:this|it|the problem) differently\b",
    ("approach", "way", "method", "strategy", "substitution", "idea", "tactic", "angle", "differently"),
)
_NEIGHBOUR = ("oa", "oc", "aff", "hit", "hit2", "colon", "conc", "work", "isq", "und", "ast", "abandon", "othermethod")
SPAN_CAP = 2000
OPENING = 12  # restatement features only where the opening can be (no label has one past paragraph 8)


def closing_values(text: str, ptext: list[str], final: str | None) -> set[str]:
    """Normalised values the trace closes with: what its last thought paragraphs state and the last results its
    written solution states. An approach often reaches one of these (p = 1/2) before the final answer the problem
    asks for (m + n = 3). Only values (no unknowns, at least two digits unless it is the final answer itself): a
    bare "1" or "m + 1" would match everywhere."""
    from .answers import _candidates, approach_answer, not_final

    vals = [approach_answer(p) for p in ptext[-3:]]
    m = S.END_OF_THOUGHT.search(text)
    if m is not None:
        vals += [a for _, a in sorted(_candidates(text[m.end() : m.end() + 4000]))[-6:]]
    keep = {S._norm_math(final)} if final else set()
    for v in vals:
        if v and not not_final(v, "0") and (len(re.findall(r"\d", v)) >= 2 or v == final):
            keep.add(S._norm_math(v))
    return keep


_NUMBER = re.compile(r"(?<![\d.])\d+(?![\d.]\d)")
_STATES = re.compile(r"=|\b(?:is|are|equals|gives|get|answer)\b|\\boxed", re.I)


def answer_states(text: str, ptext: list[str]) -> tuple[list[bool], list[bool]]:
    """Per paragraph: does it state the trace's final answer (`hit`), and one of the values the trace closes
    with (`hit2`)? A paragraph states a value when the value occurs in it (as a whole number, for integers) and
    its end says something is something ("=", "is", "gives", boxed). This is a feature, not a verdict: running the
    answer extractor instead measured the same cross-validated F1 (0.770 vs 0.773) at a third more time."""
    final = S.final_answer(text)
    fnorm = S._norm_math(final) if final else None
    values = closing_values(text, ptext, final)
    targets = values | ({fnorm} if fnorm else set())
    digits = {S._DIGITS.sub("", v) for v in targets}
    plain = all(v.isdigit() for v in targets)  # integers (most final answers): no normalisation needed
    hit, hit2 = [False] * len(ptext), [False] * len(ptext)
    if targets:
        for j, p in enumerate(ptext):
            if S.lacks_digits(p, *digits):
                continue
            if not _STATES.search(p[-400:]):
                continue
            if plain and p.isascii():
                found = set(_NUMBER.findall(p)) & targets
            else:
                norm = S._norm_math(p)
                found = {v for v in targets if v in norm}
            hit[j] = fnorm in found
            hit2[j] = bool(found & values)
    if not fnorm or not any(hit):  # the trace never restates its final answer: any answer statement counts
        hit = [S.states_answer(p) for p in ptext]
    return hit, hit2


def paragraph_features(ptext: list[str], problem: str | None, text: str) -> list[dict[str, float]]:
    """One sparse feature dict per paragraph of the thinking part (cues of the paragraph and of its neighbours,
    and the trace state around it: answered yet, answer reached since the last cue, span up to the next cue).
    Written for speed (it is most of the segmenter's time): per-feature lists first, one dict per paragraph
    built only from the features that fire."""
    n = len(ptext)
    hit, hit2 = answer_states(text, ptext)
    first_hit2 = next((j for j, x in enumerate(hit2) if x), n)
    first_hit = next((j for j, x in enumerate(hit) if x), n)
    later = [False] * n  # an answer is stated after paragraph j
    for j in range(n - 2, -1, -1):
        later[j] = later[j + 1] or hit[j + 1]
    cue = S.opener_cues(ptext)
    heads, ways, oa, oc = cue["heads"], cue["ways"], cue["oa"], cue["oc"]
    sizes = [len(p.strip()) for p in ptext]
    to_cue = [0] * n  # characters from paragraph j up to the next cue paragraph (capped)
    acc = 0
    for j in range(n - 1, -1, -1):
        acc = sizes[j] + (0 if j + 1 < n and (oa[j + 1] or oc[j + 1]) else acc)
        to_cue[j] = min(acc, SPAN_CAP)
    lead_words = [_WORDS.findall(p[:80].lower()) for p in ptext]
    firsts = [S._first_sentence(p, 400) for p in ptext]
    colon = [p.rstrip().endswith(":") for p in ptext]
    formula = [S._is_formula(p) for p in ptext]
    cont = [j > 0 and S._continues_previous(ptext[j - 1], ptext[j]) for j in range(n)]
    opening = range(min(n, OPENING))  # restatement features only where the opening can be
    flags = {  # cue features that do not depend on the trace state, one list per feature
        "tag": [bool(S._TAG.match(ptext[j])) for j in opening],
        "oa": oa,
        "oc": oc,
        "newap": cue["newap"],
        "ver": cue["ver"],
        "weak": cue["weak"],
        "chk": cue["chk"],
        "aff": cue["aff"],
        "qc": S.QUESTION_CUE.each(firsts),
        "isq": [S.is_question_repeat(ptext[j], problem) for j in opening],
        "und": S.UNDERSTAND.each(heads),
        "ast": S.APPROACH_START.each(heads),
        "asked": S.ASKED.each(heads),
        "another": S.ANOTHER_WAY.each(heads, ways),
        "asksother": cue["asksother"],
        "plan": S.PLAN.each([h[:80] for h in heads]),
        "conc": S.CONCLUSION_CUE.each(heads),
        "hit": hit,
        "hit2": hit2,
        "work": [S.is_work(p) for p in ptext],
        "restates": [S.restates(ptext[j], problem) for j in opening],
        "formula": formula,
        "cont": cont,
        "colon": colon,
        "qmark": ["?" in f[:200] for f in firsts],
        "boxed": ["\\boxed" in p for p in ptext],
        "abandon": ABANDON.each([p[:200] for p in ptext]),
        "othermethod": OTHER_METHOD.each([p[:250] for p in ptext]),
    }
    cues: list[list[str]] = [[] for _ in range(n)]
    for name, on in flags.items():
        for j, x in enumerate(on):
            if x:
                cues[j].append(name)
    near = [[k for k in _NEIGHBOUR if k in c] for c in map(set, cues)]  # what the neighbours see
    w1 = ["_".join(w[:1]) for w in lead_words]
    keys = []  # binary features of paragraph j that do not depend on the trace state
    for j in range(n):
        words = lead_words[j]
        k = cues[j] + ["bias", _IDX[min(j, 6)], "w1=" + w1[j], "w2=" + "_".join(words[:2]), "w3=" + "_".join(words[:3])]
        if j + 1 < n:  # a cue often spans two paragraphs ("Wait." / "Let me try another way.")
            k += ["nw1=" + w1[j + 1], "nw2=" + "_".join(lead_words[j + 1][:2])]
            k += ["n:" + x for x in near[j + 1]]
        else:
            k.append("n:none")
        if j > 0:  # and how the previous one ended ("This is getting messy.")
            k.append("pw1=" + w1[j - 1])
            k += ["p:" + x for x in near[j - 1]]
            k += ["pt=" + w for w in set(_WORDS.findall(ptext[j - 1].rstrip()[-120:].lower()))]
        else:
            k.append("p:none")
        k += ["b=" + w for w in set(_WORDS.findall(firsts[j][:160].lower()))]  # words of the first sentence
        keys.append(k)
    out: list[dict[str, float]] = []
    answered = hit_since_cue = answered2 = hit2_since_cue = False
    last_cue: int | None = None
    last_hit: int | None = None
    last_j = max(1, n - 1)
    for j in range(n):
        f = dict.fromkeys(keys[j], 1.0)
        for name, on in (
            ("answered", answered),
            ("after_first_hit", j > first_hit),
            ("short", sizes[j] < 80),
            ("last", j == n - 1),
            ("last2", j >= n - 2),
            ("hit_since_cue", hit_since_cue),
            ("span_short", to_cue[j] < 250),
            ("hit_later", later[j]),
            ("answered2", answered2),
            ("after_first_hit2", j > first_hit2),
            ("hit2_since_cue", hit2_since_cue),
        ):
            if on:
                f[name] = 1.0
        f["len"] = min(sizes[j], 1000) / 1000.0
        f["pos"] = j / last_j
        f["span_to_cue"] = to_cue[j] / SPAN_CAP
        f["since_cue=" + (str(min(j - last_cue, 5)) if last_cue is not None else "none")] = 1.0
        f["since_hit=" + (str(min(j - last_hit, 6)) if last_hit is not None else "none")] = 1.0
        out.append(f)
        answered, answered2 = answered or hit[j], answered2 or hit2[j]
        if hit[j] or hit2[j]:
            last_hit = j
        if oa[j] or oc[j]:
            last_cue, hit_since_cue, hit2_since_cue = j, hit[j], hit2[j]
        else:
            hit_since_cue, hit2_since_cue = hit_since_cue or hit[j], hit2_since_cue or hit2[j]
    return out


_IDX = [f"idx={i}" for i in range(7)]


def tags_from_segments(segments: list[dict], paras: list[tuple[int, int]]) -> list[str]:
    """The training target: each paragraph's tag under a labelled segmentation (segment starts on paragraphs).

    A first-order CRF forgets, inside a long run of A, whether the approach has stated its answer yet and whether
    it is the first one, and long traces are where verification-vs-new-approach gets confused. So the approach tags
    carry that state: the last paragraph of an approach that a verification or the conclusion follows (where it
    states its answer) is "A!", and the paragraphs of the second and later approaches are "A2+" / "A2" / "A2!".
    `segments_from_tags` reads them as plain A / A+. Cross-validated boundary F1 (8 folds, seeds 0-2): 0.721 →
    0.735, 0.598 → 0.616 on traces of 8k+ characters (A! alone: 0.730 / 0.604, A2 alone: 0.727 / 0.608)."""
    tags = []
    for a, _ in paras:
        s = next(x for x in segments if x["start"] <= a < x["end"])
        t = _SHORT[s["kind"]]
        if t in ("A", "V") and s["start"] == a:
            t += "+"
        tags.append(t)
    k = 0
    for j, t in enumerate(tags):
        if t[0] == "A":
            k += t == "A+"
            if t == "A" and j + 1 < len(tags) and tags[j + 1][0] in "VC":
                t = "A!"
            tags[j] = "A2" + t[1:] if k >= 2 else t
    return tags


def segments_from_tags(tags: list[str], paras: list[tuple[int, int]], text: str, think_end: int) -> list[Segment]:
    """Tags → segments that tile the text. Repairs what a tag sequence cannot mean: an approach continued after
    the question repeat starts approach 1; a verification before any approach is an approach."""
    labels: list[tuple[str, int, int, int | None, bool]] = []
    k, prev = 0, None
    for (a, b), t in zip(paras, tags):
        base, fresh = t[0], t.endswith("+")
        if base == "V" and k == 0:
            base, fresh = "A", True
        if base == "A":
            if fresh or prev not in ("A", "V"):
                k, fresh = k + 1, True
            labels.append(("approach", a, b, k, fresh))
        elif base == "V":
            labels.append(("verification", a, b, k, fresh or prev != "V"))
        else:
            labels.append((_LONG[base], a, b, None, False))
        prev = base
    if think_end < len(text):
        labels.append(("conclusion", think_end, len(text), None, False))
    segs = S._merge(labels)
    validate(segs, text)
    return segs


def _sequence(text: str, problem: str | None, paras: list[tuple[int, int]]) -> tuple[int, list[dict]]:
    """Features of the paragraphs after the leading tags, and how many leading tag paragraphs there are."""
    ptext = [text[a:b] for a, b in paras]
    lead = S.leading_tags(ptext)
    if lead == len(ptext):
        lead = 0
    return lead, paragraph_features(ptext[lead:], problem, text)


class CRFSegmenter:
    """Cue features + learned weights → DLCoT macro parts. Deterministic; the model file ships with the package."""

    name = "crf"

    def __init__(self, model_path: str | os.PathLike | None = None):
        import pycrfsuite

        path = Path(model_path) if model_path else MODEL_PATH
        if not path.is_file():
            raise FileNotFoundError(
                f"CRF segmenter model not found at {path}; train one with "
                f"`python -m curation.cot.crf_segment train --labels FILE --out {path}`"
            )
        self.model_path = path
        self._tagger = pycrfsuite.Tagger()
        self._tagger.open(str(path))
        self._lock = threading.Lock()  # a crfsuite tagger holds per-call state

    def tag(self, text: str, problem: str | None = None, paras: list[tuple[int, int]] | None = None) -> list[str]:
        """One tag per paragraph of the thinking part (Q U A+ A V+ V C O: the training refinements of A are
        folded back)."""
        if paras is None:
            paras, _ = S.thought_paragraphs(text)
        lead, feats = _sequence(text, problem, paras)
        if not feats:
            return []
        with self._lock:
            tags = self._tagger.tag(feats)
        tags = [("A+" if t.endswith("+") else "A") if t[0] == "A" else t for t in tags]
        return [tags[0]] * lead + tags

    def segment(self, text: str, problem: str | None = None) -> list[Segment]:
        if not text:
            return []
        paras, think_end = S.thought_paragraphs(text)
        if not paras:
            segs = [Segment("conclusion", 0, len(text))]
            validate(segs, text)
            return segs
        return segments_from_tags(self.tag(text, problem, paras), paras, text, think_end)


# --- training ----------------------------------------------------------------------------------------------
def training_sequences(rows: Iterable[dict]):
    for r in rows:
        paras, _ = S.thought_paragraphs(r["reasoning"])
        lead, feats = _sequence(r["reasoning"], r.get("problem"), paras)
        yield feats, tags_from_segments(r["segments"], paras)[lead:]


def train(rows: list[dict], out: str | os.PathLike, params: dict | None = None) -> Path:
    """Fit the CRF on labelled rows (skythought_labelled.jsonl format); the model file is written atomically."""
    import pycrfsuite

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    trainer = pycrfsuite.Trainer(verbose=False)
    for x, y in training_sequences(rows):
        trainer.append(x, y)
    trainer.set_params({**PARAMS, **(params or {})})
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".tmp")
    os.close(fd)
    try:
        trainer.train(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def cross_validate(rows: list[dict], folds: int = 8, seed: int = 0, params: dict | None = None) -> dict:
    """Grouped k-fold (a trace is never in its own training fold): boundary precision/recall/F1 on unseen traces."""
    from .evaluate import PRF, boundary_sets

    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    total = PRF()
    with tempfile.TemporaryDirectory() as d:
        for f in range(folds):
            test = set(order[f::folds])
            model = train([rows[i] for i in order if i not in test], Path(d) / f"fold{f}.crfsuite", params)
            seg = CRFSegmenter(model)
            for i in sorted(test):
                pred = [s.to_dict() for s in seg.segment(rows[i]["reasoning"], rows[i].get("problem"))]
                total.add(boundary_sets(pred), boundary_sets(rows[i]["segments"]))
    return {
        "folds": folds,
        "traces": len(rows),
        "boundary_f1": round(total.f1, 4),
        "precision": round(total.precision, 4),
        "recall": round(total.recall, 4),
    }


def _read(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m curation.cot.crf_segment", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="fit the CRF on a labelled file (held-out splits excluded)")
    t.add_argument("--labels", type=Path, required=True)
    t.add_argument("--out", type=Path, default=MODEL_PATH)
    t.add_argument("--exclude-split", nargs="*", default=list(HELDOUT_SPLITS))
    t.add_argument("--cv", type=int, default=0, help="also report k-fold cross-validated boundary F1")
    w = sub.add_parser("worker", help="segment JSON-line batches from stdin (used by ParallelSegmenter)")
    w.add_argument("--kind", choices=["crf", "heuristic"], default="crf")
    w.add_argument("--model", default=None)
    args = ap.parse_args(argv)
    if args.cmd == "worker":
        _serve(args.kind, args.model)
        return
    rows = [r for r in _read(args.labels) if r.get("split") not in set(args.exclude_split)]
    if args.cv:
        print(json.dumps({"cross_validation": cross_validate(rows, args.cv)}))
    train(rows, args.out)
    print(f"trained on {len(rows)} traces → {args.out}")


# --- many traces -------------------------------------------------------------------------------------------
class _WorkerProcess:
    """`python -m curation.cot.crf_segment worker`: a subprocess, not multiprocessing, so callers need no
    `__main__` guard (spawned pools re-run an unguarded script; see the verifiers.math workers)."""

    def __init__(self, kind: str, model_path: str | None):
        import subprocess
        import sys

        cmd = [sys.executable, "-m", "curation.cot.crf_segment", "worker", "--kind", kind]
        if model_path:
            cmd += ["--model", model_path]
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1 << 20
        )
        self.lock = threading.Lock()

    def run(self, items: list[tuple[str, str | None]]) -> list[list[Segment]]:
        with self.lock:
            self.proc.stdin.write(json.dumps(items) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"segmenter worker exited with code {self.proc.poll()}")
        return [[Segment(**d) for d in segs] for segs in json.loads(line)]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)


def _serve(kind: str, model_path: str | None) -> None:
    import sys

    seg = CRFSegmenter(model_path) if kind == "crf" else S.HeuristicSegmenter()
    for line in sys.stdin:
        out = [[x.to_dict() for x in seg.segment(t, p)] for t, p in json.loads(line)]
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


class ParallelSegmenter:
    """Segments many traces over `workers` processes (the features are pure Python, so threads would not help).
    Small inputs stay in-process: starting a worker (about a second) costs more than a few hundred traces."""

    def __init__(self, segmenter, workers: int = 1, min_parallel: int = 200, chunk: int = 64):
        self.segmenter, self.workers, self.min_parallel, self.chunk = segmenter, workers, min_parallel, chunk
        self.name = segmenter.name
        self._procs: list[_WorkerProcess] = []

    def segment(self, text: str, problem: str | None = None) -> list[Segment]:
        return self.segmenter.segment(text, problem)

    def segment_many(self, items: list[tuple[str, str | None]]) -> list[list[Segment]]:
        if self.workers <= 1 or len(items) < self.min_parallel:
            return [self.segmenter.segment(t, p) for t, p in items]
        if not self._procs:
            kind = "crf" if isinstance(self.segmenter, CRFSegmenter) else "heuristic"
            path = str(self.segmenter.model_path) if kind == "crf" else None
            self._procs = [_WorkerProcess(kind, path) for _ in range(self.workers)]
        from concurrent.futures import ThreadPoolExecutor

        chunks = [items[i : i + self.chunk] for i in range(0, len(items), self.chunk)]
        with ThreadPoolExecutor(len(self._procs)) as pool:
            parts = pool.map(lambda ic: self._procs[ic[0] % len(self._procs)].run(ic[1]), enumerate(chunks))
            return [s for part in parts for s in part]

    def close(self) -> None:
        for p in self._procs:
            p.close()
        self._procs = []

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass


if __name__ == "__main__":
    main()
