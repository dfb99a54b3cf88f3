import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { tlsListeners, type ConfigProblem } from '../config/load';
import { configSchema, secretRef, type GatehouseConfig } from '../config/schema';
import { isGatehouseError } from '../errors';
import { readExistingDevIssuer } from '../identity/dev-issuer';
import { createPolicyEngine, type CedarPolicyEngine, type PolicyLogger } from '../policy/engine';
import { packSources } from '../policy/packs';
import type { PolicyProblem, PolicySource } from '../policy/policy-set';
import type { SecretStore } from '../secrets';
import { readListenerPem } from '../protocols/kit/upstream-tls';
import { loadDigestSigner } from './signing-key';

/**
 * Everything `gatehouse run` checks before it listens, beyond the schema and cross-field rules of
 * config/load.ts: the resources the configuration points at. `startGateway` and
 * `gatehouse check-config` both call this one function, so the two cannot disagree; a new check
 * that start-up needs belongs here, not in startGateway.
 *
 * Every check runs (none stops the others) and each problem carries the configuration path it
 * comes from:
 * - policy files are read, the Cedar policies (inline, files, packs) parsed and validated by
 *   building the very engine the gateway then uses;
 * - every secret reference names a scheme a provider is registered for;
 * - the digest signing key resolves and is a usable key (in development without one: an existing
 *   generated key must be readable; a missing one is generated at start, not here);
 * - each listener's TLS certificate and key resolve and form a usable TLS context; a PostgreSQL
 *   upstream's CA bundle resolves and is PEM;
 * - the development issuer's key file, when it exists, is readable, private and well-formed (a
 *   missing one is created at start).
 * Not checked: whether the state database, the log store and the issuers answer (they are
 * services that may come up after the gateway; the gateway reports them while running).
 */
export interface PreflightResult {
  readonly problems: readonly ConfigProblem[];
  /** The policy engine built from the configuration, when the policies loaded. */
  readonly policy?: CedarPolicyEngine;
}

export interface PreflightOptions {
  /** The secret store the gateway runs with (createConfiguredSecrets). */
  readonly secrets: SecretStore;
  /** Where a generated development signing key is kept (startGateway decides it). */
  readonly devSigningKeyPath: string;
  /** Passed to the policy engine this builds. */
  readonly logger?: PolicyLogger;
}

