// Entry of the child processes of the reliability tests: loads a TS module through Vite's
// module runner (no build step) and calls its main() with the JSON argument.
//   node tests/reliability/child.mjs <module.ts> '<json>'
import { runnerImport } from 'vite';
import { resolve } from 'node:path';

const [, , mod, json] = process.argv;
const { module } = await runnerImport(resolve(mod), { configFile: false, logLevel: 'silent', server: { watch: null } });
await module.main(JSON.parse(json ?? '{}'));
