// A Go text/template subset, as the docker CLI evaluates --format: fields, variables,
// pipelines, if/else/with/range/break/continue, Go's builtins (index, len, print*, eq, and,
// not, ...) and docker's extra functions (json, join, split, upper, lower, title, pad,
// truncate). Values are plain JS data (decoded Engine API JSON); they print the way Go prints
// the same data decoded into interface{} (maps as `map[k:v]` with sorted keys, slices as
// `[a b]`, null as `<nil>`), and missing map keys are errors as with docker's
// `missingkey=error`.

export class TemplateParseError extends Error {}
export class TemplateExecError extends Error {}

/** A host object can name its Go type so that a missing field reads as Go's error for structs. */
export const GO_TYPE = Symbol('goType');

type Pos = number;

// ---------------------------------------------------------------------------------------------
// Lexer

type TokKind =
  | 'text' | 'open' | 'close' | 'field' | 'var' | 'dot' | 'ident' | 'string' | 'number'
  | 'bool' | 'nil' | 'pipe' | 'lparen' | 'rparen' | 'declare' | 'assign' | 'comma' | 'space' | 'eof';

interface Tok { kind: TokKind; val: string; pos: Pos }

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue']);

function lex(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) { toks.push({ kind: 'text', val: src.slice(i), pos: i }); break; }
    let textEnd = open;
    let afterOpen = open + 2;
    const trimLeft = src[afterOpen] === '-' && /\s/.test(src[afterOpen + 1] ?? '');
    if (trimLeft) {
      afterOpen += 1;
      while (textEnd > i && /\s/.test(src[textEnd - 1])) textEnd--;
    }
    if (textEnd > i) toks.push({ kind: 'text', val: src.slice(i, textEnd), pos: i });
    // comments: {{/* ... */}}
    let j = afterOpen;
    while (/\s/.test(src[j] ?? '') && trimLeft) j++;
    if (src.startsWith('/*', j)) {
      const endC = src.indexOf('*/', j + 2);
      if (endC < 0) throw new TemplateParseError(`template: :${lineOf(src, open)}: unclosed comment`);
      let k = endC + 2;
      let trimRight = false;
      if (src.startsWith(' -}}', k)) { trimRight = true; k += 4; }
      else if (src.startsWith('}}', k)) k += 2;
      else throw new TemplateParseError(`template: :${lineOf(src, open)}: comment ends before closing delimiter`);
      i = k;
      if (trimRight) while (i < src.length && /\s/.test(src[i])) i++;
      continue;
    }
    toks.push({ kind: 'open', val: '{{', pos: open });
    i = lexAction(src, afterOpen, toks, open);
  }
  toks.push({ kind: 'eof', val: '', pos: src.length });
  return toks;
}

function lineOf(src: string, pos: number): number {
  let n = 1;
  for (let k = 0; k < pos && k < src.length; k++) if (src[k] === '\n') n++;
  return n;
}

