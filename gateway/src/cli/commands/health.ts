import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import type { CommandIO } from '../io';

const DEFAULT_ADMIN = { address: '127.0.0.1', port: 9090 };

/**
 * `gatehouse health`: asks a gateway on this host whether it is live (`GET /healthz` on the admin
 * listener) and exits 0 when it answers 200, 1 otherwise. The container image's HEALTHCHECK: the
 * distroless base has no shell and no curl.
 *
 * The admin listener comes from --url, else from the same configuration `run` reads
 * (--config FILE, GATEHOUSE_CONFIG_YAML, GATEHOUSE_CONFIG), else 127.0.0.1:9090. Only
 * `listeners.admin` is read: a probe must not depend on secrets or stores being reachable.
 */
export async function healthCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { url: { type: 'string' }, config: { type: 'string' }, timeout: { type: 'string', default: '3' } },
    strict: true,
  });
  const seconds = Number(values.timeout);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 60) {
    io.err('gatehouse health: --timeout takes seconds between 0 and 60');
    return 2;
  }
  const url = values.url ? new URL(values.url) : new URL('/healthz', adminBase(values.config));
  const status = await probe(url, seconds * 1000);
  if (status === 200) {
    io.out(`${url.href}: live`);
    return 0;
  }
  io.err(`${url.href}: ${typeof status === 'number' ? `HTTP ${status}` : status}`);
  return 1;
}

/** The admin listener's base URL from the configuration `run` would use, listeners only. */
function adminBase(configPath: string | undefined): string {
  const source =
    configPath !== undefined
      ? readFileSync(configPath, 'utf8')
      : process.env.GATEHOUSE_CONFIG_YAML ?? (process.env.GATEHOUSE_CONFIG ? readFileSync(process.env.GATEHOUSE_CONFIG, 'utf8') : undefined);
  const admin = (source === undefined ? undefined : (parse(source) as { listeners?: { admin?: { address?: unknown; port?: unknown; tls?: unknown } } } | null)?.listeners?.admin) ?? {};
  const address = typeof admin.address === 'string' ? admin.address : DEFAULT_ADMIN.address;
  const port = typeof admin.port === 'number' ? admin.port : DEFAULT_ADMIN.port;
  // A wildcard listener is reached on loopback.
  const host = address === '0.0.0.0' ? '127.0.0.1' : address === '::' ? '::1' : address;
  return `${admin.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The response status, or why there was none. */
function probe(url: URL, timeoutMs: number): Promise<number | string> {
  return new Promise((resolve) => {
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    // The probe sends nothing secret and reads only the status of a listener on this host, whose
    // certificate names the service, not the loopback address it is reached on here.
    const req = request(url, { method: 'GET', timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => resolve(e.message));
    req.end();
  });
}
