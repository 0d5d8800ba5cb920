/**
 * The second half of `npm run build`: compiles the WebAssembly skimmer (wasm/ftraceSkim.ts,
 * AssemblyScript) and writes it as a JavaScript module of base64 text next to the compiled
 * `src/ingest/lines/ftraceSkim.js`, so the tool loads it like any other module: no file is read at
 * run time and nothing built is committed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The part of the compiler's API used here. Its own typings declare globals (for
 * AssemblyScript sources) that would change how this project type-checks, so the module is
 * loaded by a specifier TypeScript does not follow.
 */
interface AssemblyScriptCompiler {
  main(
    argv: string[],
    options: {
      writeFile(name: string, contents: Uint8Array | string): void;
      stdout: { write(text: string): void };
      stderr: { write(text: string): void };
    },
  ): Promise<{ error: Error | null }>;
}
const compilerModule: string = 'assemblyscript/asc';

const source = 'wasm/ftraceSkim.ts';
const target = join('dist', 'src', 'ingest', 'lines', 'ftraceSkimWasm.js');

async function main(): Promise<void> {
  let binary: Uint8Array | undefined;
  const diagnostics: string[] = [];
  const asc = ((await import(compilerModule)) as { default: AssemblyScriptCompiler }).default;
  const result = await asc.main([source, '--outFile', 'ftraceSkim.wasm', '--enable', 'simd', '--optimizeLevel', '3', '--shrinkLevel', '0', '--noAssert', '--runtime', 'stub'], {
    writeFile(name, contents) {
      if (name === 'ftraceSkim.wasm' && typeof contents !== 'string') binary = contents;
    },
    stdout: { write: (text: string) => diagnostics.push(text) },
    stderr: { write: (text: string) => diagnostics.push(text) },
  });
  if (result.error !== null || binary === undefined) {
    process.stderr.write(diagnostics.join(''));
    throw result.error ?? new Error(`${source}: the compiler wrote no binary`);
  }
  mkdirSync(dirname(target), { recursive: true });
  const base64 = Buffer.from(binary).toString('base64');
  writeFileSync(target, `// Built by scripts/buildWasm.ts from ${source}: do not edit.\nexport const ftraceSkimWasm = '${base64}';\n`);
}

await main();