/** Lexes one action from i (just after `{{`); returns the index after `}}`. */
function lexAction(src: string, i: number, toks: Tok[], openPos: number): number {
  const fail = (msg: string, at = i) => { throw new TemplateParseError(`template: :${lineOf(src, at)}: ${msg}`); };
  for (;;) {
    if (i >= src.length) fail('unclosed action', openPos);
    const c = src[i];
    if (src.startsWith('}}', i)) { toks.push({ kind: 'close', val: '}}', pos: i }); return i + 2; }
    if (/\s/.test(c)) {
      let j = i;
      while (j < src.length && /\s/.test(src[j])) j++;
      if (src.startsWith('-}}', j)) {
        toks.push({ kind: 'close', val: '}}', pos: j });
        j += 3;
        while (j < src.length && /\s/.test(src[j])) j++;
        return j;
      }
      toks.push({ kind: 'space', val: ' ', pos: i });
      i = j;
      continue;
    }
    if (c === '|') { toks.push({ kind: 'pipe', val: c, pos: i }); i++; continue; }
    if (c === '(') { toks.push({ kind: 'lparen', val: c, pos: i }); i++; continue; }
    if (c === ')') { toks.push({ kind: 'rparen', val: c, pos: i }); i++; continue; }
    if (c === ',') { toks.push({ kind: 'comma', val: c, pos: i }); i++; continue; }
    if (src.startsWith(':=', i)) { toks.push({ kind: 'declare', val: ':=', pos: i }); i += 2; continue; }
    if (c === '=') { toks.push({ kind: 'assign', val: '=', pos: i }); i++; continue; }
    if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') {
        if (src[j] === '\\') j++;
        if (src[j] === '\n') fail('unterminated quoted string');
        j++;
      }
      if (j >= src.length) fail('unterminated quoted string');
      toks.push({ kind: 'string', val: unquoteGo(src.slice(i, j + 1)), pos: i });
      i = j + 1;
      continue;
    }
    if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) fail('unterminated raw quoted string');
      toks.push({ kind: 'string', val: src.slice(i + 1, j), pos: i });
      i = j + 1;
      continue;
    }
    if (c === "'") {
      const m = /^'(\\.|[^'\\])'/.exec(src.slice(i));
      if (!m) fail('unterminated character constant');
      const ch = unquoteGo('"' + m![1] + '"');
      toks.push({ kind: 'number', val: String(ch.codePointAt(0)), pos: i });
      i += m![0].length;
      continue;
    }
    if (c === '.' || c === '$') {
      const m = /^[.$][A-Za-z0-9_]*/.exec(src.slice(i))!;
      const word = m[0];
      if (c === '.' && word === '.') {
        if (/[0-9]/.test(src[i + 1] ?? '')) { /* number like .5 */ } else {
          toks.push({ kind: 'dot', val: '.', pos: i }); i++; continue;
        }
      } else {
        toks.push({ kind: c === '.' ? 'field' : 'var', val: word, pos: i });
        i += word.length;
        checkTerminator(src, i, fail);
        continue;
      }
    }
    const num = /^[+-]?(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(\d[\d_]*\.?[\d_]*|\.\d[\d_]*)([eE][+-]?\d+)?)/.exec(src.slice(i));
    if (num && (c !== '-' && c !== '+' || /[0-9.]/.test(src[i + 1] ?? ''))) {
      toks.push({ kind: 'number', val: num[0], pos: i });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (id) {
      const w = id[0];
      const kind: TokKind = w === 'true' || w === 'false' ? 'bool' : w === 'nil' ? 'nil' : 'ident';
      toks.push({ kind, val: w, pos: i });
      i += w.length;
      checkTerminator(src, i, fail);
      continue;
    }
    fail(`unexpected ${JSON.stringify(c)} in command`);
  }
}

/** Go's lexer wants a word to end at a space, punctuation or the closing delimiter. */
function checkTerminator(src: string, i: number, fail: (msg: string, at?: number) => never): void {
  const c = src[i];
  if (c === undefined || /\s/.test(c) || '.,|:)('.includes(c) || src.startsWith('}}', i) || src.startsWith('=', i)) return;
  const cp = c.codePointAt(0)!;
  fail(`bad character U+${cp.toString(16).toUpperCase().padStart(4, '0')} '${c}'`, i);
}

function unquoteGo(q: string): string {
  // Go's escapes are a superset of JSON's apart from \a \v \x and octal; map those first.
  const body = q.slice(1, -1).replace(/\\(a|v|x[0-9a-fA-F]{2}|[0-7]{3}|')/g, (_m, e: string) => {
    if (e === 'a') return '\\u0007';
    if (e === 'v') return '\\u000b';
    if (e === "'") return "'";
    if (e[0] === 'x') return '\\u00' + e.slice(1);
    return '\\u' + parseInt(e, 8).toString(16).padStart(4, '0');
  });
  try { return JSON.parse('"' + body + '"'); } catch { return body; }
}

// ---------------------------------------------------------------------------------------------
// Parser

type Node =
  | { t: 'text'; text: string }
  | { t: 'action'; pos: Pos; pipe: Pipe }
  | { t: 'if' | 'with'; pos: Pos; pipe: Pipe; list: Node[]; elseList: Node[] | null }
  | { t: 'range'; pos: Pos; pipe: Pipe; list: Node[]; elseList: Node[] | null }
  | { t: 'break' | 'continue'; pos: Pos };

interface Pipe { pos: Pos; decl: string[]; isAssign: boolean; cmds: Cmd[] }
interface Cmd { pos: Pos; args: Arg[] }
type Arg =
  | { t: 'field'; pos: Pos; names: string[] }                 // .A.B
  | { t: 'var'; pos: Pos; name: string; names: string[] }     // $x.A.B
  | { t: 'dot'; pos: Pos }
  | { t: 'ident'; pos: Pos; name: string }
  | { t: 'string'; pos: Pos; val: string }
  | { t: 'number'; pos: Pos; val: number; text: string }
  | { t: 'bool'; pos: Pos; val: boolean }
  | { t: 'nil'; pos: Pos }
  | { t: 'pipe'; pos: Pos; pipe: Pipe; names: string[] };     // (pipeline).A.B

