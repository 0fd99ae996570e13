// `docker import --change` instructions: Dockerfile lines that edit an image's config. Pure, so
// the parsing rules (quotes, legacy `ENV k v`, shell vs JSON form) are unit-tested.
import { badRequest } from '../util/errors';

/** The container config an image carries, in Docker's shape (all keys present, nulls included). */
export interface ImageConfig {
  Hostname: string; Domainname: string; User: string;
  AttachStdin: boolean; AttachStdout: boolean; AttachStderr: boolean;
  ExposedPorts?: Record<string, {}>;
  Tty: boolean; OpenStdin: boolean; StdinOnce: boolean;
  Env: string[] | null; Cmd: string[] | null;
  Healthcheck?: { Test: string[] };
  Image: string; Volumes: Record<string, {}> | null; WorkingDir: string;
  Entrypoint: string[] | null; OnBuild: string[] | null; Labels: Record<string, string> | null;
  StopSignal?: string;
}

export function emptyImageConfig(): ImageConfig {
  return {
    Hostname: '', Domainname: '', User: '', AttachStdin: false, AttachStdout: false, AttachStderr: false,
    Tty: false, OpenStdin: false, StdinOnce: false, Env: null, Cmd: null, Image: '', Volumes: null,
    WorkingDir: '', Entrypoint: null, OnBuild: null, Labels: null,
  };
}

/** Any config object (a `docker save` config, possibly sparse) brought to Docker's full shape. */
export function normalizeImageConfig(c: any): ImageConfig {
  const out: any = { ...emptyImageConfig(), ...(c ?? {}) };
  for (const k of ['Env', 'Cmd', 'Entrypoint', 'OnBuild', 'Labels', 'Volumes']) if (out[k] === undefined) out[k] = null;
  return out as ImageConfig;
}

/** Apply `changes` in order to a copy of `base`; throws 400 with Docker's wording on bad input. */
export function applyChanges(base: ImageConfig, changes: string[]): ImageConfig {
  const cfg: ImageConfig = JSON.parse(JSON.stringify(base));
  let cmdSet = false;
  for (const raw of changes) {
    const line = raw.trim();
    if (!line) continue;
    const m = /^(\S+)\s*([\s\S]*)$/.exec(line)!;
    const instr = m[1].toLowerCase();
    const rest = m[2].trim();
    const env = envMap(cfg.Env ?? []);
    const expand = (s: string) => expandVars(s, env);
    switch (instr) {
      case 'env': {
        const pairs = keyValues(rest, 'ENV', expand);
        const list = [...(cfg.Env ?? [])];
        for (const [k, v] of pairs) {
          const i = list.findIndex((e) => e.split('=')[0] === k);
          if (i >= 0) list[i] = `${k}=${v}`; else list.push(`${k}=${v}`);
          env.set(k, v);
        }
        cfg.Env = list;
        break;
      }
      case 'label': {
        const labels = { ...(cfg.Labels ?? {}) };
        for (const [k, v] of keyValues(rest, 'LABEL', expand)) labels[k] = v;
        cfg.Labels = labels;
        break;
      }
      case 'expose': {
        const ports = { ...(cfg.ExposedPorts ?? {}) };
        for (const w of words(expand(rest))) for (const p of exposeKeys(w)) ports[p] = {};
        cfg.ExposedPorts = ports;
        break;
      }
      case 'cmd':
        cfg.Cmd = commandForm(rest);
        cmdSet = true;
        break;
      case 'entrypoint':
        cfg.Entrypoint = commandForm(rest);
        // Docker's builder: a new ENTRYPOINT drops a CMD that this same set of changes did not set.
        if (!cmdSet) cfg.Cmd = null;
        break;
      case 'workdir': {
        const dir = expand(unquote(rest));
        cfg.WorkingDir = dir.startsWith('/') ? dir : joinPath(cfg.WorkingDir || '/', dir);
        break;
      }
      case 'user':
        cfg.User = expand(unquote(rest));
        break;
      case 'volume': {
        const vols = { ...(cfg.Volumes ?? {}) };
        const list = rest.startsWith('[') ? jsonArray(rest) ?? words(rest) : words(expand(rest));
        for (const v of list) {
          if (!v) throw badRequest('VOLUME specified can not be an empty string');
          vols[v] = {};
        }
        cfg.Volumes = vols;
        break;
      }
      case 'stopsignal':
        cfg.StopSignal = expand(rest);
        break;
      case 'onbuild':
        cfg.OnBuild = [...(cfg.OnBuild ?? []), rest];
        break;
      case 'healthcheck': {
        if (/^none$/i.test(rest)) { cfg.Healthcheck = { Test: ['NONE'] }; break; }
        const cm = /^(?:--\S+\s+)*cmd\s+([\s\S]+)$/i.exec(rest);
        if (!cm) throw badRequest('Unknown type for healthcheck: ' + rest.split(/\s+/)[0]);
        const arr = jsonArray(cm[1]);
        cfg.Healthcheck = { Test: arr ? ['CMD', ...arr] : ['CMD-SHELL', cm[1]] };
        break;
      }
      default:
        throw badRequest(`${instr} is not a valid change command`);
    }
  }
  return cfg;
}

