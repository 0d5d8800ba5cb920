/**
 * Dynamic-event bodies as `kernel/trace/trace_probe.c` prints them: the `(location)` prefix of
 * kprobes and kretprobes, and the `name=value` arguments (integers, strings, arrays).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hasReturnLocation, parseIntegerArg, parseProbeArgs, parseProbeBody, probeLocation, parseU64Arg, parseU64Array, parseSafeArray, ProbeArgs, type ProbeBody } from '../../src/events/probeBody.js';

/** A body as plain data, so deepEqual compares the map's entries in order. */
function plain(body: ProbeBody): { location: unknown; args: [string, string][] } {
  return { location: body.location, args: [...body.args] };
}

test('kprobe entry: function, offset 0, arguments in order', () => {
  assert.deepEqual(plain(parseProbeBody('(kvm_arm_vmid_update+0x0/0x1d0) kvm_vmid=0xffff00081d3c0a58 id=0x10012')), {
    location: { func: 'kvm_arm_vmid_update', offset: 0, size: 0x1d0, isReturn: false },
    args: [
      ['kvm_vmid', '0xffff00081d3c0a58'],
      ['id', '0x10012'],
    ],
  });
  // Real, from the 6.1 capture: a probe without arguments.
  assert.deepEqual(plain(parseProbeBody('(kvm_arm_vmid_clear_active+0x0/0x34)')), {
    location: { func: 'kvm_arm_vmid_clear_active', offset: 0, size: 0x34, isReturn: false },
    args: [],
  });
});

test('kretprobe: the returning function, and the caller it returned into', () => {
  assert.deepEqual(plain(parseProbeBody('(kvm_arch_vcpu_load+0x4c/0x1d4 <- kvm_arm_vmid_update) kvm_vmid=0xffff00081d3c0a58 id=65554')), {
    location: { func: 'kvm_arm_vmid_update', offset: 0, isReturn: true, caller: 'kvm_arch_vcpu_load+0x4c/0x1d4' },
    args: [
      ['kvm_vmid', '0xffff00081d3c0a58'],
      ['id', '65554'],
    ],
  });
  // sprint_symbol() appends " [module]" to the caller when it lives in a module.
  assert.deepEqual(parseProbeBody('(arm_smmu_attach_dev+0x88/0x1f0 [arm_smmu_v3] <- kvm_arm_pinned_vmid_get) ret=0x3').location, {
    func: 'kvm_arm_pinned_vmid_get',
    offset: 0,
    isReturn: true,
    caller: 'arm_smmu_attach_dev+0x88/0x1f0 [arm_smmu_v3]',
  });
});

test('in-function probes keep their offset (real lines of the full captures)', () => {
  const cases: [string, number, [string, string][]][] = [
    ['(kvm_arm_vmid_update+0x2f0/0x46c) vmid=0xffff00000403b9c8 newid=257 cur_idx=1', 0x2f0, [
      ['vmid', '0xffff00000403b9c8'],
      ['newid', '257'],
      ['cur_idx', '1'],
    ]],
    ['(kvm_arm_vmid_update+0x3d8/0x46c) vmid=0xffff000003f659c8 newid=1279 reserved_hit=0', 0x3d8, [
      ['vmid', '0xffff000003f659c8'],
      ['newid', '1279'],
      ['reserved_hit', '0'],
    ]],
    ['(kvm_arm_vmid_update+0xc4/0x46c) vmid=0xffff80000a0259c8 id=65537 gen=65536 act0=65537 act1=0', 0xc4, [
      ['vmid', '0xffff80000a0259c8'],
      ['id', '65537'],
      ['gen', '65536'],
      ['act0', '65537'],
      ['act1', '0'],
    ]],
  ];
  for (const [body, offset, args] of cases) {
    assert.deepEqual(plain(parseProbeBody(body)), { location: { func: 'kvm_arm_vmid_update', offset, size: 0x46c, isReturn: false }, args }, body);
  }
  // A module symbol: the " [module]" suffix is not part of the function or the offset.
  assert.deepEqual(parseProbeBody('(arm_smmu_write_ste+0x1c/0x2f4 [arm_smmu_v3]) ste0=0x1').location, {
    func: 'arm_smmu_write_ste',
    offset: 0x1c,
    size: 0x2f4,
    isReturn: false,
  });
  assert.deepEqual(parseProbeBody('(__kvm_tlb_flush_vmid.isra.0+0x10/0x64) vmid=3').location, {
    func: '__kvm_tlb_flush_vmid.isra.0',
    offset: 0x10,
    size: 0x64,
    isReturn: false,
  });
});

