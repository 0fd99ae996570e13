// Go text/template as the docker CLI evaluates --format. Expected outputs were taken from the
// reference docker CLI (28.2) on the same data (`docker inspect --format ...`).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { GO_TYPE, TemplateExecError, TemplateParseError, goString, parseTemplate } from '../../src/util/gotemplate';

const inspect = {
  Id: 'a992a0f2cdba90283f9aaf82460ef1a238901792147cbfc46cc5b9c1e234891f',
  Name: '/reft2',
  State: { Status: 'created', Running: false, Pid: 0, ExitCode: 0, Health: null },
  Config: { Env: ['PATH=/bin:/usr/bin:/sbin'], Labels: {}, Cmd: ['echo', 'hi', 'a b'], Image: 'busybox' },
  HostConfig: { Dns: [], Memory: 0, LogConfig: { Type: 'json-file', Config: {} } },
  NetworkSettings: {
    IPAddress: '172.17.0.2',
    Ports: {},
    Networks: {
      bridge: { IPAddress: '172.17.0.2', Gateway: '172.17.0.1', Aliases: null },
      mynet: { IPAddress: '10.1.0.5', Gateway: '10.1.0.1', Aliases: ['web', 'w'] },
    },
  },
};

const r = (t: string, data: unknown = inspect) => parseTemplate(t).execute(data);

test('fields, nested fields and spaces inside actions', () => {
  assert.equal(r('{{.Name}}'), '/reft2');
  assert.equal(r('{{ .NetworkSettings.IPAddress }}'), '172.17.0.2');
  assert.equal(r('{{.State.Pid}}'), '0');
  assert.equal(r('{{.HostConfig.Memory}}'), '0');
  assert.equal(r('x{{.Config.Image}}y'), 'xbusyboxy');
  assert.equal(r('{{.}}', 'plain'), 'plain');
});

test("values print as Go prints them: slices, maps (sorted keys), nil", () => {
  assert.equal(r('{{.Config.Env}}'), '[PATH=/bin:/usr/bin:/sbin]');
  assert.equal(r('{{.Config.Cmd}}'), '[echo hi a b]');
  assert.equal(r('{{.Config.Labels}}'), 'map[]');
  assert.equal(r('{{.HostConfig.Dns}}'), '[]');
  assert.equal(r('{{.HostConfig.LogConfig.Config}}'), 'map[]');
  assert.equal(r('{{.X}}', { X: { b: 2, a: 'x', c: [1, null] } }), 'map[a:x b:2 c:[1 <nil>]]');
  assert.equal(r('{{.State.Health}}'), '<nil>');
  assert.equal(r('{{.X}}', { X: true }), 'true');
  assert.equal(r('{{.X}}', { X: 1.5 }), '1.5');
  assert.equal(goString(undefined), '<no value>');
});

test('range over maps (sorted) and slices, with variables', () => {
  assert.equal(r('{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}'), '172.17.0.2 10.1.0.5 ');
  assert.equal(r('{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}};{{end}}'), 'bridge=172.17.0.2;mynet=10.1.0.5;');
  assert.equal(r('{{range $i, $e := .Config.Cmd}}{{if $i}},{{end}}{{$e}}{{end}}'), 'echo,hi,a b');
  assert.equal(r('{{range .Config.Labels}}x{{else}}empty{{end}}'), 'empty');
  assert.equal(r('{{range .State.Health}}x{{end}}'), '');
  assert.equal(r('{{range .Config.Cmd}}{{if eq . "hi"}}{{break}}{{end}}{{.}}{{end}}'), 'echo');
  assert.equal(r('{{range .Config.Cmd}}{{if eq . "hi"}}{{continue}}{{end}}{{.}};{{end}}'), 'echo;a b;');
  assert.equal(r('{{range $n := .NetworkSettings.Networks}}{{$n.Gateway}} {{end}}'), '172.17.0.1 10.1.0.1 ');
  // $ is the root inside range
  assert.equal(r('{{range .Config.Cmd}}{{$.Name}}{{end}}'), '/reft2/reft2/reft2');
});

test('index, len, json, join, split, upper, lower, title, pad, truncate, println, printf, print', () => {
  assert.equal(r('{{index .NetworkSettings.Networks "mynet"}}'), 'map[Aliases:[web w] Gateway:10.1.0.1 IPAddress:10.1.0.5]');
  assert.equal(r('{{(index .NetworkSettings.Networks "mynet").IPAddress}}'), '10.1.0.5');
  assert.equal(r('{{index .Config.Cmd 1}}'), 'hi');
  assert.equal(r('{{index .Config.Labels "x"}}'), '');
  assert.equal(r('{{len .Config.Env}}'), '1');
  assert.equal(r('{{len .NetworkSettings.Networks}}'), '2');
  assert.equal(r('{{json .Config.Cmd}}'), '["echo","hi","a b"]');
  assert.equal(r('{{json .Config.Labels}}'), '{}');
  assert.equal(r('{{json .NetworkSettings.Ports}}'), '{}');
  assert.equal(r('{{.Config.Cmd | json}}'), '["echo","hi","a b"]');
  assert.equal(r('{{json .X}}', { X: '<a&b>' }), '"<a&b>"');
  assert.equal(r('{{join .Config.Cmd ","}}'), 'echo,hi,a b');
  assert.equal(r('{{split .Name "f"}}'), '[/re t2]');
  assert.equal(r('{{upper .Name}}'), '/REFT2');
  assert.equal(r('{{lower "ABC"}}'), 'abc');
  assert.equal(r('{{title "hello world"}}'), 'Hello World');
  assert.equal(r('{{pad .Name 2 3}}|'), '  /reft2   |');
  assert.equal(r('{{truncate .Name 3}}'), '/re');
  assert.equal(r('{{println .Name}}x'), '/reft2\nx');
  assert.equal(r('{{printf "%s-%d" .Name 5}}'), '/reft2-5');
  assert.equal(r('{{print 1 2 "a" "b" 3}}'), '1 2ab3');
  assert.equal(r('{{.Name | printf "%q"}}'), '"/reft2"');
});

