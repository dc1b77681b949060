/** metrics.jsonl: one JSON object per line, appended and flushed as training goes. */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export class MetricsWriter {
  constructor(readonly path: string, opts: { append?: boolean } = {}) {
    mkdirSync(dirname(path), { recursive: true });
    if (!opts.append) writeFileSync(path, '');
  }
  write(record: Record<string, unknown>): void {
    appendFileSync(this.path, `${JSON.stringify({ time: new Date().toISOString(), ...record })}\n`);
  }
}
