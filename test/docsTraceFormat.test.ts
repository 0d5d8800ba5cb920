/**
 * docs/trace-format.md is the input contract, so its samples must be true: every line of every
 * ```trace block is parsed by the ftrace line grammar and decoded exactly as the replay does it,
 * and must come out as an event. Blocks tagged ```text outcome=X hold the documented
 * non-events (lost markers, unused tracepoints, unrecognised probes, ...) and must come out as X.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseFtraceLine } from '../src/ingest/ftrace/ftraceLine.js';
import { decodeEventRecord, decodeHeader, type DecodeOutcome } from '../src/events/decode.js';
import { eventKinds, type EventKind } from '../src/events/index.js';
import { toolEventNames } from '../src/events/toolEventNames.js';

const docPath = fileURLToPath(new URL('../../docs/trace-format.md', import.meta.url));
const doc = readFileSync(docPath, 'utf8');

interface Block {
  /** The info string after the opening fence, e.g. `trace` or `text outcome=lost`. */
  readonly info: string;
  /** 1-based line number in the document of the block's first content line. */
  readonly firstLine: number;
  readonly lines: readonly string[];
}

/** Fenced code blocks (``` fences, optionally indented, as in list items). */
function fencedBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  let open: { info: string; firstLine: number; indent: number; lines: string[] } | undefined;
  lines.forEach((line, index) => {
    const fence = /^( *)```(.*)$/.exec(line);
    if (open === undefined) {
      if (fence !== null) open = { info: (fence[2] ?? '').trim(), firstLine: index + 2, indent: (fence[1] ?? '').length, lines: [] };
      return;
    }
    if (fence !== null && (fence[2] ?? '').trim() === '') {
      blocks.push({ info: open.info, firstLine: open.firstLine, lines: open.lines });
      open = undefined;
      return;
    }
    // Content of a block indented under a list item carries the list's indentation.
    open.lines.push(line.startsWith(' '.repeat(open.indent)) ? line.slice(open.indent) : line);
  });
  assert.equal(open, undefined, `${docPath}: a fenced block opened at line ${(open?.firstLine ?? 1) - 1} is never closed`);
  return blocks;
}

type Outcome = DecodeOutcome['type'] | 'header' | 'lost' | 'buffer-started' | 'continuation' | 'malformed-line';

/** What the replay makes of one line: the record type, or for event lines and fact headers the decode outcome. */
function outcomeOf(text: string, line: number): { outcome: Outcome; decoded?: DecodeOutcome } {
  const record = parseFtraceLine(text, { file: docPath, line, offset: 0 });
  switch (record.type) {
    case 'event': {
      const decoded = decodeEventRecord(record, { vmidBits: 8 });
      return { outcome: decoded.type, decoded };
    }
    case 'header': {
      const decoded = decodeHeader(record);
      return decoded === undefined ? { outcome: 'header' } : { outcome: decoded.type, decoded };
    }
    case 'malformed':
      return { outcome: 'malformed-line' };
    default:
      return { outcome: record.type };
  }
}

function describe(decoded: DecodeOutcome | undefined): string {
  if (decoded === undefined) return '';
  switch (decoded.type) {
    case 'event':
      return ` (${decoded.event.kind})`;
    case 'malformed':
      return ` (expected ${decoded.expected})`;
    case 'unrecognised-probe':
      return ` (${decoded.detail})`;
    case 'unused':
      return ` (${decoded.name})`;
  }
}

const blocks = fencedBlocks(doc);
const traceBlocks = blocks.filter((block) => block.info === 'trace');
const outcomeBlocks = blocks.filter((block) => /^text\s+outcome=/.test(block.info));

test('every line of every ```trace block in docs/trace-format.md decodes as an event', () => {
  assert.ok(traceBlocks.length >= 10, `expected the document's trace samples, found ${traceBlocks.length} blocks`);
  let tested = 0;
  for (const block of traceBlocks) {
    assert.ok(block.lines.length > 0, `${docPath}:${block.firstLine}: empty trace block`);
    block.lines.forEach((text, i) => {
      const line = block.firstLine + i;
      const { outcome, decoded } = outcomeOf(text, line);
      assert.equal(outcome, 'event', `${docPath}:${line}: expected an event, got ${outcome}${describe(decoded)}: ${text}`);
      tested += 1;
    });
  }
  assert.ok(tested > 20, `only ${tested} trace lines were tested`);
});