test('string arguments: quoted, may hold blanks, "=" and parentheses', () => {
  assert.deepEqual(plain(parseProbeBody('(do_sys_openat2+0x0/0xd0) comm="CPU 0/KVM" path="/dev/kvm (x=1)" flags=0x80002')), {
    location: { func: 'do_sys_openat2', offset: 0, size: 0xd0, isReturn: false },
    args: [
      ['comm', 'CPU 0/KVM'],
      ['path', '/dev/kvm (x=1)'],
      ['flags', '0x80002'],
    ],
  });
  // An unterminated string runs to the end of the line rather than being dropped.
  assert.deepEqual([...parseProbeArgs('comm="qemu system x=1')], [['comm', 'qemu system x=1']]);
  // A fault while fetching prints "(fault)" as the value.
  assert.deepEqual([...parseProbeArgs('comm=(fault) id=3')], [
    ['comm', '(fault)'],
    ['id', '3'],
  ]);
});

test('array fetch: braces kept in the value, read back by parseU64Array', () => {
  const body = parseProbeBody('(arm_smmu_cmdq_issue_cmdlist+0x0/0x6a8) smmu=0xffff000004a1c080 n=2 cmds={0x528,0x0,0x46,0x0} sync=1');
  assert.deepEqual(plain(body).args, [
    ['smmu', '0xffff000004a1c080'],
    ['n', '2'],
    ['cmds', '{0x528,0x0,0x46,0x0}'],
    ['sync', '1'],
  ]);
  assert.deepEqual(parseU64Array(body.args.get('cmds')), [0x528n, 0n, 0x46n, 0n]);
  assert.deepEqual(parseU64Array('{0x1,0x2}'), [1n, 2n]);
  assert.deepEqual(parseU64Array('{}'), []);
  assert.deepEqual(parseU64Array('{18446744073709551615}'), [18446744073709551615n]);
  for (const bad of ['{0x1,,0x2}', '{x}', '0x1', '{0x1', '{18446744073709551616}', '{-1}', undefined]) {
    assert.equal(parseU64Array(bad), undefined, String(bad));
  }
});

test('bodies without a location: plain tracepoints and fprobes', () => {
  assert.deepEqual(plain(parseProbeBody('smmu=0xffff000004a1c080 sid=16 cfg=s2 s2vmid=5')), {
    location: undefined,
    args: [
      ['smmu', '0xffff000004a1c080'],
      ['sid', '16'],
      ['cfg', 's2'],
      ['s2vmid', '5'],
    ],
  });
  // Tokens without "=" are skipped, blanks between arguments may repeat, the last duplicate wins.
  assert.deepEqual([...parseProbeArgs('phase seq begin  n=300   runs=2 n=301')], [
    ['n', '301'],
    ['runs', '2'],
  ]);
});

test('parseIntegerArg: hex, decimal, negative; rejects what is not an exact safe integer', () => {
  const accepted: [string, number][] = [
    ['0x1f', 31],
    ['0X1F', 31],
    ['31', 31],
    ['007', 7],
    ['-22', -22],
    ['-0x10', -16],
    ['0', 0],
    ['-0', 0],
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
    ['0x1fffffffffffff', Number.MAX_SAFE_INTEGER],
    ['-9007199254740991', -Number.MAX_SAFE_INTEGER],
  ];
  for (const [text, value] of accepted) assert.equal(parseIntegerArg(text), value, text);
  assert.ok(Object.is(parseIntegerArg('-0'), 0), '-0 reads as 0, not negative zero');
  const rejected = [undefined, '', '-', '0x', '1e3', '1.5', ' 1', '1 ', '+5', '0b101', '0x1g', 'abc', '9007199254740992', '0x20000000000000', '0xffffffffffffffff'];
  for (const text of rejected) assert.equal(parseIntegerArg(text), undefined, String(text));
});

