// berthd's cluster flags, as dockerd had them: --cluster-store etcd://H:P[,H:P…],
// --cluster-advertise ADDR[:PORT], --cluster-store-opt kv.cacertfile=… kv.certfile=…
// kv.keyfile=… (TLS to etcd, with a client certificate), and berth's --cluster-ttl (seconds a
// dead host stays Ready). Pure: the files are read by main.ts.
export interface ClusterFlags {
  hosts: string[];
  advertise: string;
  cacertfile?: string; certfile?: string; keyfile?: string;
}

const OPTS = ['kv.cacertfile', 'kv.certfile', 'kv.keyfile'];

export function parseClusterFlags(store: string | undefined, advertise: string | undefined, opts: string[]): ClusterFlags | null {
  if (!store) {
    if (advertise) throw new Error('--cluster-advertise needs --cluster-store');
    if (opts.length) throw new Error('--cluster-store-opt needs --cluster-store');
    return null;
  }
  const m = /^([a-z0-9]+):\/\/(.+)$/.exec(store);
  if (!m) throw new Error(`--cluster-store ${store}: expected etcd://HOST:PORT[,HOST:PORT…]`);
  if (m[1] !== 'etcd') throw new Error(`--cluster-store ${store}: unsupported KV store ${m[1]} (berth supports etcd)`);
  const kv: Record<string, string> = {};
  for (const o of opts) {
    const i = o.indexOf('=');
    const k = i > 0 ? o.slice(0, i) : o;
    if (!OPTS.includes(k) || i < 0 || !o.slice(i + 1)) throw new Error(`--cluster-store-opt ${o}: expected one of ${OPTS.map((x) => `${x}=FILE`).join(', ')}`);
    kv[k] = o.slice(i + 1);
  }
  if (!!kv['kv.certfile'] !== !!kv['kv.keyfile']) throw new Error('--cluster-store-opt: kv.certfile and kv.keyfile go together');
  if (kv['kv.certfile'] && !kv['kv.cacertfile']) throw new Error('--cluster-store-opt: a client certificate needs kv.cacertfile');
  const scheme = kv['kv.cacertfile'] ? 'https' : 'http';
  const hosts = m[2].split(',').map((h) => {
    if (!/^[A-Za-z0-9.\-]+:\d{1,5}$/.test(h) || Number(h.split(':')[1]) > 65535) throw new Error(`--cluster-store ${store}: ${h} is not HOST:PORT`);
    return `${scheme}://${h}`;
  });
  if (!advertise) throw new Error('--cluster-store needs --cluster-advertise ADDR (the address other hosts reach this one at)');
  const ip = advertise.replace(/:\d+$/, '');
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) throw new Error(`--cluster-advertise ${advertise}: expected an IPv4 address (with optional port number)`);
  return { hosts, advertise: ip, cacertfile: kv['kv.cacertfile'], certfile: kv['kv.certfile'], keyfile: kv['kv.keyfile'] };
}

export function parseTtl(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 2 || n > 3600) throw new Error(`--cluster-ttl ${v}: expected whole seconds from 2 to 3600`);
  return n;
}
