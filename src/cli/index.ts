#!/usr/bin/env node
/**
 * `lmtrain` command line. Subcommands live one per file in this folder; this entry point
 * parses the first word and dispatches.
 */
import { runInfo } from './info.js';
import { runImport } from './import.js';

const USAGE = `usage: lmtrain <command> [options]

commands:
  info [--json]                              build, binary, CPU features, threads, CUDA status and why
  import gpt2 --from HF_DIR --out DIR        convert a Hugging Face GPT-2 checkpoint

The training commands (pretrain, sft, dpo, ...) arrive with their issues; see README.md.`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'info':
      return runInfo(rest);
    case 'import':
      return runImport(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      console.log(USAGE);
      return cmd === undefined ? 1 : 0;
    default:
      console.error(`lmtrain: unknown command '${cmd}'\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    console.error(`lmtrain: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
