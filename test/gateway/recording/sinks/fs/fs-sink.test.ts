import { execFileSync } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isGatehouseError } from '../../../../../gateway/src/errors';
import { FsLogSink } from '../../../../../gateway/src/recording/sinks/fs/fs-sink';
import { makeTempDir } from '../../../../support/recording-helpers';
import { describeLogSinkConformance } from '../../../../support/recording-sink-conformance';

function tryRun(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('FsLogSink', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await makeTempDir()));
  afterEach(async () => cleanup());

  it('puts durable immutable objects, gets and lists them in key order', async () => {
    const sink = new FsLogSink(dir);
    await sink.put('segments/2026/01/02/gw/b.ndjson.gz', Buffer.from('two'));
    await sink.put('segments/2026/01/01/gw/a.ndjson.gz', Buffer.from('one'));
    await sink.put('digests/2026/01/01/gw/0000000000.json', Buffer.from('{}'));
    expect(await readFile(join(dir, 'segments/2026/01/01/gw/a.ndjson.gz'), 'utf8')).toBe('one');
    expect((await sink.get('segments/2026/01/02/gw/b.ndjson.gz'))?.toString()).toBe('two');
    expect(await sink.get('segments/none')).toBeUndefined();
    expect(await sink.list('segments/')).toEqual(['segments/2026/01/01/gw/a.ndjson.gz', 'segments/2026/01/02/gw/b.ndjson.gz']);
    expect(await sink.list('segments/2026/01/02')).toEqual(['segments/2026/01/02/gw/b.ndjson.gz']);
    expect(await sink.list('nothing/')).toEqual([]);
    expect((await stat(join(dir, 'segments/2026/01/01/gw/a.ndjson.gz'))).mode & 0o777).toBe(0o444);
  });

  it('refuses to overwrite an existing key and leaves it intact', async () => {
    const sink = new FsLogSink(dir);
    await sink.put('k/a', Buffer.from('first'));
    await expect(sink.put('k/a', Buffer.from('second'))).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED', details: { reason: 'exists' } });
    expect((await sink.get('k/a'))?.toString()).toBe('first');
    expect(await sink.list('k/')).toEqual(['k/a']);
  });

  it('rejects keys that could escape the directory', async () => {
    const sink = new FsLogSink(dir);
    await expect(sink.put('../evil', Buffer.from('x'))).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED', details: { reason: 'invalid-key' } });
    await expect(sink.get('a//b')).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED' });
  });

  it('appends durably to an object it created, and never adopts an existing file', async () => {
    const sink = new FsLogSink(dir);
    await sink.append('seg/a', Buffer.from('one,'));
    // Visible on disk once the call resolved.
    expect(await readFile(join(dir, 'seg/a'), 'utf8')).toBe('one,');
    await sink.append('seg/a', Buffer.from('two'));
    expect(await readFile(join(dir, 'seg/a'), 'utf8')).toBe('one,two');
    await sink.sealAppend('seg/a');
    await expect(sink.append('seg/a', Buffer.from('three'))).rejects.toMatchObject({ details: { reason: 'exists' } });
    expect(await readFile(join(dir, 'seg/a'), 'utf8')).toBe('one,two');
    await sink.close();
  });

  it('surfaces a blocked directory (a file where the directory should be) as GH_ERR_RECORDING_FAILED', async () => {
    await writeFile(join(dir, 'segments'), 'not a directory');
    const sink = new FsLogSink(dir);
    const put = sink.put('segments/2026/x', Buffer.from('x'));
    await expect(put).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED', status: 503 });
    await expect(sink.append('segments/2026/y', Buffer.from('x'))).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED', details: { reason: 'not-a-directory' } });
  });

  it('surfaces permission denied (immutable directory via chattr) as GH_ERR_RECORDING_FAILED', async () => {
    const locked = join(dir, 'locked');
    await mkdir(locked);
    if (!tryRun('chattr', ['+i', locked])) {
      console.warn('chattr +i unavailable here; permission case covered by the blocked-directory test');
      return;
    }
    try {
      const sink = new FsLogSink(locked);
      const err = await sink.put('a/b', Buffer.from('x')).catch((e: unknown) => e);
      expect(isGatehouseError(err, 'GH_ERR_RECORDING_FAILED')).toBe(true);
      expect((err as { details: { reason: string } }).details.reason).toBe('permission');
      expect((err as Error).message).toMatch(/permission denied/);
    } finally {
      tryRun('chattr', ['-i', locked]);
    }
  });

  it('surfaces a full disk (a tiny tmpfs) as GH_ERR_RECORDING_FAILED and leaves the object as it was', async () => {
    const mnt = join(dir, 'small');
    await mkdir(mnt);
    if (!tryRun('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt])) {
      console.warn('cannot mount a tmpfs here; ENOSPC is simulated in the recorder tests instead');
      return;
    }
    try {
      const sink = new FsLogSink(mnt);
      await sink.append('seg/a', Buffer.from('head'));
      const big = Buffer.alloc(256 * 1024, 1);
      await expect(sink.append('seg/a', big)).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED', details: { reason: 'no-space' } });
      // All-or-nothing: cut back to the durable part.
      expect(await readFile(join(mnt, 'seg/a'), 'utf8')).toBe('head');
      await expect(sink.put('seg/b', big)).rejects.toMatchObject({ code: 'GH_ERR_RECORDING_FAILED', details: { reason: 'no-space' } });
      expect(await sink.list('seg/')).toEqual(['seg/a']);
      await sink.close();
    } finally {
      tryRun('umount', [mnt]);
    }
  });
});

describeLogSinkConformance('fs', async () => {
  const { dir, cleanup } = await makeTempDir();
  return { sink: new FsLogSink(dir), cleanup };
});