test('parseU64Arg: exact 64-bit values, including those beyond 2^53 that parseIntegerArg refuses', () => {
  const accepted: [string, bigint][] = [
    ['0xffff00081d3c0a58', 0xffff00081d3c0a58n],
    ['0xffffffffffffffff', 18446744073709551615n],
    ['18446744073709551615', 18446744073709551615n],
    ['9007199254740993', 9007199254740993n],
    ['0x20000000000001', 0x20000000000001n],
    ['0', 0n],
    ['0X1F', 31n],
  ];
  for (const [text, value] of accepted) assert.equal(parseU64Arg(text), value, text);
  // 2^53 + 1 is where a double would round: parseIntegerArg says no rather than lie.
  assert.equal(parseIntegerArg('9007199254740993'), undefined);
  assert.equal(Number(parseU64Arg('9007199254740993')) === 9007199254740992, true, 'the bigint holds what a number could not');
  const rejected = [undefined, '', ' ', ' 1', '+5', '-1', '-0x1', '0b11', '0o7', '1.0', '0x', '0x10000000000000000', '18446744073709551616'];
  for (const text of rejected) assert.equal(parseU64Arg(text), undefined, JSON.stringify(text));
});

test('property: every u64 round-trips through parseU64Arg in hex and decimal; safe integers through parseIntegerArg', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (value) => {
      assert.equal(parseU64Arg(`0x${value.toString(16)}`), value);
      assert.equal(parseU64Arg(value.toString()), value);
      const asInteger = parseIntegerArg(`0x${value.toString(16)}`);
      if (value <= BigInt(Number.MAX_SAFE_INTEGER)) assert.equal(asInteger, Number(value));
      else assert.equal(asInteger, undefined);
    }),
    { numRuns: 1000, includeErrorInReport: true },
  );
  fc.assert(
    fc.property(fc.integer({ min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }), (value) => {
      assert.equal(parseIntegerArg(String(value)), value === 0 ? 0 : value);
    }),
    { numRuns: 1000, includeErrorInReport: true },
  );
});

test('property: printed arguments parse back, whatever their order and values', () => {
  const key = fc.stringMatching(/^[a-z_][a-z0-9_]{0,12}$/);
  const value = fc.oneof(
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((v) => `0x${v.toString(16)}`),
    fc.integer().map(String),
    fc.string({ unit: fc.constantFrom(...'ab /=(){}:,-x0'.split('')), maxLength: 20 }).map((s) => `"${s}"`),
    fc.array(fc.bigInt({ min: 0n, max: 0xffffn }), { maxLength: 6 }).map((items) => `{${items.map((v) => `0x${v.toString(16)}`).join(',')}}`),
  );
  fc.assert(
    fc.property(fc.uniqueArray(fc.tuple(key, value), { selector: ([k]) => k, maxLength: 8 }), fc.integer({ min: 0, max: 0xfff }), (args, offset) => {
      const body = `(some_func+0x${offset.toString(16)}/0x1000)${args.map(([k, v]) => ` ${k}=${v}`).join('')}`;
      const parsed = plain(parseProbeBody(body));
      assert.deepEqual(parsed.location, { func: 'some_func', offset, size: 0x1000, isReturn: false });
      assert.deepEqual(
        parsed.args,
        args.map(([k, v]) => [k, v.startsWith('"') ? v.slice(1, -1) : v]),
      );
    }),
    { numRuns: 1000, includeErrorInReport: true },
  );
});

/** The argument grammar written the plain way, character by character: what parseProbeArgs must agree with. */
function referenceArgs(text: string, start: number): Map<string, string> {
  const args = new Map<string, string>();
  let i = start;
  while (i < text.length) {
    while (text[i] === ' ') i++;
    if (i >= text.length) break;
    const keyStart = i;
    while (i < text.length && text[i] !== '=' && text[i] !== ' ') i++;
    if (text[i] !== '=') continue;
    const key = text.slice(keyStart, i++);
    if (text[i] === '"') {
      const close = text.indexOf('"', i + 1);
      args.set(key, text.slice(i + 1, close === -1 ? text.length : close));
      i = close === -1 ? text.length : close + 1;
    } else if (text[i] === '{') {
      const close = text.indexOf('}', i);
      const end = close === -1 ? text.length : close + 1;
      args.set(key, text.slice(i, end));
      i = end;
    } else {
      const valueStart = i;
      while (i < text.length && text[i] !== ' ') i++;
      args.set(key, text.slice(valueStart, i));
    }
  }
  return args;
}

