/**
 * Every definition the capture script can write produces lines the tool decodes: for each
 * alternative of each probe set (and the one-shot vmid_config probe) a line is printed the
 * way the kernel prints that kind of dynamic event, and decodeEventRecord must turn it into
 * the event the name promises, with the VM pointer and the fields the replay uses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFtraceLine } from '../../src/ingest/ftrace/ftraceLine.js';
import { decodeEventRecord } from '../../src/events/decode.js';
import type { TraceEvent } from '../../src/events/index.js';
import { probeSets, vmidBitsProbe, type CaptureEventName } from '../../src/capture/probeSets.js';

const vmPointer = '0xffff000010001000';
const smmuPointer = '0xffff000004a1c080';

/** A value as the fetch type prints it (kernel/trace/trace_probe.c print functions). */
function sampleValue(name: string, fetch: string, type: string | undefined): string {
  if (type === 'x64[16]') return '{0x500000028,0x0,0x1000000003,0x1}'; // TLBI_S12_VMALL VMID 5, CFGI_STE SID 16
  if (name === 'smmu') return smmuPointer;
  if (name === 'ste0') return '0xd'; // V=1, Config=0b110: stage 2 only
  if (name === 'ste2') return '0x5'; // S2VMID 5
  switch (type) {
    case 'u64':
      return '65541'; // generation 1 (8-bit VMIDs: 256) | index 5 ... as an id
    case 's64':
    case 's32':
      return name === 'n' ? '2' : '3';
    case 'u32':
      return name === 'vmid_bits' ? '8' : '16';
    case 'u8':
      return '1';
    case 'x64':
    case undefined:
      // Registers default to x64, BTF pointers print as hex: both 0x... lower case.
      return fetch.startsWith('%x') && !['kvm_vmid', 'mmu', 'vcpu'].includes(name) ? '0x80001000' : vmPointer;
    default:
      throw new Error(`no sample for type ${type}`);
  }
}

/** The line the kernel prints for one hit of `definition` (`p:`, `r:`, `f:`, `f:...%return`). */
function sampleLine(definition: string, moduleSuffix = ''): string {
  const [head, target, ...args] = definition.split(' ');
  const match = /^([prf]):vmid\/(\w+)$/.exec(head ?? '');
  if (match === null || target === undefined) throw new Error(`unexpected definition ${definition}`);
  const [, kind, event] = match;
  const func = target.replace(/%return$/, '');
  const isReturn = kind === 'r' || target.endsWith('%return');
  // An fprobe entry prints the address after the patched-in call, not +0x0.
  const location = isReturn ? `(kvm_arch_vcpu_load+0x4c/0x1d4 <- ${func})` : `(${func}+${kind === 'f' ? '0x4' : '0x0'}/0x1d0${moduleSuffix})`;
  const fields = args.map((arg) => {
    const eq = arg.indexOf('=');
    const name = arg.slice(0, eq);
    const spec = arg.slice(eq + 1);
    const typeAt = spec.lastIndexOf(':');
    const type = typeAt > spec.lastIndexOf(')') && typeAt !== -1 ? spec.slice(typeAt + 1) : undefined;
    return `${name}=${sampleValue(name, spec, type)}`;
  });
  return `  qemu-system-aar-4711    [003] d..1.  1520.114223: ${event}: ${[location, ...fields].join(' ')}`;
}

