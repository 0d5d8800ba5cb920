#!/usr/bin/env node
import { ExitCode } from '../errors.js';
import { nodeIo } from './nodeIo.js';
import { run } from './run.js';

// A reader of stdout that goes away (`vmid-replay analyze big.trace | head`) is not a failure
// of the run: stop quietly with the status a tool killed by SIGPIPE has, instead of dying on
// an unhandled EPIPE with a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(ExitCode.brokenPipe);
});

process.exitCode = await run(process.argv.slice(2), nodeIo());