class Parser {
  private k = 0;
  private rangeDepth = 0;
  constructor(private readonly toks: Tok[], private readonly src: string) {}

  private peek(): Tok { return this.toks[this.k]; }
  private next(): Tok { return this.toks[this.k++]; }
  private peekNonSpace(): Tok { while (this.peek().kind === 'space') this.k++; return this.peek(); }
  private nextNonSpace(): Tok { this.peekNonSpace(); return this.next(); }
  private fail(msg: string, pos: Pos): never {
    throw new TemplateParseError(`template: :${lineOf(this.src, pos)}: ${msg}`);
  }

  parse(): Node[] {
    const { list, end } = this.itemList(false);
    if (end !== 'eof') this.fail(`unexpected {{${end}}}`, this.peek().pos);
    return list;
  }

  /** Parses nodes until {{end}}, {{else}} or EOF; returns which one stopped it. */
  private itemList(inBlock: boolean): { list: Node[]; end: 'eof' | 'end' | 'else'; elsePos?: Pos } {
    const list: Node[] = [];
    for (;;) {
      const t = this.next();
      if (t.kind === 'eof') {
        if (inBlock) this.fail('unexpected EOF', t.pos);
        return { list, end: 'eof' };
      }
      if (t.kind === 'text') { list.push({ t: 'text', text: t.val }); continue; }
      // t is 'open'
      const first = this.peekNonSpace();
      if (first.kind === 'ident' && KEYWORDS.has(first.val)) {
        this.next();
        switch (first.val) {
          case 'end':
            this.expectClose('end');
            if (!inBlock) this.fail('unexpected {{end}}', first.pos);
            return { list, end: 'end' };
          case 'else':
            if (!inBlock) this.fail('unexpected {{else}}', first.pos);
            return { list, end: 'else', elsePos: first.pos };
          case 'if': case 'with': case 'range':
            list.push(this.control(first.val, first.pos));
            continue;
          case 'break': case 'continue':
            if (this.rangeDepth === 0) this.fail(`{{${first.val}}} outside {{range}}`, first.pos);
            this.expectClose(first.val);
            list.push({ t: first.val, pos: first.pos });
            continue;
          default:
            this.fail(`{{${first.val}}} is not supported`, first.pos);
        }
      }
      const pipe = this.pipeline('command', true);
      list.push({ t: 'action', pos: pipe.pos, pipe });
    }
  }

  private expectClose(ctx: string): void {
    const t = this.nextNonSpace();
    if (t.kind !== 'close') this.fail(`unexpected ${describe(t)} in ${ctx}`, t.pos);
  }

  private control(kind: 'if' | 'with' | 'range', pos: Pos): Node {
    const pipe = this.pipeline(kind, kind === 'range');
    if (kind === 'range') this.rangeDepth++;
    const body = this.itemList(true);
    if (kind === 'range') this.rangeDepth--;
    let elseList: Node[] | null = null;
    if (body.end === 'else') {
      // {{else if ...}} / {{else with ...}} chain into a nested control node.
      const nt = this.peekNonSpace();
      if ((kind === 'if' && nt.kind === 'ident' && nt.val === 'if') || (kind === 'with' && nt.kind === 'ident' && nt.val === 'with')) {
        this.next();
        elseList = [this.control(kind, nt.pos)];
        return { t: kind, pos, pipe, list: body.list, elseList } as Node;
      }
      this.expectClose('else');
      const rest = this.itemList(true);
      if (rest.end !== 'end') this.fail('expected end; found {{else}}', rest.elsePos ?? pos);
      elseList = rest.list;
    }
    return { t: kind, pos, pipe, list: body.list, elseList } as Node;
  }

  private pipeline(ctx: string, allowDecl: boolean): Pipe {
    const start = this.peekNonSpace();
    const pipe: Pipe = { pos: start.pos, decl: [], isAssign: false, cmds: [] };
    // Declarations: $x := / $x = / $i, $e :=
    if (start.kind === 'var') {
      const save = this.k;
      const vars: string[] = [this.next().val];
      let t = this.peekNonSpace();
      if (t.kind === 'comma' && allowDecl) {
        this.next();
        const v2 = this.nextNonSpace();
        if (v2.kind !== 'var') this.fail('range can only initialize variables', v2.pos);
        vars.push(v2.val);
        t = this.peekNonSpace();
      }
      if (t.kind === 'declare' || t.kind === 'assign') {
        this.next();
        pipe.decl = vars;
        pipe.isAssign = t.kind === 'assign';
      } else {
        this.k = save;
      }
    }
    for (;;) {
      const t = this.peekNonSpace();
      if (t.kind === 'close' || t.kind === 'rparen') {
        if (t.kind === 'rparen' && ctx !== 'paren') this.fail(`unexpected right paren`, t.pos);
        if (pipe.cmds.length === 0) this.fail(`missing value for ${ctx}`, t.pos);
        this.next();
        return pipe;
      }
      pipe.cmds.push(this.command());
      const after = this.peekNonSpace();
      if (after.kind === 'pipe') { this.next(); continue; }
      if (after.kind !== 'close' && after.kind !== 'rparen') this.fail(`unexpected ${describe(after)} in ${ctx}`, after.pos);
    }
  }

