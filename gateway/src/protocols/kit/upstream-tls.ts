import { readFile } from 'node:fs/promises';
import { GatehouseError, type ErrorCode } from '../../errors';
import type { SecretProvider } from '../../pipeline/types';

/** `env:NAME`, `file:/path`, `aws-sm:…`: a secret reference, not a file path. */
const SECRET_REF = /^[a-z][a-z0-9-]*:.+/;

/**
 * Reads a PEM (an upstream CA bundle, a listener's certificate or key) given either as a secret
 * reference or as a file path: the one reader for every listener and every upstream dial. An
 * unreadable file throws `unreadable` naming the reference (never the content): a listener's own
 * certificate is configuration (GH_ERR_CONFIG_UNREADABLE), an upstream CA a secret the gateway
 * needs at run time (GH_ERR_SECRET_UNAVAILABLE, the default).
 */
export async function readPemReference(
  ref: string,
  secrets: SecretProvider,
  unreadable: Extract<ErrorCode, 'GH_ERR_SECRET_UNAVAILABLE' | 'GH_ERR_CONFIG_UNREADABLE'> = 'GH_ERR_SECRET_UNAVAILABLE',
): Promise<string> {
  if (SECRET_REF.test(ref)) return secrets.get(ref);
  try {
    return await readFile(ref, 'utf8');
  } catch (e) {
    throw new GatehouseError(unreadable, `cannot read ${ref}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e });
  }
}

/** A listener's certificate or key: unreadable is a configuration error. */
export function readListenerPem(ref: string, secrets: SecretProvider): Promise<string> {
  return readPemReference(ref, secrets, 'GH_ERR_CONFIG_UNREADABLE');
}

/**
 * Upstream CA bundles, read once per reference on first use and shared by every connection that
 * names it; a failed read is forgotten, so the next use tries again (the file may appear, the
 * secret store may come back). One helper for every protocol that dials TLS upstream.
 */
export class UpstreamCaCache {
  private readonly cas = new Map<string, Promise<string>>();

  constructor(private readonly secrets: SecretProvider) {}

  /** The CA bundle of `ref`, or undefined without one (the system's roots apply). */
  get(ref: string | undefined): Promise<string | undefined> {
    if (ref === undefined) return Promise.resolve(undefined);
    let p = this.cas.get(ref);
    if (p === undefined) {
      p = readPemReference(ref, this.secrets);
      this.cas.set(ref, p);
      p.catch(() => this.cas.delete(ref));
    }
    return p;
  }
}
