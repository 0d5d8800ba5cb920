/** Generated ftrace lines for the tests of the byte-level readers: well-formed in every column variant the grammar knows, and mutated. */
import fc from 'fast-check';

const taskChars = 'abcKVM/ 0123-_:.<>()[]'.split('');

/** A line of the ftrace grammar, with the columns' odd variants (TGID, flags, overflowing timestamps, separators). */
export const wellFormed = fc
  .record({
    task: fc.array(fc.constantFrom(...taskChars), { minLength: 1, maxLength: 16 }).map((chars) => chars.join('')),
    pid: fc.integer({ min: 0, max: 99999 }),
    tgid: fc.constantFrom('', '(    188) ', '(-----) ', '(1) ', '() ', '( 1 2) ', '(\v7\r) '),
    cpu: fc.integer({ min: 0, max: 999 }),
    flags: fc.constantFrom('', 'd.... ', 'd..1 ', '.N.2. '),
    stamp: fc.constantFrom('100.012742', '0.000001', '1520.114223456', '9007199254.740991', '9007199254.740992', '12345678901234567', '1.', '.5', '1.2.3', '1.0000000001'),
    name: fc.constantFrom('vmid_update', 'kvm_entry', 'upd', 'x', ''),
    sep: fc.constantFrom(': ', ':', ' : ', ':  '),
    body: fc.string({ unit: fc.constantFrom(...' (kvm_arm_vmid_update+0x0/0x1d0) <- =id,{}"é\u00ff\t'.split('')), maxLength: 60 }),
    lead: fc.constantFrom('', '   ', '\t'),
  })
  .map((l) => `${l.lead}${l.task}-${l.pid} ${l.tgid}[${String(l.cpu).padStart(3, '0')}] ${l.flags}${l.stamp}: ${l.name}${l.sep}${l.body}`);

/** A well-formed line with bytes replaced: non-ASCII, blanks, delimiters, invalid UTF-8 where the columns are. */
export const mutated = fc
  .tuple(wellFormed, fc.array(fc.tuple(fc.nat(), fc.constantFrom(0x20, 0x09, 0x5b, 0x5d, 0x2d, 0x3a, 0x2e, 0x28, 0x29, 0xc3, 0xff, 0x80, 0x00, 0x0d, 0x41)), { maxLength: 4 }))
  .map(([line, edits]) => {
    const bytes = Buffer.from(line);
    for (const [at, byte] of edits) if (bytes.length > 0) bytes[at % bytes.length] = byte;
    return bytes;
  });
