/**
 * A progress bar on stderr: redrawn in place on a terminal, one line per ~10% otherwise
 * (so CI logs stay short). Shows step, loss, throughput and ETA.
 */
export class ProgressBar {
  private readonly start = Date.now();
  private lastPrintedDecile = -1;
  private readonly tty: boolean;
  constructor(readonly label: string, readonly total: number, readonly stream: NodeJS.WriteStream = process.stderr, readonly enabled = true) {
    this.tty = !!stream.isTTY;
  }
  update(done: number, fields: Record<string, string | number> = {}): void {
    if (!this.enabled) return;
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const elapsed = (Date.now() - this.start) / 1000;
    const eta = frac > 0 ? elapsed * (1 / frac - 1) : 0;
    const width = 24;
    const bar = '█'.repeat(Math.round(frac * width)).padEnd(width, '░');
    const extra = Object.entries(fields).map(([k, v]) => `${k} ${typeof v === 'number' ? fmt(v) : v}`).join('  ');
    const line = `${this.label} ${bar} ${done}/${this.total}  ${extra}  ${fmtTime(elapsed)} elapsed, eta ${fmtTime(eta)}`;
    if (this.tty) this.stream.write(`\r\x1b[K${line}`);
    else {
      const decile = Math.floor(frac * 10);
      if (decile !== this.lastPrintedDecile) {
        this.lastPrintedDecile = decile;
        this.stream.write(`${line}\n`);
      }
    }
  }
  done(): void {
    if (this.enabled && this.tty) this.stream.write('\n');
  }
}

function fmt(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a >= 1000 ? v.toFixed(0) : a >= 1 ? v.toFixed(3) : v.toPrecision(3);
}
export function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${Math.round(s - m * 60).toString().padStart(2, '0')}s`;
}
