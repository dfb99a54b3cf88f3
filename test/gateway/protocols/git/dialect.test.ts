import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitConnectionSchema } from '../../../../gateway/src/config/schema';
import { gitDialect, readPushHead } from '../../../../gateway/src/protocols/git/dialect';
import type { ServerResponse } from 'node:http';
import { GatehouseError } from '../../../../gateway/src/errors';
import type { HttpRequestHead } from '../../../../gateway/src/protocols/kit/http-dialect';
import { decodeReport } from '../../../../gateway/src/protocols/git/report-status';
import { encodePktLine, PktLineFramer } from '../../../../gateway/src/protocols/git/pkt-line';

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

  describe('a push refused before it was decoded is answered in the framing its first bytes negotiated', () => {
    const ZERO = '0'.repeat(40);
    const first = (caps: string) => encodePktLine(`${ZERO} ${'1'.repeat(40)} refs/heads/main\0${caps}\n`);
    const answer = (prefix: Buffer): { status: number; body: Buffer } => {
      const head = { method: 'POST', routedPath: '/team/app.git/git-receive-pack', params: {}, headers: {}, bodyPrefix: () => prefix } as unknown as HttpRequestHead;
      let status = 0;
      let body: Buffer = Buffer.alloc(0);
      const res = { headersSent: false, destroyed: false, writeHead: (s: number) => (status = s), end: (b: Buffer) => (body = b) } as unknown as ServerResponse;
      dialect.sendError!(res, new GatehouseError('GH_ERR_MESSAGE_TOO_LARGE', 'too large'), { decision: 'http.body_too_large', head });
      return { status, body };
    };

    it('a whole command list: report-status in band 1, each ref rejected with the reason', () => {
      const { status, body } = answer(Buffer.concat([first('report-status side-band-64k'), encodePktLine(`${ZERO} ${'2'.repeat(40)} refs/heads/b\n`), Buffer.from('0000PACK')]));
      expect(status).toBe(200);
      expect(decodeReport(body, 'side-band-64k')).toEqual({ unpack: 'ok', refs: [{ ref: 'refs/heads/main', ok: false, reason: 'too large [http.body_too_large]' }, { ref: 'refs/heads/b', ok: false, reason: 'too large [http.body_too_large]' }] });
    });

    it('only the first command read: the reason on side-band 3 (git prints "remote error"), not a bare ERR git reads as "bad band #69"', () => {
      const { body } = answer(first('report-status side-band-64k'));
      const f = new PktLineFramer();
      f.feed(body);
      const p = f.read();
      expect(p?.type === 'data' && p.payload[0]).toBe(3);
      expect(p?.type === 'data' && p.payload.subarray(1).toString()).toBe('too large [http.body_too_large]\n');
    });

    it('no side-band negotiated: an ERR packet', () => {
      expect(answer(first('report-status')).body.toString()).toBe('0030ERR too large [http.body_too_large]\n'.replace('0030', (4 + 'ERR too large [http.body_too_large]\n'.length).toString(16).padStart(4, '0')));
    });
  });
});
