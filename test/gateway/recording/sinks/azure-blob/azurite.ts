import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { StorageSharedKeyCredential } from '@azure/storage-blob';

/** Azurite's well-known development account (public; documented by Microsoft for the emulator). */
export const DEV_ACCOUNT = 'devstoreaccount1';
export const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  readonly endpoint: string;
  readonly credential: StorageSharedKeyCredential;
  stop(): Promise<void>;
}

/** Starts Azurite's blob service on 127.0.0.1 with a free port, in memory. */
export async function startAzurite(): Promise<Azurite> {
  const bin = path.join(process.cwd(), 'node_modules/.bin/azurite-blob');
  const child: ChildProcess = spawn(bin, ['--blobHost', '127.0.0.1', '--blobPort', '0', '--inMemoryPersistence', '--skipApiVersionCheck'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`Azurite did not start: ${out}`)), 20000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /successfully listens on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`Azurite exited with ${code}: ${out}`)));
  });
  return {
    endpoint: `http://127.0.0.1:${port}/${DEV_ACCOUNT}`,
    credential: new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_KEY),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
