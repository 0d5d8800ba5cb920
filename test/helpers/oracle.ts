/** Reads `../shared/oracle` scenarios and turns them into traces in the documented format. */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join, resolve } from 'node:path';
import { TraceWriter, vmPointer } from './traceWriter.js';

export const oracleRoot = resolve(process.cwd(), '..', 'shared', 'oracle');

export interface OracleHeader {
  readonly variant: 'mainline' | 'rfcv2';
  readonly vmid_bits: number;
  readonly cpus: number;
  readonly comment?: string;
}

export type OracleCall =
  | { op: 'create' | 'destroy'; vm: number }
  | { op: 'put'; cpu: number }
  | { op: 'load'; vm: number; cpu: number; vmid: number; gen: number; flushes: number; slow: boolean; vm_id_after: string }
  | { op: 'pin'; vm: number; ret: number; flushes: number; vm_id_after: string; nr_pinned: number }
  | { op: 'unpin'; vm: number; nr_pinned: number };

export interface OracleScenario {
  readonly name: string;
  readonly header: OracleHeader;
  readonly calls: OracleCall[];
  readonly summary: { flushes: number; generation: number; nr_pinned?: number };
}

export function oracleFiles(): string[] {
  if (!existsSync(oracleRoot)) return [];
  const out: string[] = [];
  for (const dir of ['edge', 'random']) {
    const full = join(oracleRoot, dir);
    for (const name of readdirSync(full).sort()) out.push(join(full, name));
  }
  return out;
}

export function readScenario(path: string): OracleScenario {
  const raw = readFileSync(path);
  const text = (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
  const lines = text.split('\n').filter((line) => line.trim().length > 0).map((line) => JSON.parse(line) as Record<string, unknown>);
  const header = lines[0] as unknown as OracleHeader;
  const last = lines[lines.length - 1] as { summary: OracleScenario['summary'] };
  return { name: path.split('/').slice(-2).join('/'), header, calls: lines.slice(1, -1) as unknown as OracleCall[], summary: last.summary };
}

/**
 * One trace per scenario: each call becomes the lines a capture with entry and return probes
 * would show, with the kernel's observed ids, so the replay also checks them (divergence).
 * Returns the trace text and, per call, the line of the event the replay reports it at.
 */
export function scenarioToTrace(scenario: OracleScenario): { text: string; lineOfCall: number[] } {
  const variant = scenario.header.variant === 'rfcv2' ? 'rfc-v2' : 'mainline';
  const writer = new TraceWriter().header(`vmid_bits=${scenario.header.vmid_bits} cpus=${scenario.header.cpus} variant=${variant}`);
  const idOf = new Map<number, number>();
  const lineOfCall: number[] = [];
  for (const call of scenario.calls) {
    switch (call.op) {
      case 'create':
        writer.vmCreate(vmPointer(call.vm));
        idOf.set(call.vm, 0);
        break;
      case 'destroy':
        writer.vmDestroy(vmPointer(call.vm), idOf.get(call.vm));
        break;
      case 'put':
        writer.put(call.cpu);
        break;
      case 'load':
        writer.load(vmPointer(call.vm), call.cpu, idOf.get(call.vm), Number(call.vm_id_after));
        idOf.set(call.vm, Number(call.vm_id_after));
        break;
      case 'pin':
        writer.pin(vmPointer(call.vm), call.ret);
        idOf.set(call.vm, Number(call.vm_id_after));
        break;
      case 'unpin':
        writer.unpin(vmPointer(call.vm));
        break;
    }
    lineOfCall.push(writer.lineCount());
  }
  return { text: writer.toString(), lineOfCall };
}