  private command(): Cmd {
    const first = this.peekNonSpace();
    const cmd: Cmd = { pos: first.pos, args: [] };
    for (;;) {
      const t = this.peek();
      if (t.kind === 'space') { this.next(); continue; }
      if (t.kind === 'close' || t.kind === 'rparen' || t.kind === 'pipe') break;
      if (t.kind === 'eof') this.fail('unclosed action', t.pos);
      cmd.args.push(this.operand());
      const n = this.peek();
      if (n.kind !== 'space' && n.kind !== 'close' && n.kind !== 'rparen' && n.kind !== 'pipe') {
        this.fail(`unexpected ${describe(n)} in operand`, n.pos);
      }
    }
    if (cmd.args.length === 0) this.fail('empty command', first.pos);
    return cmd;
  }

  private operand(): Arg {
    const t = this.next();
    let arg: Arg;
    switch (t.kind) {
      case 'field': arg = { t: 'field', pos: t.pos, names: [t.val.slice(1)] }; break;
      case 'var': arg = { t: 'var', pos: t.pos, name: t.val, names: [] }; break;
      case 'dot': arg = { t: 'dot', pos: t.pos }; break;
      case 'ident':
        if (KEYWORDS.has(t.val)) this.fail(`unexpected <${t.val}> in operand`, t.pos);
        arg = { t: 'ident', pos: t.pos, name: t.val }; break;
      case 'string': arg = { t: 'string', pos: t.pos, val: t.val }; break;
      case 'number': {
        const v = Number(t.val.replace(/_/g, ''));
        if (Number.isNaN(v)) this.fail(`bad number syntax: "${t.val}"`, t.pos);
        arg = { t: 'number', pos: t.pos, val: v, text: t.val }; break;
      }
      case 'bool': arg = { t: 'bool', pos: t.pos, val: t.val === 'true' }; break;
      case 'nil': arg = { t: 'nil', pos: t.pos }; break;
      case 'lparen': arg = { t: 'pipe', pos: t.pos, pipe: this.pipeline('paren', false), names: [] }; break;
      default: this.fail(`unexpected ${describe(t)} in operand`, t.pos);
    }
    // A chain of fields after the operand: .A.B, $x.A, (pipe).A
    let chainPos: Pos | undefined;
    while (this.peek().kind === 'field') {
      const f = this.next();
      if (chainPos === undefined) chainPos = f.pos;
      if (arg.t === 'field' || arg.t === 'var' || arg.t === 'pipe') arg.names.push(f.val.slice(1));
      else this.fail(`unexpected . after term ${JSON.stringify(describe(t))}`, f.pos);
    }
    // Go reports a chained field at the position of its second element.
    if (arg.t === 'field' && chainPos !== undefined) arg.pos = chainPos;
    return arg;
  }
}

function describe(t: Tok): string {
  switch (t.kind) {
    case 'close': return '"}}"';
    case 'eof': return 'EOF';
    case 'string': return `"${t.val}"`;
    default: return `<${t.val}>`;
  }
}

// ---------------------------------------------------------------------------------------------
// Values and printing

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

/** Go's truth: false, 0, nil, empty string/slice/map are false. */
function truth(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isMap(v)) return Object.keys(v).length > 0 || GO_TYPE in v;
  return true;
}

function fmtNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN';
  // Go's %v for float64 is %g with the shortest representation: exponent for < 1e-4 or >= 1e21.
  const s = String(n);
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

