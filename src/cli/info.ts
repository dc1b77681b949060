/** `lmtrain info [--json]` */
import { info } from '../info.js';
import { defaultDeviceChoice } from '../ops/default_device.js';

const gib = (n: number): string => `${(n / 2 ** 30).toFixed(1)} GiB`;
const mib = (n: number): string => `${(n / 2 ** 20).toFixed(2)} MiB`;

export function runInfo(args: string[]): number {
  const unknown = args.filter((a) => a !== '--json');
  if (unknown.length > 0) {
    console.error(`lmtrain info: unknown option ${unknown[0]}`);
    return 2;
  }
  const i = info();
  // The commands' default device (--device overrides it). LMT_DEVICE names it outright;
  // otherwise the CUDA self-check runs here too, which is what lets `info` say why a GPU is or
  // is not the default.
  const env = process.env.LMT_DEVICE;
  const def: { device: string; reason: string; checkSeconds?: number } =
    env !== undefined ? { device: env, reason: 'named by LMT_DEVICE' } : defaultDeviceChoice();
  if (args.includes('--json')) {
    console.log(JSON.stringify({ ...i, defaultDevice: def }, null, 2));
    return 0;
  }
  const b = i.binary;
  const r = i.runtime;
  const c = i.cuda;
  console.log(`lmtrain  ${i.version}`);
  console.log(`binary   ${b.path} (${b.kind}${b.bytes !== null ? `, ${mib(b.bytes)}` : ''})`);
  console.log(`         needs glibc >= ${b.glibcFloor ?? '?'}; this host: ${r.glibc ?? 'not glibc'}; Node ${r.node} (N-API ${r.napi}), ${r.platform}-${r.arch}`);
  console.log(`cpu      ${i.cpu.features}, ${i.cpu.threads} threads (LMT_NUM_THREADS)`);
  if (c.compiled) {
    console.log(`cuda     compiled: yes (CUDA ${c.runtime ?? '?'}, static runtime; kernels for compute capability ${c.archs.join(', ') || '?'}; needs NVIDIA driver >= ${c.driverFloor ?? '?'})`);
  } else {
    console.log('cuda     compiled: no');
  }
  console.log(`         usable: ${c.available ? `yes, ${c.devices} device(s)` : `no — ${c.why}`}`);
  for (const d of c.deviceList) {
    if (d.error) console.log(`gpu ${d.index}    ${d.error}`);
    else console.log(`gpu ${d.index}    ${d.name}, compute capability ${d.computeCapability}, ${d.multiprocessors} SMs, ${gib(d.totalBytes ?? 0)} (${gib(d.freeBytes ?? 0)} free)`);
  }
  console.log(`default  --device ${def.device}: ${def.reason}${def.checkSeconds !== undefined ? ` [self-check ${def.checkSeconds.toFixed(2)} s]` : ''}`);
  return 0;
}
