/**
 * The last step of `npm run build`: bundles the compiled command line and its worker
 * entries, each into one file of dist/bundle/cli/, which `bin` runs. Node's module loader
 * spends about 40 ms resolving and compiling the hundred modules of the compiled tree, a run
 * on a small trace costing 0.10 s in all; from one file it starts in 0.06 s (measured), and a
 * skim thread is ready sooner. The compiled tree stays as it is: tests import its modules.
 *
 * Every entry goes to the same folder, and a worker is started by a URL relative to the
 * module that starts it. So each such module sits beside its worker's entry in the compiled
 * tree too (src/ingest/threads/skimThread.ts beside skimWorker.ts, msgpackThread.ts beside
 * msgpackWorker.ts, src/cli/analyzeInParallel.ts beside analyzeWorker.ts), and the URL holds
 * in both. test/cli/bundle.test.ts runs them.
 *
 * esbuild-wasm, not esbuild: the same bundler without a native binary to install.
 */
import { build } from 'esbuild-wasm';

const outdir = 'dist/bundle/cli';

/** Bundle file (without .js) and the compiled entry it is made from. */
const entries: Record<string, string> = {
  main: 'dist/src/cli/main.js',
  analyzeWorker: 'dist/src/cli/analyzeWorker.js',
  skimWorker: 'dist/src/ingest/threads/skimWorker.js',
  msgpackWorker: 'dist/src/ingest/threads/msgpackWorker.js',
};

/** commander is CommonJS and calls `require` for Node's modules, which an ES module bundle lacks. */
const requireShim = "import { createRequire as createRequireForBundle } from 'node:module'; const require = createRequireForBundle(import.meta.url);";

await build({
  entryPoints: entries,
  outdir,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  banner: { js: requireShim },
  // The compiled tree has its own source maps; a stack trace from the bundle names bundle lines.
  sourcemap: false,
  logLevel: 'warning',
});
