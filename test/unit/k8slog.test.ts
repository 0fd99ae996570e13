// conmon's k8s-file log read back into Docker's streams: exact bytes, times in UTC, tail per stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decoder, parseAll, parseRecord, tailRecords, utcTime } from '../../src/runtime/k8slog';
import { runtimeMessage } from '../../src/runtime/runtime';

const FILE = [
  '2026-12-02T18:28:23.831484123+01:00 stdout F hello',
  '2026-12-02T17:28:23.9Z stderr P par',
  '2026-12-02T17:28:24.000000001+00:00 stderr F tial',
  'garbage that a write cut short left',
  '2026-12-02T17:28:25.000000000+00:00 stdout F ',
  '2026-12-02T17:28:26.000000000+00:00 stdout P no newline yet',
  '',
].join('\n');

test('records: F lines end with their newline, P pieces do not; times become UTC with nine digits', () => {
  const recs = parseAll(Buffer.from(FILE)).map((x) => x.rec);
  assert.deepEqual(recs.map((r) => [r.stream, r.data.toString(), r.partial]), [
    ['stdout', 'hello\n', false], ['stderr', 'par', true], ['stderr', 'tial\n', false],
    ['stdout', '\n', false], ['stdout', 'no newline yet', true],
  ]);
  assert.equal(recs[0].time, '2026-12-02T17:28:23.831484123Z');
  assert.equal(recs[1].time, '2026-12-02T17:28:23.900000000Z');
  assert.equal(utcTime('2026-01-01T00:30:00', '5', '+01:00'), '2025-12-31T23:30:00.500000000Z');
  assert.equal(parseRecord(Buffer.from('not a record')), null);
});

test('tail counts lines of each stream: pieces belong to the line their F ends, a last piece is a line', () => {
  const recs = parseAll(Buffer.from(FILE)).map((x) => x.rec);
  const text = (rs: typeof recs) => rs.map((r) => `${r.stream}:${r.data.toString()}`).join('|');
  assert.equal(text(tailRecords(recs, 1)), 'stderr:par|stderr:tial\n|stdout:no newline yet');
  assert.equal(text(tailRecords(recs, 2)), 'stderr:par|stderr:tial\n|stdout:\n|stdout:no newline yet');
  assert.equal(tailRecords(recs, 0).length, 0);
  assert.equal(tailRecords(recs, 100).length, recs.length);
});

test('decoder: records split across chunks come out whole, in order', async () => {
  const d = decoder();
  const out: string[] = [];
  d.on('data', (r) => out.push(r.data.toString()));
  const buf = Buffer.from(FILE);
  for (let i = 0; i < buf.length; i += 7) d.write(buf.subarray(i, i + 7));
  d.end();
  await new Promise((r) => d.on('end', r));
  assert.deepEqual(out, ['hello\n', 'par', 'tial\n', '\n', 'no newline yet']);
});

test('runtime errors: runc\'s logrus lines, and crun\'s worded as runc words them', () => {
  assert.equal(runtimeMessage('crun: executable file `nosuch` not found in $PATH: No such file or directory\n'),
    'unable to start container process: exec: "nosuch": executable file not found in $PATH');
  assert.equal(runtimeMessage('{"msg":"x","level":"error","time":"t"}\n'), '');
  assert.equal(runtimeMessage('crun: something else\n'), 'something else');
});
