import net from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configSchema } from '../../../../gateway/src/config/schema';
import type { ProtocolContext, ProtocolModule } from '../../../../gateway/src/protocols/kit/module';
import { StartedProtocols } from '../../../../gateway/src/protocols/kit/module';
import { httpModule, postgresModule, PROTOCOL_MODULES, sshModule } from '../../../../gateway/src/protocols/registry';

/** A minimal real protocol: a TCP listener that counts what it was asked to do. */
function tcpModule(name: string, log: string[], options: { configured?: boolean; fail?: boolean } = {}): ProtocolModule<{ port: number }, net.Server> {
  return {
    name,
    configure: () => (options.configured === false ? undefined : { port: 0 }),
    async start(section) {
      if (options.fail) throw new Error(`${name} cannot start`);
      const server = net.createServer((s) => s.end());
      await new Promise<void>((resolve) => server.listen(section.port, '127.0.0.1', resolve));
      log.push(`start ${name}`);
      return {
        handle: server,
        endpoint: `tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
        metrics: () => ({ connections: 0 }),
        close: async (graceMs) => {
          log.push(`close ${name} ${graceMs}`);
          await new Promise<void>((resolve) => server.close(() => resolve()));
        },
      };
    },
  };
}

const context = { config: {} } as unknown as ProtocolContext;

describe('protocol registry and StartedProtocols', () => {
  it('registers HTTP, PostgreSQL and SSH; PostgreSQL and SSH only when their listener is configured', () => {
    expect(PROTOCOL_MODULES.map((m) => m.name)).toEqual(['http', 'postgres', 'ssh']);
    const config = configSchema.parse({
      listeners: { http: { port: 0 }, admin: { port: 0 } },
      identity: { issuers: [{ name: 'corp', issuer: 'https://idp.example', audiences: ['gatehouse'] }] },
      connections: [{ name: 'a', kind: 'http', upstream: 'http://127.0.0.1:9', route: { pathPrefix: '/a' }, credential: { type: 'none' } }],
    });
    expect(httpModule.configure(config)).toMatchObject({ connections: [{ name: 'a' }] });
    expect(postgresModule.configure(config)).toBeUndefined();
    expect(sshModule.configure(config)).toBeUndefined();
  });

  it('starts configured modules in order, names their endpoints, hands out their handles and closes them all', async () => {
    const log: string[] = [];
    const a = tcpModule('a', log);
    const b = tcpModule('b', log, { configured: false });
    const started = await StartedProtocols.start([a, b], context);
    expect(started.get(a)).toBeInstanceOf(net.Server);
    expect(started.get(b)).toBeUndefined();
    expect(Object.keys(started.endpoints())).toEqual(['a']);
    await started.close(500);
    expect(log).toEqual(['start a', 'close a 500']);
    expect(started.get(a)!.listening).toBe(false);
  });

  it('starts whole or not at all: a failing module closes the ones already started', async () => {
    const log: string[] = [];
    const a = tcpModule('a', log);
    await expect(StartedProtocols.start([a, tcpModule('b', log, { fail: true })], context)).rejects.toThrow('b cannot start');
    expect(log).toEqual(['start a', 'close a 0']);
  });
});

describe('protocols drive the session only through its stages', () => {
  // admit, refuse, recordRequest and recordOutcome carry the durability rules (docs/protocols.md):
  // a protocol calling the session's or pipeline's raw record/authorize would bypass them. (An
  // HTTP dialect's `head.record?.(…)` is the exchange's seam, backed by those stages.)
  it('no file under gateway/src/protocols calls record, recordNow, authorize or tryAuthorizeSync', () => {
    const root = fileURLToPath(new URL('../../../../gateway/src/protocols', import.meta.url));
    const files = (readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(20);
    const calls: string[] = [];
    for (const file of files) {
      readFileSync(join(root, file), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          // Whatever holds a session or the pipeline (`session`, `r.session`, `this.options.pipeline`, `pgSession`).
          if (/\b\w*(?:session|Session|pipeline|Pipeline)\??\.(?:record|recordNow|authorize|tryAuthorizeSync)\s*(?:\?\.)?\(/.test(line)) calls.push(`${file}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(calls).toEqual([]);
  });
});
