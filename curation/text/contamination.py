"""Benchmark contamination detectors over canonical text. Each hit names benchmark, item, detector and score.

* substring: the item's canonical text occurs inside the query's (exact copies, copies inside a prompt wrapper).
* ngram: fraction of the item's word n-grams (n = 13, or 8 for short items) found in the query; one shared n-gram
  is not enough (that is what makes the GPT-3 rule flag clean number-changed siblings), and the item's question
  (its last non-instruction sentence) must occur in the query: MATH has many "same setup, different question"
  siblings (MATH train vs MATH-500: "Find $d$." vs "Find the smallest possible value of $c$.").
* code_ngram: the same on identifier-renamed code (code benchmarks: renaming functions/variables does not hide a
  copied HumanEval prompt).
* embedding: cosine between the query and the items with the same significant numbers (`same_numbers`:
  rephrasings keep the numbers), then two checks a cosine cannot make: the query asks the item's question, not
  another question about the same setup (`_same_question`), and it keeps the item's formulas (`formula_kept`).
  With `changed_numbers: contaminated` every item is compared.
* llm_judge: optional confirmation for embedding candidates in [judge.threshold, embedding.threshold).

Number policy (default `changed_numbers: clean`): a query is only contaminated by an item whose numbers it keeps
(the item's number multiset is contained in the query's). A number-changed variant is a new problem.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import io
import keyword
import re
import tokenize
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from ..benchmarks import BenchItem
from ..config.decontaminate import Detectors, Policy
from . import testcases
from .canonical import BREAK, canonical_frame, with_breaks
from .minhash import shingles

_BUILTINS = set(dir(builtins))
# words every code spec shares ("Write a python function to …"), not evidence of the same task
_CODE_WORDS = frozenset(
    "write python function program returns return given check whether using implement "
    "code method create takes input output list string number numbers".split()
)


def canonical_code(text: str) -> str:
    """Python-ish code with identifiers renamed by first appearance (v0, v1, …), comments and layout dropped.

    Keywords, builtins and attribute names after '.' are kept (they carry meaning); string literals are kept.
    Falls back to a regex tokenizer when `tokenize` fails (partial snippets)."""
    names: dict[str, str] = {}
    out: list[str] = []
    prev = ""
    try:
        toks = [(t.type, t.string) for t in tokenize.generate_tokens(io.StringIO(text).readline)]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        toks = [
            (tokenize.NAME if re.match(r"[A-Za-z_]", m) else tokenize.OP, m)
            for m in re.findall(r"[A-Za-z_]\w*|\d+(?:\.\d+)?|\S", text)
        ]
    for typ, s in toks:
        if typ in (
            tokenize.COMMENT,
            tokenize.NL,
            tokenize.NEWLINE,
            tokenize.INDENT,
            tokenize.DEDENT,
            tokenize.ENDMARKER,
        ):
            continue
        if typ == tokenize.STRING:  # docstrings: their words, so one renamed word costs n n-grams, not all
            out.extend(names.get(w, w.lower()) for w in re.findall(r"\w+|[^\w\s]", s))
            prev = s
            continue
        if typ == tokenize.NAME and not keyword.iskeyword(s) and s not in _BUILTINS and prev != ".":
            s = names.setdefault(s, f"v{len(names)}")
        out.append(s)
        prev = s
    return " ".join(out)


_CODE_HINT = re.compile(r"^\s*(def|class|import|from)\s", re.MULTILINE)
_FENCE = re.compile(r"```[a-zA-Z0-9_+-]*\n(.*?)```", re.DOTALL)


def code_part(text: str) -> str:
    """The code in a problem (fenced blocks, or the whole text when it parses as Python with a def/class/import);
    "" for natural-language specs, which the text detectors handle."""
    blocks = _FENCE.findall(text)
    if blocks:
        return "\n".join(blocks)
    if _CODE_HINT.search(text):
        try:
            ast.parse(text)
        except (SyntaxError, ValueError):
            return ""
        return text
    return ""


_SENT = re.compile(r"(?<=[.?!])\s+(?=[A-Z$\\(])")
_INSTRUCTION = re.compile(r"^\s*(express|enter|give|write|round|put|simplify your|your answer|answer)\b", re.IGNORECASE)


def question_of(text: str) -> str:
    """The item's question: its last sentence that is not an answer-format instruction ("Express your answer as a
    common fraction."). Two problems with one setup and different questions differ exactly here."""
    sents = [s for s in _SENT.split(text.strip()) if s.strip()]
    while len(sents) > 1 and _INSTRUCTION.match(sents[-1]):
        sents.pop()
    return sents[-1] if sents else text


_CLAUSE_SPLIT = re.compile(r"(?:(?<=[.?!])|(?<=[.?!]\$))\s+|\n\s*\n")  # "… = 1.$  Find …" ends a sentence