test('the trace samples cover every event kind, event name and probed function the decoder knows', () => {
  const kinds = new Set<EventKind>();
  const names = new Set<string>();
  const functions = new Set<string>();
  for (const block of traceBlocks) {
    block.lines.forEach((text, i) => {
      const record = parseFtraceLine(text, { file: docPath, line: block.firstLine + i, offset: 0 });
      const { decoded } = outcomeOf(text, block.firstLine + i);
      if (decoded?.type === 'event') kinds.add(decoded.event.kind);
      if (record.type !== 'event') return;
      names.add(record.name);
      const location = /^\(([^)]*)\)/.exec(record.body)?.[1];
      if (location === undefined) return;
      const arrow = location.indexOf(' <- ');
      functions.add(arrow === -1 ? location.replace(/\+.*$/, '') : location.slice(arrow + 4));
    });
  }
  // lost-events comes from `CPU:N [LOST M EVENTS]` records, never from the decoder.
  for (const kind of eventKinds.filter((k) => k !== 'lost-events')) {
    assert.ok(kinds.has(kind), `no sample line decodes to ${kind}`);
  }
  // Every name the decoder knows, so a new event name cannot go undocumented.
  assert.ok(toolEventNames.size >= 19);
  for (const name of toolEventNames) assert.ok(names.has(name), `no sample line uses the event name ${name}`);
  const probedFunctions = [
    'kvm_arm_vmid_update', 'kvm_arm_vmid_clear_active', 'kvm_arm_pinned_vmid_get', 'kvm_arm_pinned_vmid_put',
    'kvm_init_stage2_mmu', 'kvm_free_stage2_pgd', 'arm_smmu_cmdq_issue_cmdlist', 'arm_smmu_write_ste',
    '__kvm_tlb_flush_vmid', '__kvm_tlb_flush_vmid_ipa', '__kvm_flush_vm_context',
  ];
  for (const name of probedFunctions) assert.ok(functions.has(name), `no sample line is a probe on ${name}`);
});

test('every ```text outcome=... block in docs/trace-format.md comes out as that outcome', () => {
  assert.ok(outcomeBlocks.length >= 5, `expected the document's non-event samples, found ${outcomeBlocks.length} blocks`);
  let tested = 0;
  for (const block of outcomeBlocks) {
    const expected = /outcome=(\S+)/.exec(block.info)?.[1];
    block.lines.forEach((text, i) => {
      const line = block.firstLine + i;
      const { outcome, decoded } = outcomeOf(text, line);
      assert.equal(outcome, expected, `${docPath}:${line}: expected ${expected ?? '?'}, got ${outcome}${describe(decoded)}: ${text}`);
      tested += 1;
    });
  }
  assert.ok(tested >= 10, `only ${tested} non-event lines were tested`);
});

test('the documented decodings of sample fields hold', () => {
  const decode = (text: string) => {
    const { decoded } = outcomeOf(text, 0);
    assert.equal(decoded?.type, 'event', text);
    return decoded.type === 'event' ? decoded.event : assert.fail(text);
  };
  const pick = (needle: string) => {
    const found = traceBlocks.flatMap((block) => block.lines).find((text) => text.includes(needle));
    assert.ok(found !== undefined, `no sample line contains ${needle}`);
    return decode(found);
  };
  // Raw STE dwords: V=1, Config=0b110 is stage 2; S2VMID is dword 2 bits [15:0].
  const ste = pick('ste0=0xd ste2=0x40a355800000005');
  assert.ok(ste.kind === 'smmu-ste' && ste.config === 's2' && ste.s2vmid === 5);
  // The array fetch: two commands plus the CMD_SYNC that sync=1 appends.
  const list = pick('n=2 cmds={0x500000028,0x0,0x1000000003,0x1} sync=1');
  assert.ok(list.kind === 'smmu-cmd' && !list.truncated);
  assert.deepEqual(list.commands, [{ op: 'TLBI_S12_VMALL', vmid: 5 }, { op: 'CFGI_STE', sid: 16 }, { op: 'CMD_SYNC' }]);
  // More commands than captured pairs: truncated, and no CMD_SYNC is invented.
  const truncated = pick('n=40 cmds=');
  assert.ok(truncated.kind === 'smmu-cmd' && truncated.truncated && truncated.commands.length === 2);
  // id= on a CPU TLBI is masked by the VMID width (8 bits in this test).
  const tlbi = pick('tlbi_vmid: (__kvm_tlb_flush_vmid+0x0/0x64) mmu=0xffff000010001000 id=65541');
  assert.ok(tlbi.kind === 'cpu-tlbi' && tlbi.op === 'VMALLS12E1IS' && tlbi.vmid === 5);
  // A return probe found by function is the update's return; v3's negative errno survives.
  const ret = pick('r1: (kvm_arch_vcpu_load+0x4c/0x1d4 <- kvm_arm_vmid_update)');
  assert.ok(ret.kind === 'vmid-update' && ret.phase === 'return' && ret.observedId === 65554);
  const errno = pick('ret=-22');
  assert.ok(errno.kind === 'pin-get' && errno.phase === 'return' && errno.observedRet === -22);
  // The capture's after_update probe renamed vmid_update_ret carries the id after the update.
  const after = pick('vmid_update_ret: (kvm_pmu_flush_hwstate+0x0/0x24)');
  assert.ok(after.kind === 'vmid-update' && after.phase === 'return' && after.vm === '0xffff00000837c9c8' && after.observedId === 257);
  // Nanosecond timestamps are kept exactly.
  const ns = pick('1520.114223456:');
  assert.ok(ns.tsUs === 1520_114_223 && ns.tsNs === 456);
});
