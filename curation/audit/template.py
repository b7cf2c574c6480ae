"""The report page (a Jinja2 template kept in Python so it ships with the package without package-data rules).

Self-contained: CSS and the table-sorting script are inline, figures are data: URIs; nothing is fetched.
"""

TEMPLATE = r"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="cotforge {{ version }}">
<title>Teacher audit · {{ run_name }}</title>
<style>
:root { --ink:#1d2330; --muted:#5d6778; --line:#e3e7ee; --bg:#f6f7fb; --card:#fff; --accent:#2b59c3; --good:#2f8f46;
        --bad:#c8372d; }
* { box-sizing: border-box; }
body { margin:0; font: 15px/1.55 -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Helvetica, Arial, sans-serif;
       color: var(--ink); background: var(--bg); }
header { background: linear-gradient(120deg, #1f3b73, #2b59c3 60%, #3f7fd9); color:#fff; padding: 28px 0 22px; }
.wrap { max-width: 1120px; margin: 0 auto; padding: 0 24px; }
header h1 { margin:0 0 4px; font-size: 27px; letter-spacing: .2px; }
header p { margin: 2px 0; opacity: .9; }
.stats { display:flex; flex-wrap:wrap; gap:12px; margin-top:16px; }
.stat { background: rgba(255,255,255,.14); border-radius: 10px; padding: 8px 14px; min-width: 110px; }
.stat b { display:block; font-size: 21px; }
.stat span { font-size: 12px; opacity:.9; text-transform: uppercase; letter-spacing: .5px; }
nav { position: sticky; top:0; z-index: 5; background: #fff; border-bottom: 1px solid var(--line); }
nav .wrap { display:flex; gap: 18px; overflow-x:auto; padding-top: 9px; padding-bottom: 9px; }
nav a { color: var(--muted); text-decoration:none; white-space: nowrap; font-size: 14px; }
nav a:hover { color: var(--accent); }
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 14px; padding: 20px 24px;
               margin: 22px 0; box-shadow: 0 1px 2px rgba(20,30,60,.04); }
h2 { margin: 0 0 6px; font-size: 21px; }
h3 { margin: 20px 0 6px; font-size: 16px; }
p.lead { color: var(--muted); margin-top: 0; }
figure { margin: 14px 0; text-align: center; }
figure img { max-width: 100%; height: auto; border-radius: 8px; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
.tablewrap { overflow-x: auto; margin: 10px 0 6px; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; }
th, td { padding: 6px 9px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
td.text, th.text { text-align: left; }
thead th { white-space: normal; vertical-align: bottom; background: #f0f3f9; position: sticky; top: 0; cursor: pointer; user-select: none; font-weight: 600; }
thead th:after { content: " ⇅"; color: #a9b1c1; font-size: 11px; }
thead th.asc:after { content: " ▲"; color: var(--accent); }
thead th.desc:after { content: " ▼"; color: var(--accent); }
tbody tr:hover { background: #f7f9fd; }
.ci { color: var(--muted); font-size: 12px; }
.swatch { display:inline-block; width:10px; height:10px; border-radius: 3px; margin-right: 7px; vertical-align: 0; }
ul.findings { padding-left: 20px; margin: 8px 0 0; }
ul.findings li { margin: 6px 0; }
.na { background: #fff8e6; border: 1px solid #f3d98b; color: #6b5514; border-radius: 10px; padding: 10px 14px; }
.rank1 td { background: #f1f8f2; }
.bar { display:inline-block; height: 8px; background: var(--accent); border-radius: 4px; vertical-align: middle;
       margin-left: 6px; opacity:.75; }
dl.glossary dt { font-weight: 600; margin-top: 8px; }
dl.glossary dd { margin: 2px 0 0 0; color: var(--muted); }
footer { color: var(--muted); font-size: 13px; padding: 10px 0 40px; }
code { background:#eef1f7; padding: 1px 5px; border-radius: 4px; font-size: 12.5px; }
</style>
</head>
<body>
<header><div class="wrap">
  <h1>Teacher audit · {{ run_name }}</h1>
  {% if description %}<p>{{ description }}</p>{% endif %}
  <p>Run <code style="background:rgba(255,255,255,.18);color:#fff">{{ run_dir }}</code> · generated {{ generated }}</p>
  <div class="stats">
    <div class="stat"><b>{{ summary.teachers }}</b><span>teachers</span></div>
    <div class="stat"><b>{{ "{:,}".format(summary.queries) }}</b><span>queries</span></div>
    <div class="stat"><b>{{ "{:,}".format(summary.traces) }}</b><span>traces</span></div>
    {% if summary.pass_rate is not none %}<div class="stat"><b>{{ pct(summary.pass_rate) }}</b><span>traces correct</span></div>{% endif %}
    {% if summary.pairs is not none %}<div class="stat"><b>{{ "{:,}".format(summary.pairs) }}</b><span>preference pairs</span></div>{% endif %}
  </div>
</div></header>
<nav><div class="wrap">
  <a href="#findings">Findings</a><a href="#ranking">Ranking</a><a href="#correctness">Correctness</a>
  <a href="#length">Length</a><a href="#structure">Structure</a><a href="#diversity">Diversity &amp; agreement</a>
  <a href="#perplexity">Perplexity</a><a href="#glossary">Definitions</a>
</div></nav>
<main class="wrap">

<section class="card" id="findings">
  <h2>Key findings</h2>
  <p class="lead">Generated from the numbers below; read them with the sample sizes in mind.</p>
  <ul class="findings">{% for f in findings %}<li>{{ f|safe }}</li>{% endfor %}</ul>
</section>

<section class="card" id="ranking">
  <h2>Ranking</h2>
  <p class="lead">Ordered by pass rate with its 95% Wilson interval and sample count. A teacher's rank is 1 + the
  number of teachers whose interval lies wholly above its own, so teachers whose intervals overlap share a rank
  (shown “=”): the data cannot tell them apart. The other criteria are shown as they are, each in its own column;
  none of them moves a teacher. Not computed for this run: {{ ranking.not_used|join(", ") or "none" }}.</p>
  {{ tables.ranking|safe }}
  {% if ranking.composite %}<p class="ci">Composite (asked for with <code>--weight</code>): {% for c in ranking.composite.weights %}{{ c.label }} {{ "%.0f"|format(c.weight*100) }}% ({{ c.unit }}){% if not loop.last %} · {% endif %}{% endfor %}.
  Each teacher is scored from its own values only, so adding or removing a teacher never reorders the others.</p>
  {% else %}<p class="ci">No composite score: give weights (<code>cotforge audit RUN --weight pass_rate=0.7 --weight distinct_2=0.3</code>) to add one.</p>{% endif %}
</section>

<section class="card" id="correctness">
  <h2>Correctness</h2>
  <p class="lead">Pass rate counts every sample; truncated, malformed and unverifiable samples do not pass.</p>
  {{ fig("outcomes", "Verdict shares per teacher.") }}
  {{ fig("pass_rate", "Dots are pass rates, bars their 95% Wilson intervals.") }}
  {{ tables.overall|safe }}
  <h3>By difficulty</h3>
  {{ fig("pass_by_difficulty", "Queries bucketed by their difficulty for the other teachers (d = 1 − the other teachers’ pass rate), so no bucket is 100% by construction.") }}
  {{ tables.by_difficulty|safe }}
  <h3>By source</h3>
  {{ tables.by_source|safe }}
</section>

<section class="card" id="length">
  <h2>Length</h2>
  <p class="lead">Lengths in <b>{{ token_note }}</b>. Answer = the text after the reasoning.</p>
  {{ fig("length_hist", "Fixed bins, so teachers are comparable.") }}
  {{ tables.lengths|safe }}
  <h3>Length vs correctness</h3>
  {{ fig("length_vs_correct", "Box = quartiles, line = median.") }}
  {{ tables.vs_correct|safe }}
  <h3>Adaptive length</h3>
  {{ fig("adaptive_length", "A teacher that adapts spends more tokens on harder queries.") }}
  {{ tables.adaptive|safe }}
</section>

<section class="card" id="structure">
  <h2>Reasoning structure (DLCoT)</h2>
  {% if structure_computed %}
  <p class="lead">From the segment stage: approaches per trace, how much text goes to verification, whether the
  first approach already reaches the answer, and how much the simplified reasoning saves.</p>
  {{ fig("structure", "Share of reasoning characters in each segment kind.") }}
  {{ tables.structure|safe }}
  {% else %}
  <p class="na">Not computed: this run has no <code>segments</code> column (the segment stage did not run).
  Enable <code>segment:</code> in the manifest to get approaches per trace, verification share and reduction.</p>
  {% endif %}
</section>

<section class="card" id="diversity">
  <h2>Diversity &amp; agreement</h2>
  <h3>Lexical diversity (distinct-n)</h3>
  <p class="lead">Unique n-grams ÷ n-grams within each trace, averaged per teacher (lower = more repetition).</p>
  {{ tables.distinct|safe }}
  <h3>Embedding spread across samples of the same query</h3>
  {% if spread_computed %}
  {{ tables.spread|safe }}
  {% else %}<p class="na">Not computed: {{ spread_reason }}.</p>{% endif %}
  <h3>Inter-teacher agreement</h3>
  {% if agreement_computed %}
  {{ fig("agreement", "Share of shared queries on which two teachers give the same final answer.") }}
  {{ tables.agreement|safe }}
  {% else %}<p class="na">Not computed: needs at least two teachers.</p>{% endif %}
</section>

<section class="card" id="perplexity">
  <h2>Perplexity under a reference model</h2>
  {% if ppl_computed %}
  <p class="lead">Reference model: <code>{{ ppl_model }}</code> (first {{ ppl_max_tokens }} tokens of each trace).
  Only comparable under this one model.</p>
  {{ fig("perplexity", "Per-trace perplexity, log scale.") }}
  {{ tables.perplexity|safe }}
  {% else %}<p class="na">Not computed: {{ ppl_reason }}.</p>{% endif %}
</section>

<section class="card" id="glossary">
  <h2>Definitions</h2>
  <dl class="glossary">
    <dt>pass rate</dt><dd>correct samples ÷ all samples; the interval is the 95% Wilson score interval.</dd>
    <dt>truncated</dt><dd>finish_reason “length” or verdict “truncated” (the teacher ran out of tokens).</dd>
    <dt>malformed</dt><dd>an error was recorded, verdict “error”, or no answer text although not truncated.</dd>
    <dt>unverifiable</dt><dd>the verifier could not judge the sample (no reference answer or tests).</dd>
    <dt>difficulty</dt><dd>1 − pass rate of the query over all samples of all teachers (adaptive length); the pass-rate-by-difficulty buckets use the other teachers’ samples only.</dd>
    <dt>Spearman ρ (adaptive length)</dt><dd>rank correlation between a query's difficulty and the trace length; &gt; 0 means
      longer traces on harder queries.</dd>
    <dt>verification share</dt><dd>share of reasoning characters in verification segments.</dd>
    <dt>first approach correct</dt><dd>share of segmented traces whose first approach reaches the reference answer.</dd>
    <dt>reduction</dt><dd>1 − simplified tokens ÷ reasoning tokens, summed over the teacher's traces.</dd>
    <dt>answer agreement</dt><dd>same normalised extracted answer on the first sample of a shared query; Cohen's κ is
      computed on pass/fail.</dd>
  </dl>
</section>
<footer>cotforge {{ version }} · all numbers are in <code>audit.json</code> next to this page · figures as PNG in
<code>figures/</code></footer>
</main>
<script>
(function () {
  function key(td) {
    var v = td.getAttribute("data-sort");
    if (v === null) v = td.textContent.trim();
    var n = parseFloat(v);
    return (v !== "" && !isNaN(n) && isFinite(v)) ? n : v.toLowerCase();
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("thead th").forEach(function (th, i) {
      th.addEventListener("click", function () {
        var asc = !th.classList.contains("asc");
        table.querySelectorAll("thead th").forEach(function (h) { h.classList.remove("asc", "desc"); });
        th.classList.add(asc ? "asc" : "desc");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[i]), y = key(b.cells[i]);
          if (typeof x === "number" && typeof y !== "number") return -1;
          if (typeof y === "number" && typeof x !== "number") return 1;
          return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
</script>
</body>
</html>
"""