def question_clauses(texts: list[str]) -> list[str]:
    """Canonical question clause of each text (see `question_split`)."""
    return [q for q, _ in question_split(texts)]


def question_split(texts: list[str]) -> list[tuple[str, str]]:
    """(question, setup) of each text, canonical: the question is the last sentence that is neither a prompt
    wrapper ("Let's think step by step.") nor an answer-format instruction; the setup is every sentence before it
    ("" for a one-sentence text). Unlike `question_of`, splits lower-case text too (queries arrive in any case)
    and canonicalizes each sentence, so wrappers vanish before the choice."""
    sents = [[x for x in _CLAUSE_SPLIT.split(t.strip()) if x.strip()] or [t] for t in texts]
    flat = [x for ss in sents for x in ss]
    canon = canonical_frame(flat, order=False)["canonical"].to_list()
    out, k = [], 0
    for ss in sents:
        cs = canon[k : k + len(ss)]
        k += len(ss)
        idx = [j for j, c in enumerate(cs) if c]
        while len(idx) > 1 and _INSTRUCTION.match(cs[idx[-1]]):
            idx.pop()
        if not idx:
            out.append(("", ""))
            continue
        out.append((cs[idx[-1]], " ".join(cs[j] for j in idx[:-1])))
    return out


def all_tokens(canonical: str) -> Counter:
    return Counter(t for t in canonical.split(" ") if t != "$")


def math_tokens(canonical: str) -> Counter:
    """Tokens inside $…$ of a canonical text. Rephrasings reword the prose but keep the formulas; "x + y + z = 1"
    vs "xyz(x + y + z) = 1" under the same prose is another problem that MiniLM scores at 0.82."""
    out: Counter = Counter()
    inside = False
    for t in canonical.split(" "):
        if t == "$":
            inside = not inside
        elif inside:
            out[t] += 1
    return out


def _question_words(question: str) -> list[str]:
    """Content words of a question clause, in order: with one setup, "angle ACB" vs "angle ABC" or "how many did
    they both pick" vs "how many more did her mom pick" are other questions (cosines 0.99 and 0.88)."""
    from .dedup import FILLER

    return [t for t in question.split(" ") if t not in FILLER]


def formula_kept(item: Counter, query: Counter, min_share: float) -> bool:
    """At least `min_share` of the item's formula tokens occur in the query (items with fewer than 3 formula
    tokens pass). `query` holds all of the query's tokens (`all_tokens`): a rephrasing may drop the $…$."""
    total = sum(item.values())
    if total < 3:
        return True
    return sum((item & query).values()) / total >= min_share


def same_numbers(item_nums: str, query_nums: str, incidental: set[str]) -> bool:
    """Number guard of the embedding detector: the two texts have the same significant numbers (as sets: "buys 7
    pencils and 7 erasers" rephrased "buys 7 of each" keeps the problem). Incidental small numbers (0, 1, 2:
    "= 0", "one marble", "two of the same color") may be dropped or added by a rephrasing, but not swapped for
    one another (that is "x+1" vs "x+2")."""
    a, b = set(item_nums.split()), set(query_nums.split())
    missing, extra = a - b, b - a
    return missing <= incidental and extra <= incidental and not (missing and extra)


_ENGLISH = frozenset(
    "the of and to a in is that for it as with be by on are if what how many find this from at an "
    "which has have each there its can does will number his her their they he she you your all "
    "when more than then".split()
)
_CAP_STOP = frozenset(
    "find let determine compute what how if suppose given write express each every two three one "
    "there when consider the in a an for two".split()
)
_MATH = re.compile(r"\$[^$]*\$|\\\[.*?\\\]|\\\(.*?\\\)", re.DOTALL)


def foreign(text: str) -> bool:
    """The text is not English: mostly non-Latin letters, or (six words or more) almost no English function words.
    An English sentence model cannot compare it; `anchors` can."""
    prose = _MATH.sub(" ", text)
    letters = [c for c in prose if c.isalpha()]
    if not letters:
        return False
    if sum(ord(c) > 0x24F for c in letters) > 0.3 * len(letters):
        return True
    words = re.findall(r"[^\W\d_]+", prose.lower())
    return len(words) >= 6 and sum(w in _ENGLISH for w in words) < 0.12 * len(words)


_ENGLISH_LIST = sorted(_ENGLISH)


