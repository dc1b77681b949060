/**
 * The run report: metrics.jsonl -> one self-contained report.html (no network, no external
 * script or font). The page carries its data as JSON and draws the charts itself as inline
 * SVG when it loads, so it works from a file:// URL in any browser.
 *
 * metrics.jsonl records it understands (one JSON object per line):
 * - training records: {stage|demo_stage, step, loss | reward, eval_*...} (what every trainer writes);
 * - {type:"settings", ...}: run settings, shown as a table;
 * - {type:"stage", name, seconds, metrics:{...}, samples:[{prompt, reference, answer}]}: one row
 *   of the evaluation table and the stage's held-out answers (the demo writes these);
 * - {type:"stage_metrics", name, metrics}: metrics of an earlier stage measured later, merged in;
 * - {type:"summary", total_seconds}.
 */
import { readFileSync, writeFileSync, renameSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../errors.js';

export interface ReportData {
  title: string;
  settings: Record<string, unknown> | null;
  curves: { stage: string; metric: string; steps: number[]; values: number[]; evals: Record<string, { steps: number[]; values: number[] }> }[];
  stages: { name: string; seconds: number; metrics: Record<string, number>; samples?: { prompt: string; reference: string; answer: string }[] }[];
  totalSeconds: number | null;
}

/** Parses metrics.jsonl into the report's data; malformed lines are DataErrors naming the line. */
export function readReportData(file: string): ReportData {
  if (!existsSync(file)) throw new DataError(`report: ${file} does not exist (run a training command or lmtrain demo with --out first)`, file);
  const text = readFileSync(file, 'utf8');
  const data: ReportData = { title: 'lmtrain run report', settings: null, curves: [], stages: [], totalSeconds: null };
  const curves = new Map<string, ReportData['curves'][number]>();
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line);
    } catch (e) {
      throw new DataError(`report: line ${i + 1} is not JSON (${(e as Error).message})`, file, i + 1);
    }
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new DataError(`report: line ${i + 1} is not a JSON object`, file, i + 1);
    if (r.type === 'settings') { data.settings = r; return; }
    if (r.type === 'summary') { data.totalSeconds = typeof r.total_seconds === 'number' ? r.total_seconds : null; return; }
    if (r.type === 'stage') {
      if (typeof r.name !== 'string' || typeof r.metrics !== 'object' || r.metrics === null)
        throw new DataError(`report: line ${i + 1}: a stage record needs "name" (string) and "metrics" (object)`, file, i + 1);
      data.stages.push({ name: r.name, seconds: Number(r.seconds) || 0, metrics: r.metrics as Record<string, number>, samples: Array.isArray(r.samples) ? r.samples : undefined });
      return;
    }
    if (r.type === 'stage_metrics') {
      // Metrics measured after the stage ended (the demo scores earlier stages once the reward model exists).
      const st = data.stages.find((x) => x.name === r.name);
      if (!st || typeof r.metrics !== 'object' || r.metrics === null)
        throw new DataError(`report: line ${i + 1}: stage_metrics for '${String(r.name)}' comes before that stage's record or has no "metrics"`, file, i + 1);
      Object.assign(st.metrics, r.metrics);
      return;
    }
    const stage = String(r.demo_stage ?? r.stage ?? 'train');
    const step = r.step ?? r.iteration;
    if (typeof step !== 'number') return; // events and other records carry no point of a curve
    const c = curves.get(stage) ?? { stage, metric: '', steps: [], values: [], evals: {} };
    curves.set(stage, c);
    const main = typeof r.loss === 'number' ? 'loss' : typeof r.reward === 'number' ? 'reward' : '';
    if (main && (!c.metric || c.metric === main)) {
      c.metric = main;
      if (Number.isFinite(r[main] as number)) { c.steps.push(step); c.values.push(r[main] as number); }
    }
    for (const [k, v] of Object.entries(r)) {
      if (!k.startsWith('eval_') || typeof v !== 'number' || !Number.isFinite(v)) continue;
      const e = (c.evals[k.slice(5)] ??= { steps: [], values: [] });
      e.steps.push(step);
      e.values.push(v);
    }
  });
  data.curves = [...curves.values()].filter((c) => c.steps.length > 0 || Object.keys(c.evals).length > 0);
  return data;
}

/** The page: data as JSON (with "<" escaped so no string can close the script), CSS and the drawing script inline. */
export function renderReport(data: ReportData): string {
  const json = JSON.stringify(data).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(data.title)}</title>
