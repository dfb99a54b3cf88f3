import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES, GatehouseError, type ErrorCode } from '../../../../gateway/src/errors';
import { pgErrorFor, pgLoginError, pgSqlstate, pgStartupError, sqlstateFor } from '../../../../gateway/src/protocols/postgres/errors';

const PROTOCOLS = fileURLToPath(new URL('../../../../gateway/src/protocols', import.meta.url));
const codes = Object.keys(ERROR_CODES) as ErrorCode[];

describe('postgres error mapping', () => {
  it('maps every GatehouseError code to a well-formed SQLSTATE in both phases', () => {
    for (const code of codes) {
      for (const phase of ['startup', 'session'] as const) expect([code, phase, sqlstateFor(code, ERROR_CODES[code], phase)]).toEqual([code, phase, expect.stringMatching(/^[0-9A-Z]{5}$/)]);
    }
  });

  it('refused credentials are invalid passwords; refusals are insufficient privilege', () => {
    for (const code of codes.filter((c) => c.startsWith('GH_ERR_TOKEN_'))) expect([code, sqlstateFor(code, ERROR_CODES[code], 'startup')]).toEqual([code, '28P01']);
    for (const code of ['GH_ERR_POLICY_DENIED', 'GH_ERR_POLICY_FAILED', 'GH_ERR_APPROVAL_DENIED', 'GH_ERR_APPROVAL_EXPIRED'] as const) expect(sqlstateFor(code, ERROR_CODES[code], 'session')).toBe('42501');
  });

  it('recording and shutdown: cannot connect now at start-up, admin shutdown during a session', () => {
    for (const code of ['GH_ERR_RECORDING_FAILED', 'GH_ERR_RECORDING_OVERLOADED', 'GH_ERR_RECORDING_CLOSED', 'GH_ERR_SHUTTING_DOWN'] as const) {
      expect(sqlstateFor(code, ERROR_CODES[code], 'startup')).toBe('57P03');
      expect(sqlstateFor(code, ERROR_CODES[code], 'session')).toBe('57P01');
    }
    expect(sqlstateFor('GH_ERR_UPSTREAM_UNAVAILABLE', 502, 'startup')).toBe('08006');
  });

  it('answers what the gateway ends or refuses by itself with PostgreSQL\'s own meaning of the condition', () => {
    for (const phase of ['startup', 'session'] as const) {
      // The login's token expired: its authorization is no longer valid (not a wrong password, 28P01).
      expect(pgSqlstate('GH_ERR_SESSION_EXPIRED', phase)).toBe('28000');
      expect(pgSqlstate('GH_ERR_MESSAGE_TOO_LARGE', phase)).toBe('54000');
      expect(pgSqlstate('GH_ERR_PG_PARAMETER_CHANGED', phase)).toBe('0A000');
      expect(pgSqlstate('GH_ERR_PG_PARAMETER_PINNED', phase)).toBe('22023');
    }
    expect(pgErrorFor(new GatehouseError('GH_ERR_SESSION_EXPIRED', 'the token expired'), 'session').sqlstate).toBe('28000');
  });

  it('no SQLSTATE literal in protocols/postgres outside errors.ts: every native error comes from its table', async () => {
    const root = join(PROTOCOLS, 'postgres');
    const sqlstateLiteral = /["'`](?=[0-9A-Z]{5}["'`])(?=[A-Z]*[0-9])[0-9A-Z]{5}["'`]/;
    const offenders: string[] = [];
    const files = (await readdir(root, { recursive: true })).filter((f) => f.endsWith('.ts') && f !== 'errors.ts');
    expect(files).toContain('connection.ts');
    for (const f of files) {
      (await readFile(join(root, f), 'utf8')).split('\n').forEach((line, i) => {
        if (sqlstateLiteral.test(line)) offenders.push(`${f}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(offenders).toEqual([]);
    expect(sqlstateLiteral.test("this.terminate('57P01', 'bye')")).toBe(true);
    expect(sqlstateLiteral.test("errorResponse('FATAL', s, t)")).toBe(false);
  });

  it('never shows an internal error its text', () => {
    const e = pgErrorFor(new GatehouseError('GH_ERR_INTERNAL', 'stack /srv/secret/path'), 'session');
    expect(e).toEqual({ sqlstate: 'XX000', message: 'gatehouse: internal error (GH_ERR_INTERNAL)' });
    expect(pgErrorFor(new GatehouseError('GH_ERR_RECORDING_FAILED', 'disk full'), 'session')).toEqual({ sqlstate: '57P01', message: 'gatehouse: disk full (GH_ERR_RECORDING_FAILED)' });
  });

  it('start-up failures map through the one table: unclassified is a protocol violation, a timeout a connection failure, internals stay hidden', () => {
    expect(pgStartupError(new Error('socket hang up'))).toMatchObject({ sqlstate: '08P01', message: 'gatehouse: socket hang up (GH_ERR_REQUEST_INVALID)' });
    expect(pgStartupError(new GatehouseError('GH_ERR_UPSTREAM_TIMEOUT', 'late'))).toMatchObject({ sqlstate: '08006' });
    expect(pgStartupError(new GatehouseError('GH_ERR_SHUTTING_DOWN', 'bye'))).toMatchObject({ sqlstate: '57P03' });
    expect(pgStartupError(new GatehouseError('GH_ERR_INTERNAL', 'at /srv/x.ts:12'))).toMatchObject({ sqlstate: 'XX000', message: 'gatehouse: internal error (GH_ERR_INTERNAL)' });
  });

  it('a refused password is 28P01, an unreachable issuer 08006, an internal failure hides its text', () => {
    expect(pgLoginError(new GatehouseError('GH_ERR_TOKEN_EXPIRED', 'token expired'), 'ada')).toMatchObject({ sqlstate: '28P01', message: expect.stringContaining('password authentication failed for user "ada"') });
    expect(pgLoginError(new GatehouseError('GH_ERR_ISSUER_UNAVAILABLE', 'jwks down'), 'ada').sqlstate).toBe('08006');
    const internal = pgLoginError(new GatehouseError('GH_ERR_INTERNAL', 'at /srv/x.ts:12'), 'ada');
    expect(internal.sqlstate).toBe('XX000');
    expect(internal.message).not.toContain('/srv');
  });

  it('no protocol branches on an error code by prefix', async () => {
    const offenders: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const d of await readdir(dir, { withFileTypes: true })) {
        const p = join(dir, d.name);
        if (d.isDirectory()) await walk(p);
        else if (d.name.endsWith('.ts')) {
          (await readFile(p, 'utf8')).split('\n').forEach((line, i) => {
            if (/\.code\.(startsWith|endsWith|includes)\(/.test(line)) offenders.push(`${p.slice(PROTOCOLS.length + 1)}:${i + 1}`);
          });
        }
      }
    };
    await walk(PROTOCOLS);
    expect(offenders).toEqual([]);
  });
});