def foreign_mask(texts: list[str]) -> np.ndarray:
    """`foreign` of every text: ASCII texts in one vectorized pass (there the letters are [A-Za-z] and none is
    non-Latin, so only the function-word share decides, computed as `foreign` does), the rest one by one."""
    s = pl.Series(texts, dtype=pl.String)
    ascii_ = s.str.contains(r"^[\x00-\x7F]*$").fill_null(False).to_numpy()
    prose = s.str.replace_all(r"(?s)" + _MATH.pattern, " ")
    words = prose.str.to_lowercase().str.extract_all(r"[a-z]+")
    n_words = words.list.len().fill_null(0)
    english = words.list.eval(pl.element().is_in(_ENGLISH_LIST)).list.sum().fill_null(0)
    letters = prose.str.count_matches(r"[A-Za-z]").fill_null(0)
    out = ((letters > 0) & (n_words >= 6) & (english < 0.12 * n_words)).to_numpy().astype(bool)
    for i in np.flatnonzero(~ascii_).tolist():
        out[i] = foreign(texts[i])
    return out


def anchors(text: str, numbers: str, incidental: set[str]) -> set[str]:
    """What survives translation: significant numbers and capitalized words (names, "ELLIPSE", "Facebook")."""
    prose = _MATH.sub(" ", text)
    caps = {w for w in re.findall(r"\b[A-Z][A-Za-z]{2,}\b", prose) if w.lower() not in _CAP_STOP}
    return caps | (set(numbers.split()) - incidental)


def plain_text(canonical: pl.Series) -> pl.Series:
    """Canonical text without its math-mode markers: "$(-5, 5)$" and "(-5, 5)" are one notation to the text
    detectors (the embedding detector keeps them: `math_tokens` reads formulas between them)."""
    return canonical.str.replace_all("$", "", literal=True).str.replace_all(r"\s+", " ").str.strip_chars()


def inserted_run(query: str, item: str) -> int:
    """Longest stretch of tokens the query adds INSIDE its copy of the item (not before or after it): a sentence
    inserted between the setup and the question ("The result has already been announced and Dan won.") adds a
    condition: a superset task, not a copy. Wrappers and chatty context sit around the copy and do not count. Only
    meaningful for near-copies (difflib ratio ≥ 0.6); returns 0 for rephrasings."""
    q, it = query.split(" "), item.split(" ")
    sm = difflib.SequenceMatcher(None, it, q, autojunk=False)
    blocks = [b for b in sm.get_matching_blocks() if b.size]
    if not blocks or sum(b.size for b in blocks) < 0.6 * len(it):
        return 0
    best = 0
    for x, y in zip(blocks, blocks[1:]):  # gaps between consecutive matched blocks, query side minus item side
        best = max(best, (y.b - (x.b + x.size)) - (y.a - (x.a + x.size)))
    return best


def _ends_sentence(item_wb: str, query_wb: str) -> bool:
    """The item's copy inside the query ends where a sentence of the query ends (or the query does): a copy that
    the query's sentence goes on from ("…containing 'z'" + ", not at the start or end") is another task."""
    core = item_wb.strip(BREAK + " ")
    at = query_wb.find(core)
    if at < 0:  # sentence marks differ between the two: no evidence either way
        return True
    rest = query_wb[at + len(core) :].lstrip()
    return not rest or rest.startswith(BREAK)


def number_candidates(
    query_nums: list[str], item_nums: list[str], incidental: set[str], with_numbers_only: bool = False
) -> pl.DataFrame:
    """(q, item) pairs, sorted, that pass `same_numbers`. That guard needs equal sets of significant numbers, so
    this is a hash join on that set (not a block on one shared number, which on a templated pool of a million
    queries pairs each item with thousands of queries that share one small number), then the incidental-number
    check on the few pairs left. `with_numbers_only`: skip items without numbers (no guard, no evidence)."""
    sig = lambda x: " ".join(sorted({v for v in x.split() if v not in incidental}))
    q = pl.DataFrame({"q": np.arange(len(query_nums), dtype=np.int64), "k": [sig(x) for x in query_nums]})
    items = pl.DataFrame({"k": [sig(x) for x in item_nums], "item": np.arange(len(item_nums), dtype=np.int64)})
    if with_numbers_only:
        items = items.filter(pl.Series([bool(x) for x in item_nums], dtype=pl.Boolean))
    cand = q.join(items, on="k").select("q", "item").sort("q", "item")
    keep = [
        same_numbers(item_nums[i], query_nums[j], incidental)
        for j, i in zip(cand["q"].to_list(), cand["item"].to_list())
    ]
    return cand.filter(pl.Series(keep, dtype=pl.Boolean))


@dataclass
class Hit:
    benchmark: str
    item_id: str
    detector: str
    score: float

    def to_dict(self) -> dict:
        return {
            "benchmark": self.benchmark,
            "item_id": self.item_id,
            "detector": self.detector,
            "score": round(float(self.score), 4),
        }