/** CMD/ENTRYPOINT: a JSON array is the exec form; anything else runs through /bin/sh -c. */
function commandForm(rest: string): string[] {
  const arr = jsonArray(rest);
  if (arr) return arr;
  return ['/bin/sh', '-c', rest];
}

function jsonArray(s: string): string[] | null {
  if (!s.startsWith('[')) return null;
  try {
    const v = JSON.parse(s);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch { /* not JSON: shell form */ }
  return null;
}

/** ENV/LABEL arguments: `k=v k2="v 2"`, or the legacy single pair `k the rest is the value`. */
function keyValues(rest: string, instr: string, expand: (s: string) => string): Array<[string, string]> {
  if (!rest) throw badRequest(`${instr} requires at least one argument`);
  const ws = rawWords(rest);
  if (!ws[0].includes('=')) {
    // Legacy form: the first word is the key, everything after the whitespace is the value.
    const key = ws[0];
    const value = rest.slice(rest.indexOf(key) + key.length).trim();
    if (!value) throw badRequest(`${instr} must have two arguments`);
    return [[key, expand(unquote(value))]];
  }
  return ws.map((w) => {
    const i = w.indexOf('=');
    if (i <= 0) throw badRequest(`Syntax error - can't find = in "${w}". Must be of the form: name=value`);
    return [unquote(w.slice(0, i)), expand(unquote(w.slice(i + 1)))] as [string, string];
  });
}

/** Split on unquoted whitespace, keeping quotes in place (they are removed per part later). */
function rawWords(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let any = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (quote) {
      cur += ch;
      if (ch === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else if (ch === quote) quote = null;
    } else if (/\s/.test(ch)) {
      if (any) { out.push(cur); cur = ''; any = false; }
    } else {
      cur += ch; any = true;
      if (ch === '"' || ch === "'") quote = ch;
      else if (ch === '\\' && i + 1 < s.length) cur += s[++i];
    }
  }
  if (any) out.push(cur);
  return out;
}

/** Remove shell-style quotes and backslash escapes from one word. */
function unquote(w: string): string {
  let out = '';
  let quote: string | null = null;
  for (let i = 0; i < w.length; i++) {
    const ch = w[i];
    if (quote === "'") { if (ch === "'") quote = null; else out += ch; continue; }
    if (ch === '\\' && i + 1 < w.length && (quote === null || /["\\$]/.test(w[i + 1]))) { out += w[++i]; continue; }
    if (quote === '"') { if (ch === '"') quote = null; else out += ch; continue; }
    if (ch === '"' || ch === "'") { quote = ch; continue; }
    out += ch;
  }
  return out;
}

function words(s: string): string[] { return rawWords(s).map(unquote); }

function envMap(env: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of env) { const i = e.indexOf('='); m.set(i < 0 ? e : e.slice(0, i), i < 0 ? '' : e.slice(i + 1)); }
  return m;
}

/** $VAR and ${VAR} from the image's environment so far, as the Dockerfile builder expands them. */
function expandVars(s: string, env: Map<string, string>): string {
  return s.replace(/\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (all, a, b) => (all === '\\$' ? '\\$' : env.get(a ?? b) ?? ''));
}

/** "80" → 80/tcp; "53/udp"; "8000-8002" → each port of the range. */
function exposeKeys(w: string): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(w);
  if (!m) throw badRequest(`Invalid containerPort: ${w.split('/')[0]}`);
  const lo = Number(m[1]);
  const hi = m[2] ? Number(m[2]) : lo;
  if (lo > 65535 || hi > 65535 || hi < lo) throw badRequest(`Invalid containerPort: ${w.split('/')[0]}`);
  const proto = (m[3] ?? 'tcp').toLowerCase();
  const out: string[] = [];
  for (let p = lo; p <= hi; p++) out.push(`${p}/${proto}`);
  return out;
}

function joinPath(base: string, rel: string): string {
  const parts = `${base}/${rel}`.split('/');
  const out: string[] = [];
  for (const p of parts) {
    if (!p || p === '.') continue;
    if (p === '..') out.pop(); else out.push(p);
  }
  return '/' + out.join('/');
}
