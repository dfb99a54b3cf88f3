import pg from 'pg';
import { DEFAULT_POLICY, startPgTestEnv } from '../../support/pg-gateway';
import { startTestGateway } from '../../support/gateway';
import { startTestIssuer } from '../../support/oidc-issuer';
import { protocolConformance } from '../../support/protocol-conformance';
import { startEcho } from '../../support/upstreams';

/** Every registered protocol passes the same conformance suite (test/support/protocol-conformance.ts). */

const HTTP_POLICY = `
@id("developers")
permit (principal in Gatehouse::Group::"developers", action, resource);

@id("no-deletes")
forbid (principal, action == Gatehouse::Action::"http:DELETE", resource);
`;

protocolConformance({
  name: 'http',
  native: { forbidden: '403', badToken: '401', recordingFailed: '503' },
  async start() {
    const issuer = await startTestIssuer();
    const echo = await startEcho();
    const gw = await startTestGateway(() => ({
      identity: { issuers: [{ name: 'corp', issuer: issuer.issuer, audiences: ['gatehouse'], algorithms: ['RS256'] }] },
      policy: { cedar: HTTP_POLICY },
      recording: { mode: 'strict' },
      connections: [{ name: 'echo', kind: 'http', upstream: echo.url, route: { pathPrefix: '/echo' } }],
    }));
    const token = await issuer.mintToken({ sub: 'ada', groups: ['developers'] });
    const call = async (method: string, bearer: string): Promise<string> => {
      const res = await fetch(`${gw.url}/echo/items/1`, { method, headers: { authorization: `Bearer ${bearer}` } });
      await res.arrayBuffer();
      return String(res.status);
    };
    return {
      gateway: gw.gateway,
      allowed: async () => {
        expect(await call('GET', token)).toBe('200');
      },
      forbidden: () => call('DELETE', token),
      attempt: async () => {
        const status = await call('GET', token);
        return status === '200' ? 'ok' : status;
      },
      badToken: () => call('GET', `${token.slice(0, -4)}AAAA`),
      stop: async () => {
        await gw.stop();
        await echo.close();
        await issuer.close();
      },
    };
  },
});

protocolConformance({
  name: 'postgres',
  native: { forbidden: '42501', badToken: '28P01', recordingFailed: '57P03' },
  async start() {
    const env = await startPgTestEnv({ policy: DEFAULT_POLICY, recordingMode: 'strict' });
    const token = await env.token(['developers']);
    const clients: pg.Client[] = [];
    const connect = async (password: string): Promise<pg.Client> => {
      const c = new pg.Client(env.clientConfig(password));
      c.on('error', () => undefined);
      clients.push(c);
      await c.connect();
      return c;
    };
    let client: pg.Client | undefined;
    const session = async () => (client ??= await connect(token));
    const codeOf = (e: unknown) => String((e as { code?: string }).code);
    return {
      gateway: env.gw.gateway,
      allowed: async () => {
        expect((await (await session()).query('select 1 as one')).rows).toEqual([{ one: 1 }]);
      },
      forbidden: async () => {
        const c = await session();
        return c.query('delete from pg_class where false').then(() => 'no error', codeOf);
      },
      attempt: async () => {
        try {
          const c = await connect(token);
          await c.query('select 1');
          return 'ok';
        } catch (e) {
          return codeOf(e);
        }
      },
      badToken: () => connect(`${token.slice(0, -4)}AAAA`).then(() => 'connected', codeOf),
      stop: async () => {
        await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
        await env.stop();
      },
    };
  },
});
