import { PassThrough } from 'node:stream';
import { GatehouseError, isGatehouseError } from '../../../../gateway/src/errors';
import { runGit } from '../../../../gateway/src/protocols/git/run-git';

/** Streaming and stopping the system git (what the secret scan reads a push's patches with). */
const codeOf = (p: Promise<unknown>) => p.then(() => 'resolved', (e: unknown) => (isGatehouseError(e) ? e.code : String(e)));

describe('runGit streaming', () => {
  it('hands stdout to onStdout as it arrives instead of collecting it', async () => {
    const chunks: Buffer[] = [];
    const r = await runGit(['hash-object', '--stdin'], { stdin: Buffer.from('hello\n'), onStdout: (c) => chunks.push(c) });
    expect(Buffer.concat(chunks).toString('utf8')).toBe('ce013625030ba8dba906f756967f9e9ca394464a\n');
    expect(r.stdout.length).toBe(0);
  });

  it('an abort kills git and rejects; a consumer’s own error keeps its code', async () => {
    const stop = new AbortController();
    // hash-object waits for the end of a stdin that never ends: only the abort ends it.
    const open = new PassThrough();
    open.write('x');
    const running = runGit(['hash-object', '--stdin'], { stdin: open, signal: stop.signal, timeoutMs: 20_000 });
    setTimeout(() => stop.abort(), 50);
    expect(await codeOf(running)).toBe('GH_ERR_GIT_INSPECTION_FAILED');
    open.destroy();
    const failing = runGit(['hash-object', '--stdin'], { stdin: Buffer.from('x'), onStdout: () => { throw new GatehouseError('GH_ERR_MASKING_FAILED', 'detector failed'); } });
    expect(await codeOf(failing)).toBe('GH_ERR_MASKING_FAILED');
  });
});
