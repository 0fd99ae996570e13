// Pushes a rootfs tarball as a one-layer OCI image to a registry over plain HTTP, with the
// distribution API's monolithic uploads: the test fixture for `pull`.
//   node push.js http://127.0.0.1:5000 NAME TAG ROOTFS.tar
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const [base, name, tag, tarPath] = process.argv.slice(2);
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function upload(blob: Buffer): Promise<string> {
  const digest = sha(blob);
  const start = await fetch(`${base}/v2/${name}/blobs/uploads/`, { method: 'POST' });
  if (start.status !== 202) throw new Error(`upload start: ${start.status}`);
  const loc = new URL(start.headers.get('location')!, base);
  loc.searchParams.set('digest', digest);
  const put = await fetch(loc, { method: 'PUT', body: new Uint8Array(blob), headers: { 'Content-Type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`upload ${digest}: ${put.status} ${await put.text()}`);
  return digest;
}

(async () => {
  const tar = readFileSync(tarPath);
  const layer = gzipSync(tar);
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux',
    config: { Env: ['PATH=/bin:/usr/bin:/sbin'], Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: [sha(tar)] },
  }));
  const manifest = {
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: await upload(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: await upload(layer), size: layer.length }],
  };
  const res = await fetch(`${base}/v2/${name}/manifests/${tag}`, {
    method: 'PUT', body: JSON.stringify(manifest), headers: { 'Content-Type': manifest.mediaType },
  });
  if (res.status !== 201) throw new Error(`manifest: ${res.status} ${await res.text()}`);
  console.log(res.headers.get('docker-content-digest'));
})().catch((e) => { console.error(e.message); process.exit(1); });