def _contains(item_nums: str, query_nums: str) -> bool:
    """Every distinct value of the item occurs in the query (a set, not a multiset: "buys 7 pencils and 7
    erasers" rephrased as "buys 7 of each" keeps the problem)."""
    if not item_nums:
        return True
    return set(item_nums.split()) <= set(query_nums.split())


class BenchmarkIndex:
    def __init__(self, items: list[BenchItem], detectors: Detectors, policy: Policy):
        if not items:
            raise ValueError("no benchmark items to decontaminate against")
        self.items = items
        self.det = detectors
        self.policy = policy
        cf = canonical_frame([it.text for it in items], order=False)
        self.canonical = cf["canonical"]
        self.plain = plain_text(self.canonical)
        self.numbers = cf["numbers"].to_list()
        self.is_code = np.array([it.domain == "code" for it in items])
        self._ngram_tables()
        self.examples = [testcases.examples(it.text, it.tests) if it.domain == "code" else {} for it in items]
        self._by_example: dict[tuple[str, str], list[int]] = {}
        for i, ex in enumerate(self.examples):
            for kv in ex.items():
                self._by_example.setdefault(kv, []).append(i)
        self._prose: dict[int, set[str]] = {}
        self._embedder = None  # (cache_dir, Embedder), kept across detect() calls on slices of one table
        self.skip_settled = True  # see _settled; False embeds every candidate (tests compare the two)
        self._item_index = {(it.benchmark, it.item_id): i for i, it in enumerate(items)}
        inc = set(detectors.embedding.incidental_numbers)
        self.anchors = [
            anchors(it.text, self.numbers[i], inc) if not self.is_code[i] else set() for i, it in enumerate(items)
        ]
        self._by_anchor: dict[str, list[int]] = {}
        for i, a in enumerate(self.anchors):
            for w in a:
                self._by_anchor.setdefault(w, []).append(i)

    def _ngram_table(self, texts: pl.Series, n_of: np.ndarray) -> pl.DataFrame:
        frames = []
        for n in sorted({int(x) for x in n_of if x > 0}):
            sel = np.flatnonzero(n_of == n)
            doc, h = shingles(texts.gather(sel), n, "word", bits=64)
            frames.append(pl.DataFrame({"h": h, "item": sel[doc], "n": np.full(len(h), n, dtype=np.int64)}))
        if not frames:
            return pl.DataFrame(schema={"h": pl.UInt64, "item": pl.Int64, "n": pl.Int64})
        t = pl.concat(frames).unique()
        counts = t.group_by("item").agg(pl.len().alias("total"))
        return t.join(counts, on="item")

    def _ngram_tables(self) -> None:
        cfg = self.det.ngram
        words = self.plain.str.count_matches(" ").to_numpy() + 1
        n_of = np.where(words >= 2 * cfg.n, cfg.n, np.where(words >= cfg.short_n, cfg.short_n, 0))
        self.text_table = self._ngram_table(self.plain, n_of)
        code_idx = np.flatnonzero(self.is_code)
        code = {int(i): code_part(self.items[i].text) for i in code_idx}
        code_texts = pl.Series(
            [canonical_code(code[i]) if code.get(i) else "" for i in range(len(self.items))], dtype=pl.String
        )
        has_code = code_texts.str.len_chars().to_numpy() > 0
        cwords = code_texts.str.count_matches(" ").to_numpy() + 1
        cn = np.where(
            has_code & (cwords >= 2 * cfg.n), cfg.n, np.where(has_code & (cwords >= cfg.short_n), cfg.short_n, 0)
        )
        self.questions = plain_text(
            canonical_frame([question_of(it.text) for it in self.items], order=False)["canonical"]
        ).to_list()
        self.question_parts = question_split([it.text for it in self.items])
        self.question_wb = with_breaks([question_of(it.text) for it in self.items])
        self.code_table = self._ngram_table(code_texts, cn)

    # --- detectors -----------------------------------------------------------------------------------------
    def _guard(self, item: int, query_nums: str) -> bool:
        return self.policy.changed_numbers == "contaminated" or _contains(self.numbers[item], query_nums)

    def _substring(self, canonical: pl.Series, q_nums: list[str], hits: list[list[Hit]], texts: list[str]) -> None:
        cfg = self.det.substring
        by_text: dict[str, list[int]] = {}
        for i, c in enumerate(self.plain.to_list()):
            by_text.setdefault(c, []).append(i)
        # exact equality at any length
        eq = pl.DataFrame({"c": canonical, "q": np.arange(len(canonical))}).join(
            pl.DataFrame({"c": list(by_text)}), on="c"
        )
        exact_q = set()
        for c, q in eq.iter_rows():
            exact_q.add(q)
            for i in by_text[c]:
                hits[q].append(Hit(self.items[i].benchmark, self.items[i].item_id, "exact", 1.0))
        long_items = [c for c in by_text if len(c) >= cfg.min_chars]
        if not long_items:
            return
        found = canonical.str.extract_many(long_items, leftmost=True).to_list()
        pairs = [(q, c) for q, matched in enumerate(found) if matched and q not in exact_q for c in set(matched)]
        qs = sorted({q for q, _ in pairs})
        cs = sorted({c for _, c in pairs})
        q_wb = dict(zip(qs, with_breaks([texts[q] for q in qs])))
        c_wb = dict(zip(cs, with_breaks([self.items[by_text[c][0]].text for c in cs])))
        for q, c in pairs:
            if not _ends_sentence(c_wb[c], q_wb[q]):  # "… containing 'z', not at the start or end": a new task
                continue
            if True:
                for i in by_text[c]:
                    if self._guard(i, q_nums[q]):  # contained text keeps the numbers; kept for symmetry
                        hits[q].append(Hit(self.items[i].benchmark, self.items[i].item_id, "substring", 1.0))

    def _ngram(
        self,
        texts: pl.Series,
        table: pl.DataFrame,
        q_nums: list[str],
        hits: list[list[Hit]],
        name: str,
        mask: np.ndarray | None = None,
        raw: list[str] | None = None,
    ) -> None:
        if table.height == 0:
            return
        sel = np.arange(len(texts)) if mask is None else np.flatnonzero(mask)
        if len(sel) == 0:
            return
        frames = []
        for n in table["n"].unique().to_list():
            doc, h = shingles(texts.gather(sel), int(n), "word", bits=64)
            frames.append(pl.DataFrame({"h": h, "q": sel[doc], "n": np.full(len(h), n, dtype=np.int64)}))
        q = pl.concat(frames).unique()
        m = (
            q.join(table, on=["h", "n"])
            .group_by("q", "item")
            .agg(pl.len().alias("shared"), pl.col("total").first())
            .with_columns((pl.col("shared") / pl.col("total")).alias("score"))
            .filter(pl.col("score") >= self.det.ngram.min_overlap)
        )
        require_q = name == "ngram" and self.det.ngram.require_question
        rows = [r for r in m.iter_rows() if not require_q or self.questions[r[1]] in texts[r[0]]]
        if require_q and raw is not None and rows:  # ... and end a sentence there (not "…containing 'z', not at …")
            qs = sorted({r[0] for r in rows})
            q_wb = dict(zip(qs, with_breaks([raw[q] for q in qs])))
            rows = [r for r in rows if _ends_sentence(self.question_wb[r[1]], q_wb[r[0]])]
        for qi, item, _, _, score in rows:
            if self._guard(item, q_nums[qi]):
                it = self.items[item]
                hits[qi].append(Hit(it.benchmark, it.item_id, name, score))

    def _translation(
        self, texts: list[str], q_nums: list[str], canonical: pl.Series, hits: list[list[Hit]], stats: dict
    ) -> None:
        """Queries in another language: the item's anchors (numbers, names) kept — at least half of them, two or
        more unless the item has one — no number the item lacks, and the item's formulas kept."""
        cfg = self.det.translation
        inc = set(self.det.embedding.incidental_numbers)
        n = 0
        is_foreign = foreign_mask(texts)
        for q in np.flatnonzero(is_foreign).tolist():
            t = texts[q]
            n += 1
            qa = anchors(t, q_nums[q], inc)
            q_sig = set(q_nums[q].split()) - inc
            seen: dict[int, int] = {}
            for w in qa:
                for i in self._by_anchor.get(w, ()):
                    seen[i] = seen.get(i, 0) + 1
            for i, shared in seen.items():
                ia = self.anchors[i]
                if shared < min(2, len(ia)) or shared < cfg.min_share * len(ia):
                    continue
                if q_sig - set(self.numbers[i].split()):
                    continue
                if not formula_kept(
                    math_tokens(self.canonical[i]), all_tokens(canonical[q]), self.det.embedding.formula_share
                ):
                    continue
                it = self.items[i]
                hits[q].append(Hit(it.benchmark, it.item_id, "translation", shared / len(ia)))
        stats["foreign_queries"] = n

    def _prose_words(self, texts: list[str]) -> list[tuple[set[str], set[str]]]:
        """(content words, numbers) of a code task's spec, example and code lines dropped (tests detector)."""
        from .dedup import FILLER

        spec = [
            "\n".join(ln for ln in t.splitlines() if not re.search(r"assert |>>>|^\s*(def|from|import) ", ln))
            for t in texts
        ]
        cf = canonical_frame(spec, order=False)
        return [
            (
                {w for w in c.split() if w.isalpha() and len(w) > 2 and w not in FILLER and w not in _CODE_WORDS},
                set(nums.split()),
            )
            for c, nums in zip(cf["canonical"].to_list(), cf["numbers"].to_list())
        ]

    def _tests(self, texts: list[str], tests: list | None, hits: list[list[Hit]]) -> list[dict[str, str]]:
        """Shared input/output examples (see testcases.py) and no example that disagrees. Strong evidence: three
        shared examples, or two specific ones that are 2/3 of the item's (all of them, or specs not unrelated); weak: one specific one with related specs
        (content-word Jaccard ≥ min_prose). Specs that change a KEEP_WORDS word ("first"/"last", "not at the
        start") or a number ("31 days"/"30 days") are sibling tasks (MBPP holds such siblings with the same weak
        tests) unless the evidence is strong and the specs are reworded (Jaccard < sibling_prose)."""
        from .dedup import KEEP_WORDS

        cfg = self.det.tests
        q_ex = [testcases.examples(t, tests[k] if tests else None) for k, t in enumerate(texts)]
        cand: list[tuple[int, int, int, int]] = []
        for q, ex in enumerate(q_ex):
            seen: set[int] = set()
            for kv in ex.items():
                seen.update(self._by_example.get(kv, ()))
            for i in seen:
                shared, spec, conflict = testcases.compare(self.examples[i], ex)
                if conflict == 0 and (spec >= 1 or shared >= 3):
                    cand.append((q, i, shared, spec))
        need_q = sorted({q for q, _, _, _ in cand})
        need_i = sorted({i for _, i, _, _ in cand} - set(self._prose))
        qw = dict(zip(need_q, self._prose_words([texts[q] for q in need_q])))
        self._prose.update(zip(need_i, self._prose_words([self.items[i].text for i in need_i])))
        for q, i, shared, spec in cand:
            (a, an), (b, bn) = qw[q], self._prose[i]
            jac = len(a & b) / len(a | b) if a and b else 0.0
            total = max(len(self.examples[i]), 1)
            strong = shared >= 3 or (
                spec >= cfg.min_specific and 3 * shared >= 2 * total and (shared == total or jac >= 0.1)
            )
            if not strong and not (spec >= 1 and jac >= cfg.min_prose):
                continue
            if ((a ^ b) & KEEP_WORDS or (an and bn and an != bn)) and (not strong or jac >= cfg.sibling_prose):
                continue  # the specs change a KEEP_WORDS word or a number: a sibling task with the same weak tests
            it = self.items[i]
            hits[q].append(Hit(it.benchmark, it.item_id, "tests", shared / total))
        return q_ex

    def _embedding(
        self,
        canonical: pl.Series,
        q_nums: list[str],
        hits: list[list[Hit]],
        cache_dir: Path | None,
        judge: Callable[[list[tuple[str, str]]], list[bool | None]] | None,
        texts: list[str],
        stats: dict,
    ) -> None:
        from .embeddings import Embedder

        cfg = self.det.embedding
        n = len(canonical)
        if self.policy.changed_numbers == "contaminated":
            cand = pl.DataFrame({"q": np.arange(n)}).join(
                pl.DataFrame({"item": np.arange(len(self.items))}), how="cross"
            )
        else:  # the query keeps the item's numbers (see `same_numbers`): rephrasings that keep the numbers
            cand = number_candidates(
                q_nums, self.numbers, set(cfg.incidental_numbers), with_numbers_only=cfg.numberless_threshold >= 1
            )
        allowed = np.array([it.domain in cfg.domains for it in self.items], dtype=bool)
        cand = cand.filter(pl.Series(allowed[cand["item"].to_numpy()], dtype=pl.Boolean))
        stats["embedding_candidate_pairs"] = cand.height
        settled: set[tuple[int, int]] = set()
        if self.skip_settled and (judge is None or not self.det.judge.enabled):
            settled = self._settled(cand, hits)
            # a query whose every candidate is settled needs no embedding at all (top_k ranks its own pairs only)
            open_q = np.unique(np.array([q for q, i in cand.iter_rows() if (q, i) not in settled], dtype=np.int64))
            cand = cand.filter(pl.col("q").is_in(open_q.tolist()))
            stats["embedding_settled_pairs"] = len(settled)
        if cand.height == 0:
            return
        qs = np.unique(cand["q"].to_numpy())
        its = np.unique(cand["item"].to_numpy())
        stats["embedding_queries"] = len(qs)
        if self._embedder is None or self._embedder[0] != cache_dir:  # one model load for every detect() call
            self._embedder = (cache_dir, Embedder.from_config(cfg.embedding, cache_dir))
        emb = self._embedder[1]
        before = dict(emb.stats)
        qv = dict(zip(qs.tolist(), emb.encode(canonical.gather(qs).to_list())))
        iv = dict(zip(its.tolist(), emb.encode(self.canonical.gather(its).to_list())))
        stats["embedding_cache"] = {k: v - before.get(k, 0) for k, v in emb.stats.items()}
        qa, ia = cand["q"].to_numpy(), cand["item"].to_numpy()
        scores = np.einsum("ij,ij->i", np.stack([qv[q] for q in qa]), np.stack([iv[i] for i in ia]))
        df = pl.DataFrame({"q": qa, "item": ia, "score": scores}).sort("score", descending=True, maintain_order=True)
        df = df.group_by("q", maintain_order=True).head(cfg.top_k)
        jcfg = self.det.judge
        ask: list[tuple[int, int, float]] = []
        above = [
            (q, item, score)
            for q, item, score in df.iter_rows()
            if score >= (cfg.threshold if self.numbers[item] else cfg.numberless_threshold) and (q, item) not in settled
        ]
        same_question = self._same_question(canonical, texts, [(q, i) for q, i, _ in above], emb, stats)
        for (q, item, score), ok in zip(above, same_question):
            it = self.items[item]
            if ok:
                hits[q].append(Hit(it.benchmark, it.item_id, "embedding", score))
            elif judge is not None and jcfg.enabled and score >= jcfg.threshold:
                ask.append((q, item, score))
        for q, item, score in df.iter_rows():
            if (
                judge is not None
                and jcfg.enabled
                and jcfg.threshold <= score < (cfg.threshold if self.numbers[item] else cfg.numberless_threshold)
            ):
                ask.append((q, item, score))
        ask = sorted(ask, key=lambda x: -x[2])[: jcfg.max_candidates]  # only the top candidates
        if ask and judge is not None:
            verdicts = judge([(texts[q], self.items[i].text) for q, i, _ in ask])
            for (q, i, score), yes in zip(ask, verdicts):
                if yes:
                    hits[q].append(Hit(self.items[i].benchmark, self.items[i].item_id, "llm_judge", score))
        stats["judge_asked"] = len(ask)

    _OUTRANK = frozenset({"exact", "substring", "tests", "code_ngram", "ngram"})

    def _settled(self, cand: pl.DataFrame, hits: list[list[Hit]]) -> set[tuple[int, int]]:
        """Candidate pairs (q, item) that already hold a hit from a detector that outranks `embedding` for the same
        benchmark item. An embedding hit there cannot change the result: the later rules (tests veto, inserted
        sentence) decide the same for both hits of one pair, and the best hit per item is the higher-ranked one.
        So these pairs are not embedded (only without the judge, whose candidate list spans all pairs)."""
        keys = {(it.benchmark, it.item_id): i for i, it in enumerate(self.items)}
        out = set()
        for q in np.unique(cand["q"].to_numpy()).tolist():
            for h in hits[q]:
                if h.detector in self._OUTRANK:
                    out.add((q, keys[(h.benchmark, h.item_id)]))
        same = {(it.benchmark, it.item_id) for it in self.items}
        if len(same) != len(self.items):  # repeated ids: settle every item that carries a settled key
            by_key: dict[tuple[str, str], list[int]] = {}
            for i, it in enumerate(self.items):
                by_key.setdefault((it.benchmark, it.item_id), []).append(i)
            out = {(q, j) for q, i in out for j in by_key[(self.items[i].benchmark, self.items[i].item_id)]}
        return out

    def _same_question(
        self, canonical: pl.Series, texts: list[str], pairs: list[tuple[int, int]], emb, stats: dict
    ) -> list[bool]:
        """Does the query ask the item's question? MATH and templated pools hold "same setup, different question"
        siblings whose whole-text cosine is as high as a true rephrasing's (median 0.92 vs 0.92 on the synthetic
        set), and question clauses alone are not separable either (paraphrased questions sit at 0.5-0.9, other
        questions at 0.3-0.75). Two rules:
        * one setup (setup cosine ≥ same_setup): the question is all that differs, so the question clauses must
          match (cosine ≥ same_setup_question);
        * reworded setup: how much the OTHER text's question adds to its match with this one's question clause,
          cos(q_question, item) - cos(q_question, item setup), summed over both directions, must reach
          question_margin (median +0.18 for rephrasings, -0.07 for other questions).
        Single-sentence texts pass (their whole-text match is the question match)."""
        cfg = self.det.embedding
        if not pairs:
            return []
        if not cfg.question_check:
            return [
                formula_kept(math_tokens(self.canonical[i]), all_tokens(canonical[q]), cfg.formula_share)
                for q, i in pairs
            ]
        qs = sorted({q for q, _ in pairs})
        its = sorted({i for _, i in pairs})
        qtext = {q: canonical[q] for q in qs}
        q_split = dict(zip(qs, question_split([texts[q] for q in qs])))  # raw: canonical lost sentence ends
        i_split = {i: self.question_parts[i] for i in its}
        i_text = {i: self.canonical[i] for i in its}
        need: set[str] = set()
        for q, i in pairs:
            need.update([qtext[q], *q_split[q], i_text[i], *i_split[i]])
        need.discard("")
        keys = sorted(need)
        vec = dict(zip(keys, emb.encode(keys))) if keys else {}
        cos = lambda a, b: float(vec[a] @ vec[b])
        out = []
        for q, i in pairs:
            (qq, qs_), (iq, is_) = q_split[q], i_split[i]
            if not (qq and qs_ and iq and is_):
                out.append(True)
                continue
            if cos(qs_, is_) >= cfg.same_setup:  # one setup: the question is all that can differ, compare it
                out.append(cos(qq, iq) >= cfg.same_setup_question and _question_words(qq) == _question_words(iq))
                continue
            gain = cos(qq, i_text[i]) - cos(qq, is_) + cos(iq, qtext[q]) - cos(iq, qs_)
            out.append(gain >= cfg.question_margin)
        if cfg.formula_share > 0:  # and the formulas must be kept (prose may be reworded, formulas are not)
            out = [
                ok and formula_kept(math_tokens(i_text[i]), all_tokens(qtext[q]), cfg.formula_share)
                for ok, (q, i) in zip(out, pairs)
            ]
        stats["embedding_question_rejected"] = out.count(False)
        return out

    def detect(
        self,
        texts: list[str],
        domains: list[str] | None = None,
        cache_dir: Path | None = None,
        judge: Callable[[list[tuple[str, str]]], list[bool | None]] | None = None,
        stats: dict | None = None,
        tests: list | None = None,
    ) -> list[list[Hit]]:
        """Hits per query (best per benchmark item, strongest detector first). `tests`: each query's tests
        column (code), compared with the items' examples."""
        stats = {} if stats is None else stats
        cf = canonical_frame(texts, order=False)
        canonical, q_nums = cf["canonical"], cf["numbers"].to_list()
        plain = plain_text(canonical)
        hits: list[list[Hit]] = [[] for _ in texts]
        if self.det.substring.enabled:
            self._substring(plain, q_nums, hits, texts)
        if self.det.ngram.enabled:
            self._ngram(plain, self.text_table, q_nums, hits, "ngram", raw=texts)
            if self.code_table.height:
                is_code = np.array([d == "code" for d in domains]) if domains else np.ones(len(texts), bool)
                code_texts = pl.Series(
                    [canonical_code(code_part(t)) if c else "" for t, c in zip(texts, is_code)], dtype=pl.String
                )
                is_code &= code_texts.str.len_chars().to_numpy() > 0
                self._ngram(code_texts, self.code_table, q_nums, hits, "code_ngram", mask=is_code)
        if self.det.translation.enabled:
            self._translation(texts, q_nums, canonical, hits, stats)
        q_ex = None
        if self.det.tests.enabled and self._by_example:
            q_ex = self._tests(texts, tests, hits)
        if self.det.embedding.enabled:
            self._embedding(canonical, q_nums, hits, cache_dir, judge, texts, stats)
        if q_ex is not None:  # an example with the same input and another output: another task, whatever the text
            vetoed = 0
            for q, hs in enumerate(hits):
                keep = []
                for h in hs:
                    i = self._item_index[(h.benchmark, h.item_id)]
                    if h.detector != "exact" and self.examples[i] and q_ex[q]:
                        shared, _, conflict = testcases.compare(self.examples[i], q_ex[q])
                        if conflict and 3 * conflict > shared:
                            vetoed += 1
                            continue
                    keep.append(h)
                hits[q] = keep
            stats["tests_vetoed"] = vetoed
        gap = self.det.ngram.max_inserted
        if gap:  # a near-copy with a sentence inserted inside it: a new condition (superset task)
            rejected = 0
            for q, hs in enumerate(hits):
                keep = []
                for h in hs:
                    i = self._item_index[(h.benchmark, h.item_id)]
                    if (
                        h.detector in ("ngram", "embedding")
                        and not self.is_code[i]
                        and inserted_run(plain[q], self.plain[i]) >= gap
                    ):
                        rejected += 1
                        continue
                    keep.append(h)
                hits[q] = keep
            stats["inserted_rejected"] = rejected
        order = {
            "exact": 0,
            "substring": 1,
            "tests": 2,
            "code_ngram": 3,
            "ngram": 4,
            "embedding": 5,
            "translation": 6,
            "llm_judge": 7,
        }
        out = []
        for hs in hits:
            best: dict[tuple[str, str], Hit] = {}
            for h in sorted(hs, key=lambda h: (order[h.detector], -h.score)):
                best.setdefault((h.benchmark, h.item_id), h)
            out.append(list(best.values()))
        stats["contaminated"] = sum(1 for h in out if h)
        return out
