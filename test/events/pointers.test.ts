/** VM and SMMU pointers are compared as strings, so the decoder prints each in one spelling. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeEventRecord } from '../../src/events/decode.js';
import { parseFtraceLine } from '../../src/ingest/ftraceLine.js';

test('property: a VM pointer decodes to one canonical spelling, however it was printed', () => {
  const pointerArb = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
  const spellingArb = fc.constantFrom('lower', 'upper', 'padded', 'decimal');
  fc.assert(
    fc.property(pointerArb, spellingArb, (pointer, spelling) => {
      const hex = pointer.toString(16);
      const printed = spelling === 'lower' ? `0x${hex}` : spelling === 'upper' ? `0x${hex.toUpperCase()}` : spelling === 'padded' ? `0x${hex.padStart(16, '0')}` : pointer.toString(10);
      const record = parseFtraceLine(`  q-1 [000] d.... 1.000001: vm_create: (kvm_init_stage2_mmu+0x0/0x1a0) mmu=${printed}`, { file: 't', line: 1, offset: 0 });
      assert.ok(record.type === 'event');
      const outcome = decodeEventRecord(record, { vmidBits: 8 });
      assert.ok(outcome.type === 'event' && outcome.event.kind === 'vm-create', printed);
      assert.equal(outcome.event.vm, `0x${hex}`, printed);
    }),
    { numRuns: 2000 },
  );
  for (const bad of ['0x', '0xg1', '0x1ffffffffffffffff', '-1', '0x-1', ' 0x1']) {
    const record = parseFtraceLine(`  q-1 [000] d.... 1.000001: vm_create: (kvm_init_stage2_mmu+0x0/0x1a0) mmu=${bad}`, { file: 't', line: 1, offset: 0 });
    assert.ok(record.type === 'event');
    assert.equal(decodeEventRecord(record, { vmidBits: 8 }).type, 'malformed', bad);
  }
});
