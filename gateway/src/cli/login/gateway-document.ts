import { GatehouseError } from '../../errors';
import type { WellKnownDocument } from '../../server/well-known';

/** Reads and checks a gateway's `/.well-known/gatehouse` (also used by `setup` and `doctor`). */
export async function fetchWellKnown(gateway: string, fetchImpl: typeof fetch = fetch): Promise<WellKnownDocument> {
  const url = `${gateway}/.well-known/gatehouse`;
  let response: Response;
  try {
    response = await fetchImpl(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(10_000), redirect: 'error' });
  } catch (e) {
    throw new GatehouseError('GH_ERR_LOGIN_GATEWAY', `cannot reach ${url}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!response.ok) throw new GatehouseError('GH_ERR_LOGIN_GATEWAY', `${url} answered ${response.status} (is this a Gatehouse gateway?)`);
  const doc = (await response.json().catch(() => undefined)) as WellKnownDocument | undefined;
  if (!doc || doc.gatehouse !== 1 || typeof doc.login !== 'object' || doc.login === null) {
    throw new GatehouseError('GH_ERR_LOGIN_GATEWAY', `${url} is not a Gatehouse document`);
  }
  if (doc.login.configured && (typeof doc.login.issuer !== 'string' || typeof doc.login.clientId !== 'string' || !Array.isArray(doc.login.scopes))) {
    throw new GatehouseError('GH_ERR_LOGIN_GATEWAY', `${url} has an incomplete login block`);
  }
  return doc;
}
