/** The compiled wasm/ftraceSkim.ts, base64: written by `npm run build` (scripts/buildWasm.ts). */
export declare const ftraceSkimWasm: string;
