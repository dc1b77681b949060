/** `lmtrain report DIR`: (re)builds DIR/report.html from DIR/metrics.jsonl. */
import { parseArgs, usage, type OptionSpec } from './args.js';
import { buildReport } from '../report/report.js';
import { ArgumentError } from '../errors.js';

const SPEC: Record<string, OptionSpec> = {};

export async function runReportCli(args: string[]): Promise<number> {
  const positional = args.filter((a) => !a.startsWith('--'));
  const o = parseArgs('report', args.filter((a) => a.startsWith('--')), SPEC);
  if (o.help) { console.log(`usage: lmtrain report DIR\n\nWrites DIR/report.html from DIR/metrics.jsonl.\n${usage('report', SPEC)}`); return 0; }
  if (positional.length !== 1) throw new ArgumentError(`report: give exactly one run folder (usage: lmtrain report DIR), got ${positional.length}`);
  console.log(buildReport(positional[0]));
  return 0;
}
