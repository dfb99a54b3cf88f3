import type { GatehouseConfig } from '../config/schema';
import { ERROR_CODES, GatehouseError, type ErrorCode } from '../errors';

type Json = Record<string, unknown>;

/** One admin API call; a refusal becomes the GatehouseError the API answered with. */
export type AdminCall = (method: 'GET' | 'POST', path: string, body?: unknown) => Promise<Json>;

/** The configured admin listener as a URL a local CLI can reach (a wildcard bind means loopback). */
export function adminUrlOf(config: GatehouseConfig): string {
  const l = config.listeners.admin;
  const host = l.address === '0.0.0.0' || l.address === '::' ? '127.0.0.1' : l.address;
  return `${l.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${l.port}`;
}

/** A client for the admin API at `base`, authenticated with the caller's own token. */
export function adminClient(base: string, token: string): AdminCall {
  return async (method, path, body) => {
    let res: Response;
    try {
      res = await fetch(new URL(path, base), {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
    } catch {
      throw new GatehouseError('GH_ERR_STATE_UNAVAILABLE', `the gateway's admin API at ${base} did not answer (is the gateway running?)`);
    }
    const parsed = (await res.json().catch(() => ({}))) as Json;
    if (!res.ok) {
      const err = (parsed.error ?? {}) as { code?: string; message?: string };
      const code: ErrorCode = err.code !== undefined && err.code in ERROR_CODES ? (err.code as ErrorCode) : 'GH_ERR_INTERNAL';
      throw new GatehouseError(code, `admin API ${res.status}: ${err.message ?? res.statusText}`);
    }
    return parsed;
  };
}
