#!/usr/bin/env node
/** The `lmtrain` executable. */
import { main } from './main.js';
import { LmtError } from '../errors.js';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    // Typed errors are the user's to fix: the message alone. Anything else is a bug: the stack.
    console.error(err instanceof LmtError ? `lmtrain: ${err.message}` : err);
    process.exitCode = 1;
  },
);