export async function preflight(config: GatehouseConfig, options: PreflightOptions): Promise<PreflightResult> {
  const problems: ConfigProblem[] = [];
  const { secrets } = options;
  const add = (path: string, e: unknown) => problems.push({ path, message: messageOf(e) });

  for (const { path, ref } of secretReferences(config)) {
    // aws-kms:, azure-kv-key:, gcp-kms: name a key that signs in its service, not a secret to fetch (signing-key.ts).
    if (path === 'recording.signingKey' && /^(aws-kms|azure-kv-key|gcp-kms):/.test(ref)) continue;
    try {
      secrets.check(ref);
    } catch (e) {
      add(path, e);
    }
  }

  const [policy] = await Promise.all([
    policyEngine(config, problems, options.logger),
    loadDigestSigner(config, secrets, options.devSigningKeyPath, { generate: false }).catch((e: unknown) => add('recording.signingKey', e)),
    ...tlsListeners(config).map(async ([name, listener]) => {
      if (!listener?.tls) return;
      const [cert, key] = await Promise.all([
        readListenerPem(listener.tls.cert, secrets).catch((e: unknown) => void add(`listeners.${name}.tls.cert`, e)),
        readListenerPem(listener.tls.key, secrets).catch((e: unknown) => void add(`listeners.${name}.tls.key`, e)),
      ]);
      if (cert === undefined || key === undefined) return;
      try {
        createSecureContext({ cert, key });
      } catch (e) {
        // OpenSSL's message names the failure (bad PEM, key does not match); it holds no key material.
        add(`listeners.${name}.tls`, `the certificate and key do not form a TLS context: ${(e as Error).message}`);
      }
    }),
    ...config.connections.map(async (c, i) => {
      if (c.kind !== 'postgres' || c.upstream.tls.ca === undefined) return;
      const ref = c.upstream.tls.ca;
      let pem: string;
      try {
        pem = /^[a-z][a-z0-9-]*:.+/.test(ref) ? await secrets.get(ref) : await readFile(ref, 'utf8');
      } catch (e) {
        add(`connections.${i}.upstream.tls.ca`, isGatehouseError(e) ? e : `cannot read CA file ${ref}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
        return;
      }
      try {
        new X509Certificate(pem);
      } catch {
        add(`connections.${i}.upstream.tls.ca`, 'not a PEM certificate');
      }
    }),
    (async () => {
      if (!config.identity.devIssuer.enabled) return;
      try {
        await readExistingDevIssuer(config.identity.devIssuer.keyPath);
      } catch (e) {
        if (!(isGatehouseError(e) && e.code === 'GH_ERR_DEV_ISSUER_UNAVAILABLE')) add('identity.devIssuer.keyPath', e);
      }
    })(),
  ]);
  // Checks finish in any order; the report is stable (by path, then message).
  problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.message < b.message ? -1 : a.message > b.message ? 1 : 0));
  return { problems, policy };
}

/** The policy sources of a configuration, in order: inline, files, packs. */
async function policySources(config: GatehouseConfig, problems: ConfigProblem[]): Promise<PolicySource[] | undefined> {
  const sources: PolicySource[] = [];
  if (config.policy.cedar) sources.push({ name: 'config:policy.cedar', text: config.policy.cedar });
  let readable = true;
  await Promise.all(
    config.policy.files.map(async (file, i) => {
      try {
        sources[i + 1] = { name: file, text: await readFile(file, 'utf8') };
      } catch (e) {
        readable = false;
        problems.push({ path: `policy.files.${i}`, message: `cannot read policy file ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}` });
      }
    }),
  );
  if (!readable) return undefined;
  // Built-in guardrail packs (they classify as review or deny, never grant).
  return [...sources.filter((s) => s !== undefined), ...packSources(config.policy.packs)];
}

async function policyEngine(config: GatehouseConfig, problems: ConfigProblem[], logger?: PolicyLogger): Promise<CedarPolicyEngine | undefined> {
  const sources = await policySources(config, problems);
  if (sources === undefined) {
    // Parse what can be read, so Cedar errors in the other sources are reported in this pass too.
    const readable: PolicySource[] = [];
    if (config.policy.cedar) readable.push({ name: 'config:policy.cedar', text: config.policy.cedar });
    await Promise.all(config.policy.files.map(async (file) => readFile(file, 'utf8').then((text) => readable.push({ name: file, text }), () => undefined)));
    tryEngine(config, readable, problems, logger)?.close();
    return undefined;
  }
  return tryEngine(config, sources, problems, logger);
}

function tryEngine(config: GatehouseConfig, sources: PolicySource[], problems: ConfigProblem[], logger?: PolicyLogger): CedarPolicyEngine | undefined {
  try {
    return createPolicyEngine({ policies: sources, logger });
  } catch (e) {
    const details = isGatehouseError(e) ? (e.details as { problems?: PolicyProblem[] } | undefined) : undefined;
    if (details?.problems) {
      for (const p of details.problems) {
        problems.push({ path: policyPath(config, p.source), message: `${p.source}${p.line === undefined ? '' : `:${p.line}:${p.column ?? 1}`}: ${p.message}` });
      }
    } else {
      problems.push({ path: 'policy', message: messageOf(e) });
    }
    return undefined;
  }
}

function policyPath(config: GatehouseConfig, source: string): string {
  if (source === 'config:policy.cedar') return 'policy.cedar';
  const i = config.policy.files.indexOf(source);
  return i >= 0 ? `policy.files.${i}` : 'policy.packs';
}

/**
 * Every value of the configuration that the schema declares a secret reference, with its path:
 * found by walking the schema beside the value, so a string that only looks like `scheme:…`
 * (a host and port, a URL) is never mistaken for one.
 */
export function secretReferences(config: GatehouseConfig): { path: string; ref: string }[] {
  const found: { path: string; ref: string }[] = [];
  walk(configSchema, config, [], found);
  return found;
}

interface Def {
  readonly type: string;
  readonly innerType?: SchemaLike;
  readonly shape?: Record<string, SchemaLike>;
  readonly element?: SchemaLike;
  readonly options?: readonly SchemaLike[];
  readonly valueType?: SchemaLike;
  readonly in?: SchemaLike;
  readonly getter?: () => SchemaLike;
}
interface SchemaLike {
  readonly _zod: { readonly def: Def };
  safeParse(value: unknown): { success: boolean };
}

function walk(schema: SchemaLike, value: unknown, path: string[], found: { path: string; ref: string }[]): void {
  if (value === undefined || value === null) return;
  if ((schema as unknown) === secretRef) {
    if (typeof value === 'string') found.push({ path: path.join('.'), ref: value });
    return;
  }
  const def = schema._zod.def;
  switch (def.type) {
    case 'optional':
    case 'default':
    case 'nullable':
    case 'readonly':
    case 'catch':
    case 'prefault':
      if (def.innerType) walk(def.innerType, value, path, found);
      return;
    case 'pipe':
      if (def.in) walk(def.in, value, path, found);
      return;
    case 'lazy':
      if (def.getter) walk(def.getter(), value, path, found);
      return;
    case 'object':
      if (typeof value === 'object' && def.shape) {
        for (const [key, sub] of Object.entries(def.shape)) walk(sub, (value as Record<string, unknown>)[key], [...path, key], found);
      }
      return;
    case 'array':
      if (Array.isArray(value) && def.element) value.forEach((v, i) => walk(def.element!, v, [...path, String(i)], found));
      return;
    case 'record':
      if (typeof value === 'object' && def.valueType) {
        for (const [key, v] of Object.entries(value as Record<string, unknown>)) walk(def.valueType, v, [...path, key], found);
      }
      return;
    case 'union': {
      // The options that accept the value; a value another option also accepts (an https URL
      // beside a reference) is that option's, not a reference.
      const accepting = (def.options ?? []).filter((o) => o.safeParse(value).success);
      const others = accepting.filter((o) => (o as unknown) !== secretRef);
      if (others.length === 0 && accepting.length > 0) walk(accepting[0]!, value, path, found);
      else for (const o of others) walk(o, value, path, found);
      return;
    }
    default:
      return;
  }
}

function messageOf(e: unknown): string {
  if (typeof e === 'string') return e;
  if (isGatehouseError(e)) return `${e.message} [${e.code}]`;
  return e instanceof Error ? e.message : String(e);
}