test('property: parseProbeArgs and ProbeArgs read any text as the character-by-character grammar does', () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom(...'ab= "{},x1'.split('')), maxLength: 40 }), fc.nat({ max: 5 }), (text, start) => {
      const expected = referenceArgs(text, start);
      assert.deepEqual(parseProbeArgs(text, start), expected, JSON.stringify(text));
      const lookup = new ProbeArgs(text, start);
      for (const key of ['a', 'b', 'ab', 'x', 'x1', '', 'ba', '"a']) {
        assert.equal(lookup.get(key), expected.get(key), `${JSON.stringify(text)} ${key}`);
        assert.equal(lookup.has(key), expected.has(key));
      }
    }),
    { numRuns: 5000 },
  );
});

test('one ProbeArgs read line after line answers for the last line only, however many arguments each had', () => {
  const args = new ProbeArgs();
  const many = Array.from({ length: 40 }, (_, i) => `k${i}=${i}`).join(' ');
  assert.equal(args.read(many, 0).get('k39'), '39');
  assert.equal(args.read('(f+0x0/0x4) a=1 b="x y"', 11).get('k39'), undefined);
  assert.equal(args.get('b'), 'x y');
  assert.deepEqual([...args.toMap()], [['a', '1'], ['b', 'x y']]);
  assert.equal(args.read('', 0).has('a'), false);
});

test('hasReturnLocation says what parseProbeBody says of every UTF-16 unit as the returning function', () => {
  // Blanks the location grammar trims include Unicode ones (U+00A0, U+2028, U+FEFF, ...).
  for (let code = 0; code <= 0xffff; code++) {
    const body = `(kvm_arch_vcpu_load+0x4c/0x1d4 <- ${String.fromCharCode(code)}) id=1`;
    assert.equal(hasReturnLocation(body), parseProbeBody(body).location?.isReturn === true, `U+${code.toString(16)}`);
  }
});

test('property: hasReturnLocation and probeLocation agree with parseProbeBody on any body', () => {
  const unit = fc.constantFrom(...'( )<-+/0xab_ \t\u00a0\u3000=k'.split(''));
  fc.assert(
    fc.property(fc.string({ unit, maxLength: 30 }), (body) => {
      assert.equal(hasReturnLocation(body), parseProbeBody(body).location?.isReturn === true, JSON.stringify(body));
      assert.deepEqual(probeLocation(body), parseProbeBody(body).location, JSON.stringify(body));
    }),
    { numRuns: 5000 },
  );
});

test('property: parseSafeArray reads what parseU64Array reads, as numbers, and refuses what is beyond 2^53 - 1', () => {
  const element = fc.oneof(
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((value) => value.toString()),
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((value) => `0x${value.toString(16)}`),
    fc.bigInt({ min: 0n, max: 1n << 60n }).map((value) => `0X${value.toString(16).toUpperCase()}`),
    fc.integer({ min: 0, max: 9999 }).map(String),
    fc.constantFrom('-1', '-0', '+5', '', ' ', '0x', '1e3', '0b1', 'x', '007'),
  );
  const arrayText = fc.tuple(fc.array(element, { maxLength: 5 }), fc.constantFrom('{', '{ ', ''), fc.constantFrom('}', ' }', '')).map(([parts, open, close]) => `${open}${parts.join(',')}${close}`);
  fc.assert(
    fc.property(arrayText, (text) => {
      const wide = parseU64Array(text);
      const expected = wide === undefined || wide.some((value) => value > BigInt(Number.MAX_SAFE_INTEGER)) ? undefined : wide.map(Number);
      assert.deepEqual(parseSafeArray(text), expected, text);
    }),
    { numRuns: 5000 },
  );
});
