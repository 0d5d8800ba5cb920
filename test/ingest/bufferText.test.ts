/** utf8Text is Buffer#toString('utf8') for any range, invalid UTF-8 and cut characters included. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { utf8Text } from '../../src/ingest/bufferText.js';

test('utf8Text reads any range of any bytes as toString("utf8") does', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), (bytes, a, b) => {
      const buf = Buffer.from(bytes);
      const start = bytes.length === 0 ? 0 : a % (bytes.length + 1);
      const end = start + (bytes.length === 0 ? 0 : b % (bytes.length - start + 1));
      assert.equal(utf8Text(buf, start, end), buf.toString('utf8', start, end));
    }),
    { numRuns: 2000 },
  );
});

test('utf8Text turns a stray byte into U+FFFD and keeps a whole character whole', () => {
  const buf = Buffer.from([0x61, 0xff, 0x62, 0xc3, 0xa9, 0x63]);
  assert.equal(utf8Text(buf, 0, buf.length), 'a\ufffdbéc');
  assert.equal(utf8Text(buf, 3, 4), '\ufffd');
  assert.equal(utf8Text(buf, 2, 2), '');
});