/** Formats a value as Go's fmt %v does for the same data decoded into interface{}. */
export function goString(v: unknown, top = true): string {
  if (v === undefined) return top ? '<no value>' : '<nil>';
  if (v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return fmtNumber(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'function') return '<func>';
  if (Array.isArray(v)) return '[' + v.map((e) => goString(e, false)).join(' ') + ']';
  if (isMap(v)) {
    const keys = Object.keys(v).filter((k) => typeof v[k] !== 'function').sort();
    return 'map[' + keys.map((k) => `${k}:${goString(v[k], false)}`).join(' ') + ']';
  }
  return String(v);
}

/** json.Marshal with SetEscapeHTML(false), as docker's `json` template function. */
export function goJson(v: unknown): string {
  const s = JSON.stringify(v === undefined ? null : v, (_k, x) => (typeof x === 'function' ? undefined : x));
  return s === undefined ? 'null' : s;
}

function typeName(v: unknown): string {
  if (isMap(v) && GO_TYPE in v) return String((v as any)[GO_TYPE]);
  if (v === null || v === undefined) return 'interface {}';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  if (isMap(v)) return 'map[string]interface {}';
  return 'interface {}';
}

// ---------------------------------------------------------------------------------------------
// Functions

type Fn = (...args: unknown[]) => unknown;

function goTitle(s: string): string {
  // strings.Title: upper-case the first letter of every word (after a non-letter).
  return s.replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, pre: string, ch: string) => pre + ch.toUpperCase());
}

function sprintf(format: string, args: unknown[]): string {
  let ai = 0;
  return format.replace(/%([-+# 0]*)(\d+)?(?:\.(\d+))?([%vsdqxXtfgeTc])/g, (m, flags: string, width?: string, prec?: string, verb?: string) => {
    if (verb === '%') return '%';
    if (ai >= args.length) return `%!${verb}(MISSING)`;
    const a = args[ai++];
    let out: string;
    switch (verb) {
      case 'd': out = typeof a === 'number' ? String(Math.trunc(a)) : `%!d(${typeName(a)}=${goString(a)})`; break;
      case 'q': out = JSON.stringify(goString(a)); break;
      case 'x': out = typeof a === 'number' ? a.toString(16) : Buffer.from(goString(a)).toString('hex'); break;
      case 'X': out = typeof a === 'number' ? a.toString(16).toUpperCase() : Buffer.from(goString(a)).toString('hex').toUpperCase(); break;
      case 'f': out = typeof a === 'number' ? a.toFixed(prec ? Number(prec) : 6) : `%!f(${typeName(a)}=${goString(a)})`; break;
      case 'T': out = typeName(a); break;
      case 'c': out = typeof a === 'number' ? String.fromCodePoint(a) : goString(a); break;
      default: out = goString(a); if (prec && verb === 's') out = out.slice(0, Number(prec));
    }
    if (width) {
      const w = Number(width);
      const len = [...out].length;
      if (len < w) out = flags.includes('-') ? out + ' '.repeat(w - len) : (flags.includes('0') && verb !== 's' ? '0' : ' ').repeat(w - len) + out;
    }
    return out;
  }) + (ai < args.length ? `%!(EXTRA ${args.slice(ai).map((a) => `${typeName(a)}=${goString(a)}`).join(', ')})` : '');
}

/** fmt.Sprint: a space between operands when neither side is a string. */
function sprint(args: unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += goString(a, false);
  });
  return out;
}

function basicEq(a: unknown, b: unknown): boolean {
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (typeof a === 'object' && a !== null || typeof b === 'object' && b !== null) {
    if (a === null || b === null) return a === b;
    throw new TemplateExecError('incompatible types for comparison');
  }
  if (typeof a !== typeof b) throw new TemplateExecError('incompatible types for comparison');
  return a === b;
}

