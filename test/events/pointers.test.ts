/** VM and SMMU pointers are compared as strings, so the decoder prints each in one spelling. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PointerTable, decodeEventRecord } from '../../src/events/decode.js';
import { parseFtraceLine } from '../../src/ingest/ftrace/ftraceLine.js';

test('property: a VM pointer decodes to one canonical spelling, however it was printed, with or without a pointer table', () => {
  const pointerArb = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
  const spellingArb = fc.constantFrom('lower', 'upper', 'padded', 'decimal');
  // A table as small as this starts over every few lines: what it gives must not depend on that.
  const pointers = new PointerTable(5);
  // A few pointers come back again and again, as a trace's VMs do.
  const seen: bigint[] = [];
  fc.assert(
    fc.property(pointerArb, spellingArb, fc.nat(7), (fresh, spelling, again) => {
      const pointer = again < seen.length && again % 2 === 0 ? (seen[again] as bigint) : fresh;
      if (seen.length < 8) seen.push(fresh);
      const hex = pointer.toString(16);
      const printed = spelling === 'lower' ? `0x${hex}` : spelling === 'upper' ? `0x${hex.toUpperCase()}` : spelling === 'padded' ? `0x${hex.padStart(16, '0')}` : pointer.toString(10);
      const record = parseFtraceLine(`  q-1 [000] d.... 1.000001: vm_create: (kvm_init_stage2_mmu+0x0/0x1a0) mmu=${printed}`, { file: 't', line: 1, offset: 0 });
      assert.ok(record.type === 'event');
      for (const ctx of [{ vmidBits: 8 }, { vmidBits: 8, pointers }]) {
        const outcome = decodeEventRecord(record, ctx);
        assert.ok(outcome.type === 'event' && outcome.event.kind === 'vm-create', printed);
        assert.equal(outcome.event.vm, `0x${hex}`, printed);
      }
      assert.ok(pointers.size <= 5, `${pointers.size} pointers kept`);
    }),
    { numRuns: 2000 },
  );
  for (const bad of ['0x', '0xg1', '0x1ffffffffffffffff', '-1', '0x-1', ' 0x1']) {
    const record = parseFtraceLine(`  q-1 [000] d.... 1.000001: vm_create: (kvm_init_stage2_mmu+0x0/0x1a0) mmu=${bad}`, { file: 't', line: 1, offset: 0 });
    assert.ok(record.type === 'event');
    assert.equal(decodeEventRecord(record, { vmidBits: 8 }).type, 'malformed', bad);
    assert.equal(decodeEventRecord(record, { vmidBits: 8, pointers }).type, 'malformed', bad);
  }
});

test('a pointer table keeps canonical spellings only, at most its limit of them', () => {
  const pointers = new PointerTable(3);
  assert.equal(pointers.normalise('0xffff00081d3c0a58'), '0xffff00081d3c0a58');
  assert.equal(pointers.normalise('0xffff00081d3c0a58'), '0xffff00081d3c0a58');
  assert.equal(pointers.size, 1);
  // Other spellings are normalised each time, not kept: a trace prints canonical ones.
  assert.equal(pointers.normalise('0xFFFF00081D3C0A58'), '0xffff00081d3c0a58');
  assert.equal(pointers.normalise('0x00000000000000ff'), '0xff');
  assert.equal(pointers.normalise('smmu0'), undefined);
  assert.equal(pointers.size, 1);
  for (let i = 1; i <= 10; i++) assert.equal(pointers.normalise(`0x${i.toString(16)}00`), `0x${i.toString(16)}00`);
  assert.ok(pointers.size <= 3, `${pointers.size} kept`);
});