<style>${CSS}</style></head>
<body>
<h1>${escapeHtml(data.title)}</h1>
<p id="summary"></p>
<h2>Evaluation after each stage</h2>
<div id="table"></div>
<p class="legend">ppl: perplexity of held-out text. cloze: the model completes a held-out fact sentence with the right value (knowledge from pretraining). QA EM: its greedy answer to a held-out question equals the reference (the facts of these questions are never in the SFT data). pref acc: DPO's implicit reward log π − log π<sub>SFT</sub> ranks the chosen answer of a held-out pair first (0.5 at the SFT model by construction). reward: the exact-answer reward of the stage's held-out answers (1 right value about the asked country, 0.5 right value about another, 0.25 hedged, 0 wrong); rm_score: the trained reward model's mean score of the same answers.</p>
<h2>Training curves</h2>
<div id="charts" class="charts"></div>
<h2>Held-out answers, stage by stage</h2>
<div id="samples"></div>
<h2>Settings</h2>
<div id="settings"></div>
<script type="application/json" id="report-data">${json}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}

/** Builds DIR/report.html from DIR/metrics.jsonl (written to a temporary name, then renamed); returns its path. */
export function buildReport(dir: string): string {
  const data = readReportData(join(dir, 'metrics.jsonl'));
  const out = join(dir, 'report.html');
  writeFileSync(out + '.tmp', renderReport(data));
  renameSync(out + '.tmp', out);
  return out;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC",sans-serif;margin:24px auto;max-width:1100px;padding:0 16px;color:#1d2330}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e3e6ec;padding-bottom:4px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}th,td{border-bottom:1px solid #eceef2;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f7f9;font-weight:600}td.num{text-align:right}.legend{color:#5b6475;font-size:12.5px}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:14px}
.chart{border:1px solid #e3e6ec;border-radius:6px;padding:8px}.chart h3{font-size:13.5px;margin:0 0 4px}
.chart svg{width:100%;height:auto;display:block}.ok{color:#137333}.bad{color:#b3261e}
.samples td{font-size:12.5px}.samples td.q{font-weight:600;min-width:180px}code{font-size:12.5px}
`;

// Plain ES2017, no library: a line chart per stage (main series as a line, eval series as dots).
const SCRIPT = `
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var NS = 'http://www.w3.org/2000/svg';
  function el(tag, attrs, text) { var e = document.createElement(tag); for (var k in attrs || {}) e.setAttribute(k, attrs[k]); if (text !== undefined) e.textContent = text; return e; }
  function svgEl(tag, attrs) { var e = document.createElementNS(NS, tag); for (var k in attrs || {}) e.setAttribute(k, attrs[k]); return e; }
  function fmt(v) { if (typeof v !== 'number' || !isFinite(v)) return '—'; var a = Math.abs(v); return Number.isInteger(v) ? v.toLocaleString('en') : a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(2) : v.toFixed(3); }
  function secs(s) { return s < 60 ? s.toFixed(1) + 's' : Math.floor(s / 60) + 'm' + String(Math.round(s % 60)).padStart(2, '0') + 's'; }

  var total = data.totalSeconds;
  document.getElementById('summary').textContent = data.stages.length + ' stages' + (total !== null ? ', ' + secs(total) + ' in total' : '') +
    (data.settings && data.settings.started ? ', started ' + data.settings.started : '');

  // 1. evaluation table
  var COLS = [['perplexity', 'ppl'], ['cloze_accuracy', 'cloze'], ['qa_exact_match', 'QA EM'], ['preference_accuracy', 'pref acc'], ['reward', 'reward']];
  if (data.stages.length) {
    var t = el('table', { id: 'eval-table' }), h = el('tr');
    ['stage', 'time'].concat(COLS.map(function (c) { return c[1]; })).concat(['other metrics']).forEach(function (x) { h.appendChild(el('th', {}, x)); });
    t.appendChild(h);
    data.stages.forEach(function (s) {
      var r = el('tr');
      r.appendChild(el('td', {}, s.name));
      r.appendChild(el('td', { 'class': 'num' }, secs(s.seconds)));
      COLS.forEach(function (c) { r.appendChild(el('td', { 'class': 'num' }, fmt(s.metrics[c[0]]))); });
      var shown = COLS.map(function (c) { return c[0]; });
      r.appendChild(el('td', {}, Object.keys(s.metrics).filter(function (k) { return shown.indexOf(k) < 0; }).map(function (k) { return k + ' ' + fmt(s.metrics[k]); }).join(', ')));
      t.appendChild(r);
    });
    document.getElementById('table').appendChild(t);
  } else document.getElementById('table').textContent = 'No evaluation records in metrics.jsonl.';

  // 2. charts
  var PALETTE = ['#2f6fde', '#d9480f', '#2b8a3e', '#7048e8', '#c2255c', '#0b7285'];
  data.curves.forEach(function (c) {
    var W = 360, H = 200, L = 46, R = 10, T = 10, B = 26;
    var series = [];
    if (c.steps.length) series.push({ name: c.metric, steps: c.steps, values: c.values, line: true });
    Object.keys(c.evals).forEach(function (k) { series.push({ name: 'eval ' + k, steps: c.evals[k].steps, values: c.evals[k].values, line: false }); });
    // Eval metrics on another scale (accuracy next to a loss) would flatten the main line: keep those whose range overlaps it.
    var main = series[0], lo = Math.min.apply(null, main.values), hi = Math.max.apply(null, main.values);
    series = series.filter(function (s, i) { if (i === 0) return true; var a = Math.min.apply(null, s.values), b = Math.max.apply(null, s.values); return b >= lo - (hi - lo) && a <= hi + (hi - lo); });
    var xs = [], ys = [];
    series.forEach(function (s) { xs = xs.concat(s.steps); ys = ys.concat(s.values); });
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs), y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    if (x1 === x0) x1 = x0 + 1; if (y1 === y0) { y1 = y0 + 1; y0 = y0 - 1; }
    var px = function (x) { return L + (x - x0) / (x1 - x0) * (W - L - R); }, py = function (y) { return T + (1 - (y - y0) / (y1 - y0)) * (H - T - B); };
    var box = el('div', { 'class': 'chart' }); box.appendChild(el('h3', {}, c.stage + ': ' + c.metric));
    var svg = svgEl('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': c.stage + ' ' + c.metric, 'data-stage': c.stage });
    svg.appendChild(svgEl('rect', { x: L, y: T, width: W - L - R, height: H - T - B, fill: '#fbfbfd', stroke: '#d5d9e0' }));
    for (var i = 0; i <= 4; i++) {
      var yv = y0 + (y1 - y0) * i / 4, yy = py(yv);
      svg.appendChild(svgEl('line', { x1: L, x2: W - R, y1: yy, y2: yy, stroke: '#eceef2' }));
      var lab = svgEl('text', { x: L - 4, y: yy + 4, 'text-anchor': 'end', 'font-size': 10, fill: '#5b6475' }); lab.textContent = fmt(yv); svg.appendChild(lab);
    }
    [x0, x1].forEach(function (xv, j) { var lab = svgEl('text', { x: px(xv), y: H - 8, 'text-anchor': j ? 'end' : 'start', 'font-size': 10, fill: '#5b6475' }); lab.textContent = 'step ' + fmt(xv); svg.appendChild(lab); });
    series.forEach(function (s, k) {
      var color = PALETTE[k % PALETTE.length];
      if (s.line) svg.appendChild(svgEl('polyline', { 'class': 'series', fill: 'none', stroke: color, 'stroke-width': 1.5, points: s.steps.map(function (x, j) { return px(x).toFixed(1) + ',' + py(s.values[j]).toFixed(1); }).join(' ') }));
      else s.steps.forEach(function (x, j) { svg.appendChild(svgEl('circle', { 'class': 'eval-point', cx: px(x).toFixed(1), cy: py(s.values[j]).toFixed(1), r: 3, fill: color })); });
      var key = svgEl('text', { x: W - R - 4, y: T + 12 + 12 * k, 'text-anchor': 'end', 'font-size': 10, fill: color }); key.textContent = s.name; svg.appendChild(key);
    });
    box.appendChild(svg);
    document.getElementById('charts').appendChild(box);
  });
  if (!data.curves.length) document.getElementById('charts').textContent = 'No training curves in metrics.jsonl.';

  // 3. samples: one row per held-out question, one column per stage
  var withSamples = data.stages.filter(function (s) { return s.samples && s.samples.length; });
  if (withSamples.length) {
    var st = el('table', { 'class': 'samples' }), hr = el('tr');
    hr.appendChild(el('th', {}, 'question / reference'));
    withSamples.forEach(function (s) { hr.appendChild(el('th', {}, s.name)); });
    st.appendChild(hr);
    withSamples[0].samples.forEach(function (q, i) {
      var r = el('tr'), td = el('td', { 'class': 'q' }, q.prompt);
      td.appendChild(el('br')); td.appendChild(el('code', {}, q.reference)); r.appendChild(td);
      withSamples.forEach(function (s) { var a = s.samples[i]; var ok = a && a.answer === a.reference; r.appendChild(el('td', { 'class': ok ? 'ok' : 'bad' }, (ok ? '✓ ' : '✗ ') + (a ? a.answer : ''))); });
      st.appendChild(r);
    });
    document.getElementById('samples').appendChild(st);
  } else document.getElementById('samples').textContent = 'No samples recorded.';

  // 4. settings
  if (data.settings) {
    var tb = el('table');
    (function add(obj, prefix) {
      Object.keys(obj).forEach(function (k) {
        if (k === 'type') return;
        var v = obj[k];
        if (v && typeof v === 'object' && !Array.isArray(v)) return add(v, prefix + k + '.');
        var r = el('tr'); r.appendChild(el('th', {}, prefix + k)); r.appendChild(el('td', {}, JSON.stringify(v))); tb.appendChild(r);
      });
    })(data.settings, '');
    document.getElementById('settings').appendChild(tb);
  } else document.getElementById('settings').textContent = 'No settings recorded.';
  document.body.setAttribute('data-drawn', String(document.querySelectorAll('svg polyline.series, svg circle.eval-point').length));
})();
`;
