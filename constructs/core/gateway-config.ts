import { stringify } from 'yaml';

/**
 * The gateway configuration document as the constructs assemble it: the same shape as
 * `gateway/src/config/schema.ts`, with CDK tokens in place of values known only at deploy time.
 * Kept loose on purpose: the gateway validates the document at start and refuses a bad one.
 */
export type GatewayConfigDocument = { readonly [key: string]: unknown };

/**
 * Renders the document as YAML. Tokens are opaque strings here and CloudFormation substitutes
 * them; line folding is off so a token is never split across lines.
 */
export function renderGatewayConfig(doc: GatewayConfigDocument): string {
  return stringify(doc, { lineWidth: 0, minContentWidth: 0 });
}

/**
 * Helpers every cloud's composite construct uses to build the document (cloud-neutral: the
 * Azure and GCP kits import them too). Issuers and connections are typed structurally so each kit
 * keeps its own props with cloud-specific extras.
 */
export interface IssuerEntry {
  readonly name: string;
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly options?: GatewayConfigDocument;
}

export interface ConnectionEntry {
  readonly name: string;
  readonly spec: GatewayConfigDocument;
}

/** True when the connection injects a credential, so the kit must hold a secret for it. */
export function needsSecret(connection: ConnectionEntry): boolean {
  const credential = (connection.spec as { credential?: { type?: unknown } }).credential;
  return credential !== undefined && credential.type !== 'none';
}

/**
 * The connection's gateway config, its credential pointing at the secret the kit manages.
 * @param secretReference the secret reference the gateway resolves (e.g. `aws-sm:<arn>`)
 * @param existingSecretHint how the user gives an existing secret instead (for the error message)
 */
export function connectionConfig(connection: ConnectionEntry, secretReference: () => string, existingSecretHint: string): GatewayConfigDocument {
  const spec = connection.spec as { credential?: Record<string, unknown> };
  if ('name' in connection.spec) throw new Error(`Gatehouse: connection "${connection.name}" repeats its name inside spec; give it once`);
  if (spec.credential && 'secret' in spec.credential) {
    throw new Error(`Gatehouse: connection "${connection.name}" sets credential.secret; the kit manages it (${existingSecretHint})`);
  }
  const credential = spec.credential && spec.credential.type !== 'none' ? { ...spec.credential, secret: secretReference() } : spec.credential;
  return { name: connection.name, ...connection.spec, ...(credential ? { credential } : {}) };
}

/** The issuer's gateway config; a resolved issuer must be an https URL. */
export function issuerConfig(issuer: IssuerEntry, isUnresolved: (value: unknown) => boolean): GatewayConfigDocument {
  if (!isUnresolved(issuer.issuer) && !/^https:\/\//.test(issuer.issuer)) {
    throw new Error(`Gatehouse: issuer "${issuer.name}" must be an https URL, got "${issuer.issuer}"`);
  }
  return { ...(issuer.options ?? {}), name: issuer.name, issuer: issuer.issuer, audiences: [...issuer.audiences] };
}

export function validateUniqueNames(what: string, names: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new Error(`Gatehouse: ${what} "${name}" is given more than once`);
    seen.add(name);
  }
}

/**
 * The document's `tuning` entry (to spread into it), empty when no tuning prop is set so the
 * gateway's defaults apply. Checked at synth: a bad value fails the synth, not the first start.
 */
export function tuningConfig(busyPollMicroseconds: number | undefined): GatewayConfigDocument {
  if (busyPollMicroseconds === undefined) return {};
  if (!Number.isInteger(busyPollMicroseconds) || busyPollMicroseconds < 0 || busyPollMicroseconds > 10_000) {
    throw new Error(`Gatehouse: busyPollMicroseconds must be a whole number from 0 to 10000, got ${busyPollMicroseconds}`);
  }
  return { tuning: { busyPollMicroseconds } };
}
