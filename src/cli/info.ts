/** `lmtrain info [--json]` */
import { info } from '../info.js';

export function runInfo(args: string[]): number {
  const unknown = args.filter((a) => a !== '--json');
  if (unknown.length > 0) {
    console.error(`lmtrain info: unknown option ${unknown[0]}`);
    return 2;
  }
  const i = info();
  if (args.includes('--json')) {
    console.log(JSON.stringify(i, null, 2));
    return 0;
  }
  console.log(`lmtrain ${i.version}`);
  console.log(`binary   ${i.binary.path} (${i.binary.kind})`);
  console.log(`cpu      ${i.cpu.features}, ${i.cpu.threads} threads (LMT_NUM_THREADS)`);
  console.log(`cuda     compiled: ${i.cuda.compiled ? 'yes' : 'no'}; usable: ${i.cuda.available ? `yes, ${i.cuda.devices} device(s)` : `no — ${i.cuda.why}`}`);
  return 0;
}