test('if/else/else if, with, comparisons, and/or/not', () => {
  assert.equal(r('{{if .State.Running}}yes{{else}}no{{end}}'), 'no');
  assert.equal(r('{{if .Config.Cmd}}has{{end}}'), 'has');
  assert.equal(r('{{if .Config.Labels}}has{{else}}none{{end}}'), 'none');
  assert.equal(r('{{if eq .State.Status "running"}}R{{else if eq .State.Status "created"}}C{{else}}?{{end}}'), 'C');
  assert.equal(r('{{if eq .Name "/x" "/reft2"}}E{{end}}'), 'E');
  assert.equal(r('{{if and .Config.Cmd (not .State.Running)}}ok{{end}}'), 'ok');
  assert.equal(r('{{or .State.Health "none"}}'), 'none');
  assert.equal(r('{{if lt 1 2}}lt{{end}}{{if ge 2 2}}ge{{end}}{{if ne "a" "b"}}ne{{end}}'), 'ltgene');
  assert.equal(r('{{with .NetworkSettings.Networks.mynet}}{{.IPAddress}}{{end}}'), '10.1.0.5');
  assert.equal(r('{{with .Config.Labels}}x{{else}}nolabels{{end}}'), 'nolabels');
  assert.equal(r('{{$x := .Name}}{{$x}}'), '/reft2');
  assert.equal(r('{{$x := 1}}{{$x = 2}}{{$x}}'), '2');
});

test('trim markers and comments', () => {
  assert.equal(r('a  {{- .Name -}}  b'), 'a/reft2b');
  assert.equal(r('{{/* a comment */}}ok'), 'ok');
  assert.equal(r('{{- range .Config.Cmd }} {{.}} {{- end}}'), ' echo hi a b');
  assert.equal(r('{{"x"}}{{`raw\\n`}}{{"tab\\t"}}'), 'xraw\\ntab\t');
});

test('missing keys and bad fields fail with Go/docker wording and positions', () => {
  const err = (t: string, data: unknown = inspect) => {
    try { r(t, data); } catch (e) { return e as Error; }
    assert.fail(`no error for ${t}`);
  };
  let e = err('{{.Nope}}');
  assert.ok(e instanceof TemplateExecError);
  assert.equal(e.message, 'template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"');
  assert.equal(err('{{.Config.Nope.X}}').message, 'template: :1:9: executing "" at <.Config.Nope.X>: map has no entry for key "Nope"');
  assert.equal(err('{{.Config.Nope | json}}').message, 'template: :1:9: executing "" at <.Config.Nope>: map has no entry for key "Nope"');
  assert.equal(err('{{json .Nope}}').message, 'template: :1:7: executing "" at <.Nope>: map has no entry for key "Nope"');
  assert.equal(err('{{.Name.X}}').message, 'template: :1:7: executing "" at <.Name.X>: can\'t evaluate field X in type interface {}');
  assert.equal(err('{{index .Config.Cmd 5}}').message, 'template: :1:2: executing "" at <index .Config.Cmd 5>: error calling index: index out of range: 5');
  assert.equal(err('{{.State.Health.Status}}').message, 'template: :1:8: executing "" at <.State.Health.Status>: nil pointer evaluating interface {}.Status');
  const typed = { ID: 'x', [GO_TYPE]: '*formatter.ContainerContext' };
  assert.equal(err('{{.Nope}}', typed).message, 'template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.ContainerContext');
});

test('parse errors', () => {
  const perr = (t: string) => assert.throws(() => parseTemplate(t), (e: unknown) => e instanceof TemplateParseError && (e as Error).message.startsWith('template: :1:'));
  assert.throws(() => parseTemplate('{{.Foo'), { message: 'template: :1: unclosed action' });
  assert.throws(() => parseTemplate('{{nope .Name}}'), { message: 'template: :1: function "nope" not defined' });
  perr('{{if .A}}x');
  perr('{{end}}');
  perr('{{range}}{{end}}');
  perr('{{"unterminated}}');
});

test('method-like fields take arguments ({{.Label "k"}})', () => {
  const row = { Label: (k: string) => ({ a: '1' } as Record<string, string>)[k] ?? '', Names: 'web' };
  assert.equal(r('{{.Label "a"}}|{{.Label "b"}}|{{.Names}}', row), '1||web');
});
