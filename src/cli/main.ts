/** `lmtrain` command dispatch: subcommands live one per file in this folder. */
import { runInfo } from './info.js';
import { runImport } from './import.js';
import { runPretrainCli } from './pretrain.js';
import { runGenerate } from './generate.js';
import { runEval } from './eval.js';
import { runTokenizer } from './tokenizer.js';
import { runDpoCli, runKtoCli } from './dpo.js';
import { runRewardCli } from './reward.js';
import { runPpoCli, runGrpoCli } from './ppo.js';
import { runSftCli } from './sft.js';
import { runClassifyCli } from './classify.js';
import { runQaCli } from './qa.js';
import { runSelfTrainCli } from './self_train.js';
import { runDemoCli } from './demo.js';
import { runReportCli } from './report.js';
import { runBenchCli } from './bench.js';
import { getMatmulPrecision, setMatmulPrecision } from '../ops/device.js';

const USAGE = `usage: lmtrain <command> [options]

commands:
  demo [--quick] [--all] [--json] [--out DIR]  the whole pipeline on the built-in world, with report.html
  info [--json]                              build, binary, CPU features, threads, CUDA status and why, default device
  import gpt2 --from HF_DIR --out DIR        convert a Hugging Face GPT-2 checkpoint
  tokenizer train --data FILE... --vocab-size N --out tokenizer.json
  pretrain --model gpt|bert|t5 [--objective clm|mlm|span] --data FILE... --out DIR
  generate --model DIR --prompt TEXT [--max-new-tokens N --temperature T --top-k K --top-p P]
  eval --model DIR --data FILE...
  classify | qa | self-train --init DIR --data train.jsonl --eval dev.jsonl --out DIR
  sft --init DIR --data sft.jsonl [--eval dev.jsonl] [--lora R] [--pack] --out DIR
  reward --init DIR --data prefs.jsonl [--eval dev.jsonl] [--feedback] --out DIR
  ppo | grpo --init DIR (--reward DIR | --reward-fn exact-answer) --prompts prompts.jsonl --out DIR
  dpo --init DIR --data prefs.jsonl [--eval dev.jsonl] [--beta 0.1] [--loss sigmoid|ipo|hinge|simpo] --out DIR
  kto --init DIR --data feedback.jsonl [--eval prefs.jsonl] --out DIR
  report DIR                                 (re)build DIR/report.html from DIR/metrics.jsonl
  bench kernels [--quick] [--json]           kernel speed, each with a reference measured in the same run
  bench train --config tiny|small|gpt2-124m  training throughput (tokens/s, % of peak, peak RSS)
Training, eval and generate commands take --device cpu|cuda and --precision fp32|tf32|bf16.
Every command takes --help.`;

export async function main(argv: string[]): Promise<number> {
  // --precision holds for one command: an in-process caller gets its own setting back.
  const precision = getMatmulPrecision();
  try {
    return await dispatch(argv);
  } finally {
    setMatmulPrecision(precision);
  }
}

async function dispatch(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'demo':
      return runDemoCli(rest);
    case 'bench':
      return runBenchCli(rest);
    case 'report':
      return runReportCli(rest);
    case 'info':
      return runInfo(rest);
    case 'import':
      return runImport(rest);
    case 'tokenizer':
      return runTokenizer(rest);
    case 'pretrain':
      return runPretrainCli(rest);
    case 'generate':
      return runGenerate(rest);
    case 'eval':
      return runEval(rest);
    case 'sft':
      return runSftCli(rest);
    case 'classify':
      return runClassifyCli(rest);
    case 'qa':
      return runQaCli(rest);
    case 'self-train':
      return runSelfTrainCli(rest);
    case 'reward':
      return runRewardCli(rest);
    case 'ppo':
      return runPpoCli(rest);
    case 'grpo':
      return runGrpoCli(rest);
    case 'dpo':
      return runDpoCli(rest);
    case 'kto':
      return runKtoCli(rest);
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

