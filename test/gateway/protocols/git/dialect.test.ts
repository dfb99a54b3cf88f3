import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitConnectionSchema } from '../../../../gateway/src/config/schema';
import { gitDialect, readPushHead } from '../../../../gateway/src/protocols/git/dialect';
import { encodePktLine } from '../../../../gateway/src/protocols/git/pkt-line';

/** The git dialect's pure parts: the caller's token from HTTP Basic, the push head from a spooled body. */
const dialect = gitDialect(gitConnectionSchema.parse({ name: 'code', kind: 'git', upstream: 'http://127.0.0.1:9/' }), { secrets: { get: async () => '' } });
const basic = (userPass: string) => ({ authorization: `Basic ${Buffer.from(userPass).toString('base64')}` });

describe('git dialect', () => {
  it('takes the token from the Basic password (any user), from the user name when the password is empty, and nothing from other schemes', () => {
    expect(dialect.callerToken!(basic('agent:tok.en.jwt'))).toBe('tok.en.jwt');
    expect(dialect.callerToken!(basic('tok.en.jwt:'))).toBe('tok.en.jwt');
    expect(dialect.callerToken!(basic(':'))).toBeUndefined();
    expect(dialect.callerToken!({ authorization: 'Bearer tok.en.jwt' })).toBeUndefined();
    expect(dialect.callerToken!({})).toBeUndefined();
  });

  it('refuses a command list longer than its bound, also when the prefix held in memory is longer than the bound', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-git-dialect-'));
    try {
      // Well-formed commands with long ref names, no flush yet: only the length bound can stop them.
      const command = (i: number, caps = ''): Buffer => encodePktLine(`${'1'.repeat(40)} ${'2'.repeat(40)} refs/heads/${i}-${'x'.repeat(60_000)}${caps}\n`);
      const lines = [command(0, '\0report-status'), ...Array.from({ length: 90 }, (_, i) => command(i + 1))];
      const prefix = Buffer.concat(lines);
      expect(prefix.length).toBeGreaterThan(4 * 1024 * 1024);
      const file = join(dir, 'body');
      const more = command(1000);
      writeFileSync(file, Buffer.concat([prefix, more]));
      const state = await readPushHead({ prefix, file, size: prefix.length + more.length, sha256: '' });
      expect(state).toEqual({ status: 'invalid', reason: 'a command list longer than 4194304 bytes' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
