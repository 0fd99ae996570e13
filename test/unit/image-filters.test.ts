// `GET /images/json` filters, decided in the daemon: each case is what Docker 20.10 (the
// reference daemon) answered for the same images and filter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectImages } from '../../src/engine/filters';
import { globRegExp } from '../../src/util/glob';
import type { ImageRecord } from '../../src/runtime/images';
import { emptyImageConfig } from '../../src/runtime/changes';

function image(id: string, created: string, tags: string[], labels: Record<string, string> | null = null): ImageRecord {
  return { Id: `sha256:${id.repeat(64).slice(0, 64)}`, RepoTags: tags, Created: created, Size: 1, Architecture: 'amd64', Os: 'linux',
    Comment: '', Config: { ...emptyImageConfig(), Labels: labels }, Layers: [], rootfs: null } as ImageRecord;
}

// Newest first, as the store lists them.
const BLUE = image('f', '2026-12-02T17:24:19Z', ['tidy/blue:latest', 'tidy/blue:v2', 'other.example:5000/ns/blue:x'], { color: 'blue' });
const NONE = image('a', '2026-12-02T17:24:17Z', []);
const RED = image('e', '2026-12-02T17:24:16Z', ['tidy/red:v1'], { color: 'red', size: 'big' });
const BUSYBOX = image('8', '2026-12-02T17:22:45Z', ['busybox:latest']);
const ALL = [BLUE, NONE, RED, BUSYBOX];
const find = (ref: string) => ALL.find((i) => i.RepoTags.includes(ref) || i.RepoTags.includes(`${ref}:latest`) || i.Id.startsWith(`sha256:${ref}`));
const list = (f: Record<string, string[]>) => selectImages(ALL, f, find).map((x) => x.tags.length ? x.tags.join(',') : '<none>');

test('no filters: every image, every tag', () => {
  assert.deepEqual(list({}), ['tidy/blue:latest,tidy/blue:v2,other.example:5000/ns/blue:x', '<none>', 'tidy/red:v1', 'busybox:latest']);
});

test('reference: path.Match over name:tag or name; only matching tags are shown', () => {
  assert.deepEqual(list({ reference: ['tidy/*'] }), ['tidy/blue:latest,tidy/blue:v2', 'tidy/red:v1']);
  assert.deepEqual(list({ reference: ['tidy/blue'] }), ['tidy/blue:latest,tidy/blue:v2']);
  assert.deepEqual(list({ reference: ['blue'] }), []);
  assert.deepEqual(list({ reference: ['*/blue:v2'] }), ['tidy/blue:v2']);
  assert.deepEqual(list({ reference: ['*:v*'] }), []);
  assert.deepEqual(list({ reference: ['Tidy/blue'] }), []);
  assert.deepEqual(list({ reference: ['busybox:latest', 'tidy/red'] }), ['tidy/red:v1', 'busybox:latest']);
  assert.throws(() => list({ reference: ['[bad'] }), (e: any) => e.status === 400 && e.message === 'syntax error in pattern');
});

test('dangling: exactly true or false', () => {
  assert.deepEqual(list({ dangling: ['true'] }), ['<none>']);
  assert.deepEqual(list({ dangling: ['false'] }), ['tidy/blue:latest,tidy/blue:v2,other.example:5000/ns/blue:x', 'tidy/red:v1', 'busybox:latest']);
  assert.throws(() => list({ dangling: ['maybe'] }), (e: any) => e.status === 400 && e.message === "Invalid filter 'dangling=[maybe]'");
  assert.throws(() => list({ dangling: ['1'] }), /Invalid filter 'dangling=\[1\]'/);
});

test('label: key, key=value, all of them', () => {
  assert.deepEqual(list({ label: ['color=red'] }), ['tidy/red:v1']);
  assert.deepEqual(list({ label: ['color!=red'] }), []);
  assert.deepEqual(list({ label: ['color', 'size'] }), ['tidy/red:v1']);
  assert.deepEqual(list({ label: ['color'] }), ['tidy/blue:latest,tidy/blue:v2,other.example:5000/ns/blue:x', 'tidy/red:v1']);
});

test('before / since: strictly older / newer than the named image; an unknown one is a 404', () => {
  assert.deepEqual(list({ before: ['tidy/blue'] }), ['<none>', 'tidy/red:v1', 'busybox:latest']);
  assert.deepEqual(list({ since: ['tidy/red:v1'] }), ['tidy/blue:latest,tidy/blue:v2,other.example:5000/ns/blue:x', '<none>']);
  assert.deepEqual(list({ since: ['eeee'] }), ['tidy/blue:latest,tidy/blue:v2,other.example:5000/ns/blue:x', '<none>']);
  assert.deepEqual(list({ since: ['busybox'], before: ['tidy/blue'] }), ['<none>', 'tidy/red:v1']);
  assert.throws(() => list({ before: ['nosuch'] }), (e: any) => e.status === 404 && e.message === 'No such image: nosuch:latest');
});

test('an unknown filter is refused', () => {
  assert.throws(() => list({ until: ['10m'] }), (e: any) => e.status === 400 && e.message === "invalid filter 'until'");
});

test("Go's path.Match", () => {
  const globMatch = (p: string, s: string) => globRegExp(p).test(s);
  const yes: Array<[string, string]> = [['a*', 'abc'], ['a*/b', 'abc/b'], ['a?c', 'abc'], ['[a-c]x', 'bx'], ['[^a-c]x', 'dx'],
    ['a\\*b', 'a*b'], ['[\\]]', ']'], ['*', ''], ['ab[x-z]', 'aby']];
  const no: Array<[string, string]> = [['a*', 'ab/c'], ['a?c', 'a/c'], ['[^a-c]x', 'bx'], ['[^a]', '/'], ['a\\*b', 'axb'], ['a.c', 'abc']];
  for (const [p, s] of yes) assert.ok(globMatch(p, s), `${p} matches ${s}`);
  for (const [p, s] of no) assert.ok(!globMatch(p, s), `${p} does not match ${s}`);
  for (const p of ['[', '[]', '[a', 'a\\', '[-a]', '[z-a]']) assert.throws(() => globMatch(p, 'a'), /syntax error in pattern/, p);
});
