/// <reference lib="dom" />
// lmtrain demo --quick end to end, and its report in a real headless browser (Debian's chromium).
import { describe, expect, it, beforeAll, vi } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer from 'puppeteer-core';
import { runDemoCli } from '../../src/cli/demo.js';
import { runReportCli } from '../../src/cli/report.js';
import { readReportData } from '../../src/report/report.js';
import { ArgumentError, DataError } from '../../src/index.js';

interface DemoJson { stages: { name: string; seconds: number; metrics: Record<string, number> }[]; total_seconds: number }

let dir = '';
let result: DemoJson;

async function capture(fn: () => Promise<number>): Promise<string> {
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { lines.push(a.join(' ')); });
  try {
    expect(await fn()).toBe(0);
  } finally {
    log.mockRestore();
  }
  return lines.join('\n');
}

function chromiumPath(): string {
  const candidates = [process.env.LMT_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((x): x is string => !!x);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`the report test needs a headless browser: install Debian's chromium (apt-get install chromium) or set LMT_CHROMIUM; looked at ${candidates.join(', ')}`);
  return found;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lmt-demo-'));
  result = JSON.parse(await capture(() => runDemoCli(['--quick', '--json', '--out', dir])));
}, 240_000);

describe('lmtrain demo --quick', () => {
  it('prints one JSON table with every stage, finite metrics, and the stages move the metrics the right way', () => {
    console.log(JSON.stringify(result.stages.map((s) => [s.name, +s.seconds.toFixed(1), s.metrics])));
    expect(result.stages.map((s) => s.name)).toEqual(['data', 'tokenizer', 'pretrain', 'sft', 'reward', 'dpo']);
    for (const s of result.stages) {
      expect(s.seconds).toBeGreaterThanOrEqual(0);
      for (const [k, v] of Object.entries(s.metrics)) expect(Number.isFinite(v), `${s.name}.${k} = ${v}`).toBe(true);
    }
    expect(result.total_seconds).toBeGreaterThan(0);
    const m = Object.fromEntries(result.stages.map((s) => [s.name, s.metrics]));
    // Pretraining learns the language and the facts: far below the unigram level, facts completed.
    expect(m.pretrain.perplexity).toBeLessThan(3);
    expect(m.pretrain.cloze_accuracy).toBeGreaterThan(0.3);
    // SFT unlocks answering questions about facts it never saw answered.
    expect(m.pretrain.qa_exact_match).toBe(0);
    expect(m.sft.qa_exact_match).toBeGreaterThan(m.pretrain.qa_exact_match);
    // DPO: the implicit reward ranks held-out chosen answers first more often than chance.
    expect(m.sft.preference_accuracy).toBe(0.5);
    expect(m.dpo.preference_accuracy).toBeGreaterThanOrEqual(0.7); // measured 0.767 (0.933 at full size)
    expect(m.reward.rm_accuracy).toBeGreaterThanOrEqual(0);
    // The reward model scored the earlier stages' answers once it existed (stage_metrics records).
    expect(Number.isFinite(m.pretrain.rm_score) && Number.isFinite(m.sft.rm_score)).toBe(true);
    // The exact-answer reward follows exact match: SFT answers earn more than pretraining's.
    expect(m.sft.reward).toBeGreaterThan(m.pretrain.reward);
    for (const f of ['tokenizer.json', 'metrics.jsonl', 'report.html', 'data/corpus.jsonl', 'data/sft_train.jsonl', 'data/prefs_heldout.jsonl', 'data/rl_prompts.jsonl',
      'pretrain/model.safetensors', 'sft/model.safetensors', 'reward/model.safetensors', 'dpo/model.safetensors'])
      expect(existsSync(join(dir, f)), f).toBe(true);
  });

  it('report.html loads in headless chromium with no console errors, draws every chart and the table; screenshot kept', async () => {
    const browser = await puppeteer.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox', '--disable-gpu', '--allow-file-access-from-files'] });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('console', (msg) => { if (msg.type() === 'error' || msg.type() === 'warn') problems.push(`${msg.type()}: ${msg.text()}`); });
      page.on('pageerror', (e) => problems.push(`pageerror: ${String(e)}`));
      page.on('requestfailed', (r) => problems.push(`requestfailed: ${r.url()}`));
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.setViewport({ width: 1200, height: 900 });
      await page.goto(pathToFileURL(join(dir, 'report.html')).href, { waitUntil: 'load' });
      const facts = await page.evaluate(() => ({
        charts: Array.from(document.querySelectorAll('#charts svg')).map((s) => ({
          stage: s.getAttribute('data-stage'),
          points: (s.querySelector('polyline.series')?.getAttribute('points') ?? '').trim().split(/\s+/).filter(Boolean).length,
          width: s.getBoundingClientRect().width,
        })),
        rows: Array.from(document.querySelectorAll('#eval-table tr')).slice(1).map((r) => r.firstElementChild?.textContent),
        rewards: Array.from(document.querySelectorAll('#eval-table tr')).slice(1).map((r) => r.children[6]?.textContent),
        samples: document.querySelectorAll('table.samples tr').length,
        drawn: Number(document.body.getAttribute('data-drawn')),
      }));
      expect(problems).toEqual([]);
      // One page, nothing fetched: self-contained.
      expect(requests.filter((u) => !u.startsWith('file:'))).toEqual([]);
      expect(facts.rows).toEqual(['data', 'tokenizer', 'pretrain', 'sft', 'reward', 'dpo']);
      expect(facts.charts.map((c) => c.stage)).toEqual(['pretrain', 'sft', 'reward', 'dpo']);
      // The reward column is filled for every policy stage.
      expect(facts.rewards.map((x) => x !== '—')).toEqual([false, false, true, true, false, true]);
      for (const c of facts.charts) {
        expect(c.points, c.stage!).toBeGreaterThanOrEqual(10);
        expect(c.width).toBeGreaterThan(200);
      }
      expect(facts.drawn).toBeGreaterThan(40);
      expect(facts.samples).toBeGreaterThan(2);
      const shots = resolve('test-artifacts');
      mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: join(shots, 'demo-report.png'), fullPage: true });
      expect(readFileSync(join(shots, 'demo-report.png')).length).toBeGreaterThan(10_000);
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('lmtrain report DIR rebuilds the same page from metrics.jsonl; bad records are DataErrors with the line', async () => {
    const before = readFileSync(join(dir, 'report.html'), 'utf8');
    rmSync(join(dir, 'report.html'));
    const out = await capture(() => runReportCli([dir]));
    expect(out.trim()).toBe(join(dir, 'report.html'));
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toBe(before);
    // A plain training folder (no demo records) gives a report of its curves.
    const plain = join(dir, 'pretrain');
    await capture(() => runReportCli([plain]));
    const d = readReportData(join(plain, 'metrics.jsonl'));
    expect(d.curves.length).toBe(1);
    expect(d.curves[0].evals.loss.values.length).toBeGreaterThan(0);
    const bad = mkdtempSync(join(tmpdir(), 'lmt-report-bad-'));
    writeFileSync(join(bad, 'metrics.jsonl'), '{"stage":"x","step":1,"loss":2}\n{"stage": oops}\n');
    await expect(runReportCli([bad])).rejects.toThrow(DataError);
    await expect(runReportCli([bad])).rejects.toThrow(/metrics\.jsonl:2: report: line 2 is not JSON/);
    writeFileSync(join(bad, 'metrics.jsonl'), '{"type":"stage","metrics":{}}\n');
    await expect(runReportCli([bad])).rejects.toThrow(/line 1: a stage record needs "name"/);
    await expect(runReportCli([join(bad, 'missing')])).rejects.toThrow(/does not exist/);
    await expect(runReportCli([])).rejects.toThrow(ArgumentError);
  });

  it('rejects what it cannot do with typed errors', async () => {
    await expect(runDemoCli(['--device', 'tpu', '--out', join(dir, 'x')])).rejects.toThrow(/--device \(or LMT_DEVICE\) must be cpu or cuda/);
    // --device cuda where CUDA is unusable: tests/train/device_trainers.test.ts.
    await expect(runDemoCli(['--seed', '-1', '--out', join(dir, 'x')])).rejects.toThrow(ArgumentError);
    await expect(runDemoCli(['--fast'])).rejects.toThrow(/unknown option '--fast'/);
  });
});
