#!/usr/bin/env node
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { run } from './run.js';

const code = await run(process.argv.slice(2), {
  stdin: process.stdin,
  writeOut: (text) => process.stdout.write(text),
  writeErr: (text) => process.stderr.write(text),
  writeFile: (path, content) => writeFile(path, content),
  makeDir: async (path) => {
    await mkdir(path, { recursive: true });
  },
  readText: (path) => readFile(path, 'utf8'),
  openWritable: (path) => (path === '-' ? process.stdout : createWriteStream(path)),
});
process.exitCode = code;
