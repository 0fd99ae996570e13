// The busybox test image, built exactly as shared/reference/docker-reference.sh builds the one
// the reference Docker uses: Debian's static busybox plus the glibc NSS modules it needs to
// resolve names, and an nsswitch.conf. Tests import it with
//   berth import FILE busybox --change 'ENV PATH=/bin:/usr/bin:/sbin'
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const BUSYBOX_CHANGES = ['ENV PATH=/bin:/usr/bin:/sbin'];

const LIBS = ['libc.so.6', 'libnss_dns.so.2', 'libnss_files.so.2', 'libresolv.so.2'];

/** Write the busybox rootfs tarball to outPath. */
export async function buildBusyboxTar(outPath: string): Promise<void> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-busybox-'));
  try {
    for (const d of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'www', 'lib64', 'lib/x86_64-linux-gnu']) {
      await fs.mkdir(path.join(root, d), { recursive: true });
    }
    await fs.copyFile('/bin/busybox', path.join(root, 'bin/busybox'));
    await fs.chmod(path.join(root, 'bin/busybox'), 0o755);
    const applets = execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const a of applets) {
      if (a === 'busybox') continue;
      const link = path.join(root, 'bin', a);
      await fs.rm(link, { force: true });
      await fs.symlink('busybox', link);
    }
    // cp -L: copy what the symlinks point to.
    await fs.copyFile(await fs.realpath('/lib64/ld-linux-x86-64.so.2'), path.join(root, 'lib64/ld-linux-x86-64.so.2'));
    for (const l of LIBS) {
      await fs.copyFile(await fs.realpath(`/lib/x86_64-linux-gnu/${l}`), path.join(root, 'lib/x86_64-linux-gnu', l));
    }
    await fs.chmod(path.join(root, 'lib64/ld-linux-x86-64.so.2'), 0o755);
    await fs.writeFile(path.join(root, 'etc/nsswitch.conf'), 'hosts: files dns\n');
    execFileSync('tar', ['-C', root, '-cf', outPath, '.']);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
}
