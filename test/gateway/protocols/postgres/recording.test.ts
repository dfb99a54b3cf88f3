import { Writable } from 'node:stream';
import pg from 'pg';
import { createLogger } from '../../../../gateway/src/observability/logger';
import { DEFAULT_POLICY, startPgTestEnv, type PgTestEnv } from '../../../support/pg-gateway';

/**
 * What PostgreSQL records after a statement was forwarded goes through the session seam's
 * `recordOutcome` (connection.ts records nothing itself): a result that cannot be stored is logged
 * by the pipeline under its type, counted by the recorder, and ends the connection, so no further
 * statement of it reaches the server even once the log store is back (real PostgreSQL 15, the
 * whole gateway, strict recording).
 */
describe('postgres: outcomes after forwarding go through session.recordOutcome', () => {
  let env: PgTestEnv;
  const lines: Record<string, unknown>[] = [];
  beforeAll(async () => {
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    env = await startPgTestEnv({ policy: DEFAULT_POLICY, recordingMode: 'strict', start: { logger: createLogger({ level: 'warn', destination }) } });
    // The server's own count of the statements that reached it (nextval is never rolled back).
    await env.direct('create sequence outcome_ops; grant usage, select on sequence outcome_ops to gh_app');
  }, 60000);
  afterAll(async () => {
    await env?.stop();
  });

  const reached = async (): Promise<number> => {
    const r = await env.direct('select last_value, is_called from outcome_ops');
    return r.rows[0].is_called ? Number(r.rows[0].last_value) : 0;
  };

  test('a pg.result the log store cannot take is counted, logged as pg.result, and ends the connection before its next statement', async () => {
    const recorder = env.gw.gateway.recorder;
    const c = new pg.Client(env.clientConfig(await env.token()));
    let ended: string | undefined;
    c.on('error', (e) => (ended ??= String((e as { code?: string }).code)));
    await c.connect();
    expect((await c.query("select nextval('outcome_ops') as n")).rows).toEqual([{ n: '1' }]);

    // A slow statement: its pg.query is durable and it is on the server before the store fails.
    const slow = c.query("select nextval('outcome_ops') as n, pg_sleep(0.5)");
    for (let i = 0; i < 100 && (await reached()) < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await reached()).toBe(2);
    const sink = env.gw.gateway.sink as { put: (k: string, b: Uint8Array) => Promise<void>; append?: (k: string, b: Uint8Array) => Promise<void> };
    const [put, append] = [sink.put, sink.append];
    const fail = () => Promise.reject(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }));
    const refusedBefore = recorder.stats().eventsRefused;
    sink.put = fail;
    if (append !== undefined) sink.append = fail;
    try {
      // A login with a token the issuer never signed: its auth.failure meets the failing store,
      // and the recorder turns unhealthy while the slow statement still runs.
      await expect(new pg.Client(env.clientConfig('not-a-token')).connect()).rejects.toMatchObject({ code: '28P01' });
      expect(recorder.stats().healthy).toBe(false);
      // The rows were already on their way: the client has them.
      expect((await slow).rows[0]).toMatchObject({ n: '2' });
    } finally {
      sink.put = put;
      if (append !== undefined) sink.append = append;
    }
    // Counted by the recorder, and logged by the pipeline's recordOutcome under the event's type.
    expect(recorder.stats().eventsRefused).toBeGreaterThan(refusedBefore);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'recording failed after forwarding', type: 'pg.result', code: 'GH_ERR_RECORDING_FAILED' }));

    // The store is back and the recorder healthy again; this connection stays ended all the same.
    for (let i = 0; i < 100 && !recorder.stats().healthy; i++) {
      await recorder.flush().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(recorder.stats().healthy).toBe(true);
    await expect(c.query("select nextval('outcome_ops') as n")).rejects.toBeDefined();
    expect(ended).toBe('57P01');
    expect(await reached()).toBe(2);
    await c.end().catch(() => undefined);

    // A new connection works: the failure stopped the traffic it described, not the gateway.
    const fresh = new pg.Client(env.clientConfig(await env.token()));
    await fresh.connect();
    expect((await fresh.query("select nextval('outcome_ops') as n")).rows).toEqual([{ n: '3' }]);
    await fresh.end();
  }, 30000);
});
