// Output formatting the docker CLI uses: go-units' human sizes (durations: util/duration), Go's tabwriter
// for tables, id/command truncation, and --format handling (`table`, `json`, templates). Pure.
import { goJson, parseTemplate, GO_TYPE } from '../util/gotemplate';

/** Go's %.<p>g: shortest form with p significant digits, no trailing zeros. */
export function goG(v: number, p: number): string {
  let s = v.toPrecision(p);
  if (s.includes('e')) {
    const [m, e] = s.split('e');
    const mm = m.includes('.') ? m.replace(/\.?0+$/, '') : m;
    const n = Number(e);
    return `${mm}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  if (s.includes('.')) s = s.replace(/\.?0+$/, '');
  return s;
}

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];

/** go-units HumanSizeWithPrecision (decimal units). */
export function humanSize(size: number, precision = 4): string {
  let i = 0;
  let v = size;
  while (v >= 1000 && i < DECIMAL_UNITS.length - 1) { v /= 1000; i++; }
  return goG(v, precision) + DECIMAL_UNITS[i];
}

/** Width of a cell as Go's tabwriter counts it (runes). */
function runeWidth(s: string): number { return [...s].length; }

/**
 * Go's text/tabwriter with docker's settings (minwidth 10, tabwidth 1, padding 3, padchar ' ',
 * no flags): tab-terminated cells are aligned in columns; a column's width is fixed per block
 * of consecutive lines that have that column.
 */
export function tabwrite(text: string, minwidth = 10, padding = 3): string {
  const endsWithNl = text.endsWith('\n');
  const lines = (endsWithNl ? text.slice(0, -1) : text).split('\n').map((l) => l.split('\t'));
  const widths: number[][] = lines.map((cells) => cells.map(() => 0));
  const format = (line0: number, line1: number, column: number) => {
    let start = line0;
    for (let l = line0; l < line1; l++) {
      if (column >= lines[l].length - 1) continue;
      // A block of lines that all have a cell in this column starts here.
      start = l;
      let width = minwidth;
      let end = l;
      for (; end < line1 && column < lines[end].length - 1; end++) {
        const w = runeWidth(lines[end][column]) + padding;
        if (w > width) width = w;
      }
      for (let k = start; k < end; k++) widths[k][column] = width;
      format(start, end, column + 1);
      l = end - 1;
    }
  };
  format(0, lines.length, 0);
  const out = lines.map((cells, li) => cells.map((c, ci) => {
    if (ci === cells.length - 1) return c;
    return c + ' '.repeat(Math.max(0, widths[li][ci] - runeWidth(c)));
  }).join(''));
  return out.join('\n') + (endsWithNl ? '\n' : '');
}

/** docker's TruncateID: the first 12 characters of the hex id (without "sha256:"). */
export function shortId(id: string): string {
  const i = id.indexOf(':');
  return (i >= 0 ? id.slice(i + 1) : id).slice(0, 12);
}

/** docker's Ellipsis: shortens to maxlen runes with a trailing "…". */
export function ellipsis(s: string, maxlen: number): string {
  const r = [...s];
  if (r.length <= maxlen) return s;
  if (maxlen <= 1) return r.slice(0, maxlen).join('');
  return r.slice(0, maxlen - 1).join('') + '…';
}

/**
 * Docker's --format: "table" or "table TEMPLATE" prints a header row and aligns columns,
 * "json" prints one JSON object per line, anything else is a template per item.
 * `headers` maps each field of the row objects to its column title.
 */
interface FormatSpec { format: string; defaultTable: string; headers: Record<string, string>; quiet?: boolean }

function isTableFormat(f: string): boolean { return f.startsWith('table'); }

/** Docker's formatter turns the two-character sequences \t and \n of a --format into tab and newline. */
function unescapeFormat(f: string): string { return f.replace(/\\t/g, '\t').replace(/\\n/g, '\n'); }

export function renderRows(rows: Array<Record<string, unknown>>, spec: FormatSpec): string {
  let f = spec.format || 'table';
  // Bare "json" marshals each row as Go's json.Marshal does (HTML characters escaped).
  if (f === 'json') return rows.map((r) => htmlEscapeJson(goJson(plainRow(r))) + '\n').join('');
  const table = isTableFormat(f);
  if (table) f = f.trim() === 'table' ? spec.defaultTable : f.slice('table'.length).replace(/^ /, '');
  f = unescapeFormat(f);
  let tmpl: ReturnType<typeof parseTemplate>;
  try {
    tmpl = parseTemplate(f);
  } catch (e) {
    throw new FormatError(`failed to parse template: ${(e as Error).message}`);
  }
  const exec = (data: unknown) => {
    try { return tmpl.execute(data); } catch (e) { throw new FormatError(`failed to execute template: ${(e as Error).message}`); }
  };
  let out = '';
  if (table) {
    // The header is the same template run on an object whose fields are the column titles.
    const header: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(spec.headers)) header[k] = typeof rows[0]?.[k] === 'function' ? () => v : v;
    if (rows[0]) for (const k of Object.keys(rows[0])) if (!(k in header)) header[k] = typeof rows[0][k] === 'function' ? () => '' : '';
    (header as any)[GO_TYPE] = (rows[0] as any)?.[GO_TYPE];
    try { out += tmpl.execute(header) + '\n'; } catch { /* docker prints no header it cannot render */ }
  }
  for (const r of rows) out += exec(r) + '\n';
  return table ? tabwrite(out) : out;
}

/** A --format that cannot be parsed or executed; the CLI prints it and exits 1. */
export class FormatError extends Error {}

function htmlEscapeJson(s: string): string {
  return s.replace(/[<>&]/g, (c) => '\\u00' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}

/** A row object's plain fields (functions evaluated without arguments are skipped). */
function plainRow(r: Record<string, unknown>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const k of Object.keys(r).sort()) if (typeof r[k] !== 'function') o[k] = r[k];
  return o;
}

/** Docker's container/network/image CreatedAt: "2026-11-22 13:07:15 +0000 UTC". */
export function goTimeString(d: Date, withFraction = false, nanos = ''): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const frac = withFraction && nanos ? `.${nanos}` : '';
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}${frac} +0000 UTC`;
}