/** JSON for messages; command addresses are bigints. */
function show(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

function decode(line: string): TraceEvent {
  const record = parseFtraceLine(line, { file: 'sample', line: 1, offset: 0 });
  assert.equal(record.type, 'event', line);
  if (record.type !== 'event') throw new Error('unreachable');
  const outcome = decodeEventRecord(record, { vmidBits: 8 });
  assert.equal(outcome.type, 'event', `${line}\n -> ${show(outcome)}`);
  if (outcome.type !== 'event') throw new Error('unreachable');
  return outcome.event;
}

/** What each of the script's event names must decode to. */
function assertMeaning(event: CaptureEventName, definition: string, decoded: TraceEvent): void {
  const printsVm = /(?:^| )(?:kvm_vmid|mmu)=/.test(definition.slice(definition.indexOf(' ', definition.indexOf(' ') + 1)));
  const where = `${definition}: ${show(decoded)}`;
  switch (event) {
    case 'vm_create':
    case 'vm_destroy':
      assert.equal(decoded.kind, event === 'vm_create' ? 'vm-create' : 'vm-destroy', where);
      assert.ok('vm' in decoded && decoded.vm === vmPointer, where);
      return;
    case 'vmid_update':
    case 'vmid_update_ret':
      assert.ok(decoded.kind === 'vmid-update', where);
      assert.equal(decoded.phase, event === 'vmid_update' ? 'entry' : 'return', where);
      assert.equal(decoded.vm, printsVm ? vmPointer : undefined, where);
      assert.equal(decoded.observedId, 65541, where);
      return;
    case 'vmid_clear_active':
      assert.equal(decoded.kind, 'vmid-clear-active', where);
      return;
    case 'vmid_pin':
    case 'vmid_pin_ret':
      assert.ok(decoded.kind === 'pin-get', where);
      assert.equal(decoded.phase, event === 'vmid_pin' ? 'entry' : 'return', where);
      assert.equal(decoded.vm, printsVm ? vmPointer : undefined, where);
      if (event === 'vmid_pin_ret') assert.equal(decoded.observedRet, 3, where);
      return;
    case 'vmid_unpin':
      assert.ok(decoded.kind === 'pin-put' && decoded.vm === vmPointer, where);
      return;
    case 'smmu_cmd':
      assert.ok(decoded.kind === 'smmu-cmd', where);
      assert.equal(decoded.smmu, smmuPointer, where);
      assert.deepEqual(
        decoded.commands.map((command) => command.op),
        ['TLBI_S12_VMALL', 'CFGI_STE', 'CMD_SYNC'],
        where,
      );
      assert.equal(decoded.truncated, false, where);
      return;
    case 'smmu_ste':
      assert.ok(decoded.kind === 'smmu-ste', where);
      assert.deepEqual([decoded.smmu, decoded.sid, decoded.config, decoded.s2vmid], [smmuPointer, 16, 's2', 5], where);
      return;
    case 'cpu_tlbi_vmid':
    case 'cpu_tlbi_ipa':
    case 'cpu_tlbi_all': {
      assert.ok(decoded.kind === 'cpu-tlbi', where);
      const op = { cpu_tlbi_vmid: 'VMALLS12E1IS', cpu_tlbi_ipa: 'IPAS2E1IS', cpu_tlbi_all: 'ALLE1IS' }[event];
      assert.equal(decoded.op, op, where);
      if (event !== 'cpu_tlbi_all') assert.ok('vmid' in decoded && decoded.vmid === 5, where);
      return;
    }
  }
}

test('every definition of every probe set decodes to the event its name promises', () => {
  let checked = 0;
  assert.ok(probeSets.length >= 6);
  for (const set of probeSets) {
    assert.ok(set.probes.length > 0, set.id);
    for (const probe of set.probes) {
      assert.ok(probe.alternatives.length > 0, `${set.id} ${probe.event}`);
      for (const alternative of probe.alternatives) {
        const definition = alternative.definition.replaceAll('{hw_mmu}', '2104');
        assert.ok(definition.startsWith(`${definition[0] ?? ''}:vmid/${probe.event} `), `${definition} is named ${probe.event} in group vmid`);
        assert.ok(!definition.includes("'"), `${definition} holds no quote`);
        assertMeaning(probe.event, definition, decode(sampleLine(definition)));
        checked++;
      }
    }
  }
  assert.ok(checked >= 60, `${checked} definitions checked`);
});

test('SMMU lines decode with the module suffix the kernel prints when arm-smmu-v3 is a module', () => {
  const sets = probeSets.filter((set) => set.id === '6.12');
  const smmu = sets.flatMap((set) => set.probes).filter((probe) => probe.event === 'smmu_cmd' || probe.event === 'smmu_ste');
  assert.equal(smmu.length, 2);
  for (const probe of smmu) {
    for (const alternative of probe.alternatives) {
      const line = sampleLine(alternative.definition, ' [arm_smmu_v3]');
      assert.ok(line.includes('/0x1d0 [arm_smmu_v3])'), line);
      assertMeaning(probe.event, alternative.definition, decode(line));
    }
  }
});

test('the one-shot vmid_config probe is a system fact with the VMID width', () => {
  assert.equal(vmidBitsProbe.event, 'vmid_config');
  const decoded = decode(sampleLine(vmidBitsProbe.definition));
  assert.ok(decoded.kind === 'system-config', show(decoded));
  assert.equal(decoded.vmidBits, 8);
});

test('the header and trace-marker lines the script writes decode as system facts', () => {
  const record = parseFtraceLine('           <...>-219     [003] .....     6.378703: tracing_mark_write: vmid-replay: vmid_bits=16 cpus=64 variant=rfc-v2', {
    file: 'sample',
    line: 1,
    offset: 0,
  });
  assert.equal(record.type, 'event');
  if (record.type !== 'event') return;
  const outcome = decodeEventRecord(record, { vmidBits: undefined });
  assert.ok(outcome.type === 'event' && outcome.event.kind === 'system-config', show(outcome));
  assert.deepEqual([outcome.event.vmidBits, outcome.event.cpus, outcome.event.variant], [16, 64, 'rfc-v2']);
});