function lessThan(a: unknown, b: unknown): boolean {
  if ((typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string')) return a < b;
  throw new TemplateExecError(typeof a !== typeof b ? 'incompatible types for comparison' : 'invalid type for comparison');
}

function lengthOf(v: unknown): number {
  if (typeof v === 'string') return Buffer.byteLength(v);
  if (Array.isArray(v)) return v.length;
  if (isMap(v)) return Object.keys(v).length;
  throw new TemplateExecError(`len of ${v === null || v === undefined ? 'nil pointer' : 'type ' + typeName(v)}`);
}

function indexOf(item: unknown, ...keys: unknown[]): unknown {
  let v = item;
  for (const k of keys) {
    if (Array.isArray(v) || typeof v === 'string') {
      if (typeof k !== 'number' || !Number.isInteger(k)) throw new TemplateExecError(`cannot index slice/array with type ${typeName(k)}`);
      const len = Array.isArray(v) ? v.length : Buffer.byteLength(v);
      if (k < 0 || k >= len) throw new TemplateExecError(`index out of range: ${k}`);
      v = Array.isArray(v) ? v[k] : Buffer.from(v)[k];
    } else if (isMap(v)) {
      if (typeof k !== 'string') throw new TemplateExecError(`value has type ${typeName(k)}; should be string`);
      // A missing key yields the element's zero value; docker's maps here are mostly labels
      // and options (map[string]string), whose zero value prints as "".
      v = Object.prototype.hasOwnProperty.call(v, k) ? v[k] : '';
    } else if (v === null || v === undefined) {
      throw new TemplateExecError('index of untyped nil');
    } else {
      throw new TemplateExecError(`can't index item of type ${typeName(v)}`);
    }
  }
  return v;
}

function toStringList(v: unknown, fn: string): string[] {
  if (!Array.isArray(v)) throw new TemplateExecError(`wrong type for value; expected []string; got ${typeName(v)}`);
  return v.map((e) => goString(e, false));
  void fn;
}

const builtins: Record<string, Fn> = {
  // Go's builtins (and/or are handled lazily by the executor)
  not: (a) => !truth(a),
  len: (a) => lengthOf(a),
  index: (item, ...keys) => indexOf(item, ...keys),
  print: (...a) => sprint(a),
  println: (...a) => a.map((x) => goString(x, false)).join(' ') + '\n',
  printf: (f, ...a) => sprintf(String(f), a),
  eq: (a, ...bs) => {
    if (bs.length === 0) throw new TemplateExecError('missing argument for comparison');
    return bs.some((b) => basicEq(a, b));
  },
  ne: (a, b) => !basicEq(a, b),
  lt: (a, b) => lessThan(a, b),
  le: (a, b) => lessThan(a, b) || basicEq(a, b),
  gt: (a, b) => !lessThan(a, b) && !basicEq(a, b),
  ge: (a, b) => !lessThan(a, b),
  slice: (item, ...idx) => {
    const n = idx.map(Number);
    if (typeof item === 'string') return item.slice(n[0] ?? 0, n[1] ?? item.length);
    if (Array.isArray(item)) return item.slice(n[0] ?? 0, n[1] ?? item.length);
    throw new TemplateExecError(`can't slice item of type ${typeName(item)}`);
  },
  html: (...a) => sprint(a).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' }[c]!)),
  js: (...a) => sprint(a).replace(/[\\'"<>&=]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')),
  urlquery: (...a) => encodeURIComponent(sprint(a)).replace(/%20/g, '+'),
  // docker's template functions (cli/templates)
  json: (v) => goJson(v),
  split: (s, sep) => String(s).split(String(sep)),
  join: (v, sep) => toStringList(v, 'join').join(String(sep)),
  title: (s) => goTitle(String(s)),
  lower: (s) => String(s).toLowerCase(),
  upper: (s) => String(s).toUpperCase(),
  pad: (s, l, r) => ' '.repeat(Number(l)) + goString(s) + ' '.repeat(Number(r)),
  truncate: (s, n) => [...String(s)].slice(0, Number(n)).join(''),
};

// ---------------------------------------------------------------------------------------------
// Executor

class BreakSignal { constructor(public readonly kind: 'break' | 'continue') {} }

interface Scope { vars: Array<[string, unknown]> }

class Exec {
  private out = '';
  constructor(private readonly src: string, private readonly funcs: Record<string, Fn>, private readonly root: unknown) {}

  run(nodes: Node[]): string {
    this.walk(nodes, this.root, { vars: [['$', this.root]] });
    return this.out;
  }

  private errAt(pos: Pos, context: string, msg: string): never {
    const line = lineOf(this.src, pos);
    const lastNl = this.src.lastIndexOf('\n', pos - 1);
    const col = pos - lastNl - 1;
    const ctx = context.length > 20 ? context.slice(0, 20) + '...' : context;
    throw new TemplateExecError(`template: :${line}:${col}: executing "" at <${ctx}>: ${msg}`);
  }

  private walk(nodes: Node[], dot: unknown, scope: Scope): void {
    for (const n of nodes) this.node(n, dot, scope);
  }

  private node(n: Node, dot: unknown, scope: Scope): void {
    switch (n.t) {
      case 'text': this.out += n.text; return;
      case 'action': {
        const v = this.pipe(n.pipe, dot, scope);
        if (n.pipe.decl.length === 0) this.out += this.printable(v, n.pipe);
        return;
      }
      case 'if': case 'with': {
        const inner: Scope = { vars: [...scope.vars] };
        const v = this.pipe(n.pipe, dot, inner);
        if (truth(v)) this.walk(n.list, n.t === 'with' ? v : dot, inner);
        else if (n.elseList) this.walk(n.elseList, dot, inner);
        return;
      }
      case 'range': return this.range(n, dot, scope);
      case 'break': case 'continue': throw new BreakSignal(n.t);
    }
  }

  private range(n: Extract<Node, { t: 'range' }>, dot: unknown, scope: Scope): void {
    // Evaluate without declaring: the variables are bound per element.
    const val = this.pipe({ ...n.pipe, decl: [] }, dot, scope);
    const items: Array<[unknown, unknown]> = [];
    if (Array.isArray(val)) val.forEach((e, i) => items.push([i, e]));
    else if (isMap(val)) for (const k of Object.keys(val).sort()) { if (typeof val[k] !== 'function') items.push([k, val[k]]); }
    else if (typeof val === 'number' && Number.isInteger(val)) for (let i = 0; i < val; i++) items.push([i, i]);
    else if (val !== null && val !== undefined) this.errAt(n.pos, 'range', `range can't iterate over ${goString(val)}`);
    if (items.length === 0) {
      if (n.elseList) this.walk(n.elseList, dot, { vars: [...scope.vars] });
      return;
    }
    for (const [k, e] of items) {
      const inner: Scope = { vars: [...scope.vars] };
      if (n.pipe.decl.length === 1) inner.vars.push([n.pipe.decl[0], e]);
      if (n.pipe.decl.length === 2) inner.vars.push([n.pipe.decl[0], k], [n.pipe.decl[1], e]);
      try {
        this.walk(n.list, e, inner);
      } catch (err) {
        if (err instanceof BreakSignal) { if (err.kind === 'break') break; continue; }
        throw err;
      }
    }
  }

  private printable(v: unknown, _pipe: Pipe): string {
    if (typeof v === 'function') return '<func>';
    return goString(v);
  }

  private pipe(p: Pipe, dot: unknown, scope: Scope): unknown {
    let v: unknown = undefined;
    let have = false;
    for (const c of p.cmds) {
      v = this.command(c, dot, scope, have ? { v } : null);
      have = true;
    }
    if (p.decl.length > 0) {
      if (p.isAssign) {
        const idx = findVar(scope, p.decl[0]);
        if (idx < 0) this.errAt(p.pos, p.decl[0], `undefined variable: ${p.decl[0]}`);
        scope.vars[idx][1] = v;
      } else {
        scope.vars.push([p.decl[p.decl.length - 1], v]);
      }
    }
    return v;
  }

  private command(c: Cmd, dot: unknown, scope: Scope, final: { v: unknown } | null): unknown {
    const [head, ...rest] = c.args;
    const ctx = cmdString(c);
    if (head.t === 'ident') {
      const name = head.name;
      if (name === 'and' || name === 'or') {
        const all = [...rest];
        let last: unknown;
        const argCount = all.length + (final ? 1 : 0);
        if (argCount === 0) this.errAt(c.pos, ctx, `wrong number of args for ${name}: want at least 1 got 0`);
        for (const a of all) {
          last = this.arg(a, dot, scope);
          if (name === 'and' ? !truth(last) : truth(last)) return last;
        }
        if (final) last = final.v;
        return last;
      }
      const fn = this.funcs[name];
      if (!fn) throw new TemplateParseError(`template: :${lineOf(this.src, head.pos)}: function "${name}" not defined`);
      const args = rest.map((a) => this.arg(a, dot, scope));
      if (final) args.push(final.v);
      try {
        return fn(...args);
      } catch (e) {
        if (e instanceof TemplateExecError && !e.message.startsWith('template:')) this.errAt(c.pos, ctx, `error calling ${name}: ${e.message}`);
        throw e;
      }
    }
    if (head.t === 'field' || head.t === 'var' || head.t === 'pipe') {
      // A field (or method) with arguments, e.g. {{.Label "com.example"}}.
      if (rest.length > 0 || final) {
        const args = rest.map((a) => this.arg(a, dot, scope));
        if (final) args.push(final.v);
        return this.arg(head, dot, scope, args);
      }
    } else if (rest.length > 0 || final) {
      this.errAt(head.pos, ctx, `can't give argument to non-function ${argString(head)}`);
    }
    return this.arg(head, dot, scope);
  }

  private arg(a: Arg, dot: unknown, scope: Scope, callArgs?: unknown[]): unknown {
    switch (a.t) {
      case 'dot': return dot;
      case 'string': return a.val;
      case 'number': return a.val;
      case 'bool': return a.val;
      case 'nil': this.errAt(a.pos, 'nil', 'nil is not a command');
      // eslint-disable-next-line no-fallthrough
      case 'ident': {
        const fn = this.funcs[a.name];
        if (!fn) throw new TemplateParseError(`template: :${lineOf(this.src, a.pos)}: function "${a.name}" not defined`);
        return fn();
      }
      case 'field': return this.chain(dot, a.names, a.pos, argString(a), callArgs);
      case 'var': {
        const idx = findVar(scope, a.name);
        if (idx < 0) throw new TemplateParseError(`template: :${lineOf(this.src, a.pos)}: undefined variable "${a.name}"`);
        return this.chain(scope.vars[idx][1], a.names, a.pos, argString(a), callArgs);
      }
      case 'pipe': {
        const v = this.pipe(a.pipe, dot, { vars: [...scope.vars] });
        return this.chain(v, a.names, a.pos, argString(a), callArgs);
      }
    }
  }

  private chain(v: unknown, names: string[], pos: Pos, ctx: string, callArgs?: unknown[]): unknown {
    let cur = v;
    names.forEach((name, i) => {
      const last = i === names.length - 1;
      if (cur === null) this.errAt(pos, ctx, `nil pointer evaluating interface {}.${name}`);
      if (cur === undefined) { cur = undefined; return; }
      if (!isMap(cur)) this.errAt(pos, ctx, `can't evaluate field ${name} in type interface {}`);
      const obj = cur as Record<string, unknown>;
      if (!Object.prototype.hasOwnProperty.call(obj, name) && !(GO_TYPE in obj && name in obj)) {
        if (GO_TYPE in obj) this.errAt(pos, ctx, `can't evaluate field ${name} in type ${typeName(obj)}`);
        this.errAt(pos, ctx, `map has no entry for key "${name}"`);
      }
      const f = obj[name];
      if (typeof f === 'function') {
        const args = last && callArgs ? callArgs : [];
        try { cur = f.apply(obj, args); } catch (e) {
          if (e instanceof TemplateExecError) this.errAt(pos, ctx, `error calling ${name}: ${e.message}`);
          throw e;
        }
      } else {
        if (last && callArgs && callArgs.length > 0) this.errAt(pos, ctx, `${name} has arguments but cannot be invoked as function`);
        cur = f;
      }
    });
    return cur;
  }
}

function findVar(scope: Scope, name: string): number {
  for (let i = scope.vars.length - 1; i >= 0; i--) if (scope.vars[i][0] === name) return i;
  return -1;
}

function argString(a: Arg): string {
  switch (a.t) {
    case 'field': return '.' + a.names.join('.');
    case 'var': return a.name + a.names.map((n) => '.' + n).join('');
    case 'dot': return '.';
    case 'ident': return a.name;
    case 'string': return JSON.stringify(a.val);
    case 'number': return a.text;
    case 'bool': return String(a.val);
    case 'nil': return 'nil';
    case 'pipe': return '(' + a.pipe.cmds.map(cmdString).join(' | ') + ')' + a.names.map((n) => '.' + n).join('');
  }
}

function cmdString(c: Cmd): string { return c.args.map(argString).join(' '); }

// ---------------------------------------------------------------------------------------------
// Public API

interface Template { execute(data: unknown): string }

/** Parses a template; throws TemplateParseError with Go's wording on bad syntax. */
export function parseTemplate(src: string, extraFuncs: Record<string, Fn> = {}): Template {
  const nodes = new Parser(lex(src), src).parse();
  const funcs = { ...builtins, ...extraFuncs };
  checkFunctions(nodes, funcs, src);
  return { execute: (data: unknown) => new Exec(src, funcs, data).run(nodes) };
}

/** Go rejects unknown functions at parse time; so do we. */
function checkFunctions(nodes: Node[], funcs: Record<string, Fn>, src: string): void {
  const checkPipe = (p: Pipe) => p.cmds.forEach((c) => c.args.forEach((a) => {
    if (a.t === 'ident' && a.name !== 'and' && a.name !== 'or' && !funcs[a.name]) {
      throw new TemplateParseError(`template: :${lineOf(src, a.pos)}: function "${a.name}" not defined`);
    }
    if (a.t === 'pipe') checkPipe(a.pipe);
  }));
  for (const n of nodes) {
    if (n.t === 'action') checkPipe(n.pipe);
    if (n.t === 'if' || n.t === 'with' || n.t === 'range') {
      checkPipe(n.pipe);
      checkFunctions(n.list, funcs, src);
      if (n.elseList) checkFunctions(n.elseList, funcs, src);
    }
  }
}
