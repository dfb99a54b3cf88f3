import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { GatehouseError } from '../errors';
import { DEV_ISSUER_NAME } from '../identity/dev-issuer';
import { prepareMasking } from '../masking/masking-policy';
import { checkPackSelection } from '../policy/packs';
import { configSchema, type GatehouseConfig, type ListenerConfig, type MaskingConfig } from './schema';

/** One problem found in a configuration, with its dotted path (e.g. `connections.0.upstream`). */
export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
  /** 1-based line in the YAML source, when known. */
  readonly line?: number;
}

export type ConfigResult =
  | { readonly ok: true; readonly config: GatehouseConfig; readonly warnings: readonly string[] }
  | {
      readonly ok: false;
      readonly problems: readonly ConfigProblem[];
      /** Present when only cross-field rules failed: the resource checks (preflight) can still run on it. */
      readonly config?: GatehouseConfig;
    };

/**
 * Parses and validates a YAML configuration, collecting every problem at once (YAML syntax,
 * schema, and cross-field rules) rather than stopping at the first.
 */
export function parseConfig(source: string): ConfigResult {
  const doc = parseDocument(source, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => ({ path: '', message: `YAML: ${e.message.split('\n')[0]}`, line: e.linePos?.[0]?.line })),
    };
  }
  const raw = doc.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, problems: [{ path: '', message: 'expected a mapping at the top level' }] };
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((issue) => {
        const path = issue.path.map(String).join('.');
        return { path, message: issue.message, line: lineOf(doc, source, issue.path) };
      }),
    };
  }
  const problems = crossCheck(parsed.data);
  if (problems.length > 0) return { ok: false, problems, config: parsed.data };
  return { ok: true, config: parsed.data, warnings: warningsFor(parsed.data) };
}

/**
 * For a configuration the schema refuses: the top-level sections that are valid on their own,
 * with every other section at its default, so the resource checks (server/preflight.ts) can
 * still run on what is sound and `check-config` lists their problems in the same pass. Problems
 * the caller reports must come from a section in `sound`. Undefined when the YAML does not
 * parse or `mode` itself is invalid (what is required depends on it).
 */
export function soundSections(source: string): { readonly config: GatehouseConfig; readonly sound: ReadonlySet<string> } | undefined {
  const doc = parseDocument(source, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) return undefined;
  const raw = (doc.toJS() ?? {}) as Record<string, unknown>;
  if (typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const shape = configSchema.shape as Record<string, { safeParse(v: unknown): { success: boolean; data?: unknown } }>;
  const config: Record<string, unknown> = {};
  const sound = new Set<string>();
  for (const [key, schema] of Object.entries(shape)) {
    const own = schema.safeParse(raw[key]);
    if (own.success) {
      config[key] = own.data;
      sound.add(key);
      continue;
    }
    if (key === 'mode') return undefined;
    const fallback = schema.safeParse(undefined);
    if (!fallback.success) return undefined;
    config[key] = fallback.data;
  }
  return { config: config as GatehouseConfig, sound };
}

/** Rules that span fields; the schema checks each field alone. */
function crossCheck(config: GatehouseConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const unique = (items: readonly { name: string }[], base: string) => {
    const seen = new Map<string, number>();
    items.forEach((item, i) => {
      const first = seen.get(item.name);
      if (first !== undefined) problems.push({ path: `${base}.${i}.name`, message: `duplicate name "${item.name}" (also at ${base}.${first})` });
      else seen.set(item.name, i);
    });
  };
  unique(config.connections, 'connections');
  unique(config.identity.issuers, 'identity.issuers');

  // Masking rules compile here too, so a bad pattern or path is reported with the others.
  for (const message of checkPackSelection(config.policy.packs)) problems.push({ path: 'policy.packs', message });
  if (config.masking !== undefined) problems.push(...maskingProblems(config.masking, 'masking', 'default'));
  config.connections.forEach((c, i) => {
    // An ssh connection without the SSH listener would validate and then silently serve nothing.
    if (c.kind === 'ssh' && config.listeners.ssh === undefined) problems.push({ path: `connections.${i}.kind`, message: `connection "${c.name}": ssh connections need listeners.ssh (docs/ssh.md)` });
    const m = (c as { masking?: MaskingConfig }).masking;
    if (m !== undefined) problems.push(...maskingProblems(m, `connections.${i}.masking`, c.name));
    // PostgreSQL result rows are masked but their originals are not kept yet: refuse the setting
    // rather than silently not honouring it.
    const effective = m ?? config.masking;
    if (c.kind === 'postgres' && effective?.storeOriginals === true && effective.enabled !== false) {
      problems.push({
        path: m !== undefined ? `connections.${i}.masking.storeOriginals` : 'masking.storeOriginals',
        message: `storeOriginals is not supported on PostgreSQL connections yet (connection "${c.name}"); give it a masking block without storeOriginals`,
      });
    }
  });

  // The CLI presents an ID token, whose `aud` is the client id: a client id the issuer's audiences
  // do not list would make every `gatehouse login` produce a token this gateway refuses.
  if (config.login) {
    const issuer = config.identity.issuers.find((i) => i.name === config.login!.issuer);
    if (!issuer) problems.push({ path: 'login.issuer', message: `no identity.issuers entry is named "${config.login.issuer}"` });
    else if (issuer.kind !== 'human') problems.push({ path: 'login.issuer', message: `identity issuer "${issuer.name}" is a workload issuer; people log in with a human one` });
    else if (!issuer.audiences.includes(config.login.clientId)) {
      problems.push({ path: 'login.clientId', message: `"${config.login.clientId}" is not among identity issuer "${issuer.name}"'s audiences, so the ID tokens login obtains would be refused` });
    }
  }

  // The SSH device sign-in presents the ID token it obtains to the gateway's own verifier: an
  // issuer it does not trust for people, or a client id not among its audiences, would make every
  // sign-in end refused.
  const device = config.listeners.ssh?.deviceLogin;
  if (device !== undefined) {
    const issuer = config.identity.issuers.find((i) => i.name === device.issuer);
    if (!issuer) problems.push({ path: 'listeners.ssh.deviceLogin.issuer', message: `no identity.issuers entry is named "${device.issuer}"` });
    else if (issuer.kind !== 'human') problems.push({ path: 'listeners.ssh.deviceLogin.issuer', message: `identity issuer "${issuer.name}" is a workload issuer; people sign in with a human one` });
    else if (!issuer.audiences.includes(device.clientId)) {
      problems.push({ path: 'listeners.ssh.deviceLogin.clientId', message: `"${device.clientId}" is not among identity issuer "${issuer.name}"'s audiences, so the ID tokens the device sign-in obtains would be refused` });
    }
    if (!device.scopes.includes('openid')) problems.push({ path: 'listeners.ssh.deviceLogin.scopes', message: 'the scopes must include "openid": the ID token is the credential' });
  }

  const prefixes = new Map<string, number>();
  config.connections.forEach((c, i) => {
    if (c.kind !== 'http' && c.kind !== 'git') return;
    // git connections are served on the HTTP listener by path prefix, so they share its routes.
    const key = c.kind === 'git' ? `*|${c.route.pathPrefix ?? `/git/${c.name}`}` : `${c.route.host ?? '*'}|${c.route.pathPrefix ?? '/'}`;
    const first = prefixes.get(key);
    if (first !== undefined) problems.push({ path: `connections.${i}.route`, message: `same route as connections.${first}` });
    else prefixes.set(key, i);
  });

  // PostgreSQL clients choose a connection by database name: each name selects one connection.
  const databases = new Map<string, number>();
  config.connections.forEach((c, i) => {
    if (c.kind !== 'postgres') return;
    for (const db of c.databases ?? [c.name]) {
      const first = databases.get(db);
      if (first !== undefined) problems.push({ path: `connections.${i}.databases`, message: `database name "${db}" also selects connections.${first}` });
      else databases.set(db, i);
    }
  });
  const pgListener = config.listeners.postgres;
  if (pgListener && !pgListener.tls && !pgListener.allowPlaintext) {
    problems.push({ path: 'listeners.postgres.tls', message: 'the PostgreSQL listener needs tls (cert and key), or allowPlaintext: true for loopback development' });
  }

  if (config.mode === 'production') {
    // Discovery and keys fetched over plain HTTP can be swapped by anyone on the path: every token
    // would then be "verified" against an attacker's keys.
    config.identity.issuers.forEach((issuer, i) => {
      if (/^http:/i.test(issuer.issuer)) problems.push({ path: `identity.issuers.${i}.issuer`, message: 'an http:// issuer is refused in production mode (its discovery and keys must come over https://)' });
      if (issuer.jwksUri !== undefined && /^http:/i.test(issuer.jwksUri)) problems.push({ path: `identity.issuers.${i}.jwksUri`, message: 'an http:// JWKS URL is refused in production mode (use https://)' });
    });
    if (config.identity.devIssuer.enabled) {
      problems.push({ path: 'identity.devIssuer.enabled', message: 'the development issuer is refused in production mode (set mode: development for local use)' });
    }
    if (!config.recording.signingKey) {
      problems.push({ path: 'recording.signingKey', message: 'production needs a signing key reference for digests (e.g. "file:/run/secrets/gatehouse-signing-key")' });
    }
    for (const [name, listener] of tlsListeners(config)) {
      if (listener && !listener.tls && !listener.allowPlaintext) {
        problems.push({ path: `listeners.${name}.tls`, message: 'TLS is required (give tls.cert and tls.key, or set allowPlaintext: true explicitly)' });
      }
    }
  }
  for (const [name, listener] of tlsListeners(config)) {
    if (listener && !listener.tls && !listener.allowPlaintext && config.mode === 'development' && !isLoopback(listener.address)) {
      problems.push({ path: `listeners.${name}.tls`, message: `plaintext on non-loopback address ${listener.address} needs allowPlaintext: true` });
    }
  }
  problems.push(...consoleProblems(config));
  if (config.identity.issuers.length === 0 && !config.identity.devIssuer.enabled) {
    problems.push({ path: 'identity.issuers', message: 'at least one trusted issuer is required (or identity.devIssuer.enabled in development mode)' });
  }
  return problems;
}

/** The console needs an issuer to log in with, a client and where browsers reach it. */
function consoleProblems(config: GatehouseConfig): ConfigProblem[] {
  const c = config.console;
  if (!c.enabled) return config.listeners.console === undefined ? [] : [{ path: 'listeners.console', message: 'a console listener is configured but console.enabled is false' }];
  const problems: ConfigProblem[] = [];
  if (c.issuer === DEV_ISSUER_NAME) {
    // The development issuer: people name themselves on a form (admin/console/dev-login.ts); no client.
    if (!config.identity.devIssuer.enabled) problems.push({ path: 'console.issuer', message: 'console.issuer: dev logs people in with the development issuer: it needs identity.devIssuer.enabled (development mode only)' });
  } else if (c.issuer === undefined) problems.push({ path: 'console.issuer', message: 'the console needs the name of an identity.issuers entry to log people in with (or dev, the development issuer, in development mode)' });
  else if (!config.identity.issuers.some((i) => i.name === c.issuer)) problems.push({ path: 'console.issuer', message: `no identity.issuers entry is named "${c.issuer}"` });
  if (c.issuer !== DEV_ISSUER_NAME && c.clientId === undefined) problems.push({ path: 'console.clientId', message: "the console needs its OAuth client id at the issuer" });
  else if (c.issuer !== DEV_ISSUER_NAME && c.clientId !== undefined) {
    const issuer = config.identity.issuers.find((i) => i.name === c.issuer);
    // The ID token's aud is the client id; the gateway's own verifier must accept it.
    if (issuer !== undefined && !issuer.audiences.includes(c.clientId)) problems.push({ path: 'console.clientId', message: `"${c.clientId}" must also be one of identity.issuers (${issuer.name}).audiences: the ID token's audience is the client id` });
  }
  if (c.externalUrl === undefined) problems.push({ path: 'console.externalUrl', message: 'the console needs the URL browsers reach the admin listener at (its redirect URI is <externalUrl>/console/callback)' });
  else if (config.mode === 'production' && !/^https:/i.test(c.externalUrl)) problems.push({ path: 'console.externalUrl', message: 'production needs an https:// console URL (its cookies are Secure)' });
  if (config.mode === 'production' && c.sessionKey === undefined) problems.push({ path: 'console.sessionKey', message: 'production needs a session key reference (32 bytes or more) to encrypt console cookies' });
  return problems;
}

function maskingProblems(masking: MaskingConfig, path: string, connection: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (masking.storeOriginals && masking.originalsKey === undefined) {
    problems.push({ path: `${path}.originalsKey`, message: 'storeOriginals: true needs originalsKey (a secret reference to a 32-byte key)' });
  }
  try {
    prepareMasking({ ...masking, storeOriginals: false }, { connection });
  } catch (e) {
    problems.push({ path, message: e instanceof Error ? e.message : String(e) });
  }
  return problems;
}

function warningsFor(config: GatehouseConfig): string[] {
  const warnings: string[] = [];
  if (config.mode === 'development') {
    warnings.push('DEVELOPMENT MODE: development shortcuts are allowed; never run this configuration in production');
    if (config.identity.devIssuer.enabled) warnings.push('the local development issuer is enabled: anyone who can read its key file can mint tokens');
    if (config.console.enabled && !config.console.sessionKey) warnings.push('no console.sessionKey: a console session key is generated at each start (everyone logs in again after a restart)');
    if (!config.recording.signingKey) warnings.push('no recording.signingKey: a development signing key is generated and stored beside the log');
  }
  if (config.state.allowUnverifiedServer === true) warnings.push('state.allowUnverifiedServer: the state database\'s identity is not verified; whoever answers at its address gets the gateway\'s database credentials and session index');
  for (const [name, listener] of tlsListeners(config)) {
    if (listener && !listener.tls) warnings.push(`listener ${name} serves plaintext on ${listener.address}:${listener.port}`);
  }
  return warnings;
}

/** The listeners that speak TLS or plaintext (SSH brings its own encryption and has no `tls` block). */
export function tlsListeners(config: Pick<GatehouseConfig, 'listeners'>): [string, ListenerConfig | undefined][] {
  const { ssh: _ssh, ...rest } = config.listeners;
  return Object.entries(rest);
}

export function isLoopback(address: string): boolean {
  return address === 'localhost' || address === '::1' || address.startsWith('127.');
}

function lineOf(doc: ReturnType<typeof parseDocument>, source: string, path: readonly PropertyKey[]): number | undefined {
  // Walk up the path until a node with a source range exists (a missing key has none).
  for (let n = path.length; n >= 0; n--) {
    const node = (n === 0 ? doc.contents : doc.getIn(path.slice(0, n) as (string | number)[], true)) as { range?: [number, number, number] } | null | undefined;
    if (node && typeof node === 'object' && node.range) {
      let line = 1;
      for (let i = 0; i < node.range[0] && i < source.length; i++) if (source.charCodeAt(i) === 10) line++;
      return line;
    }
  }
  return undefined;
}

/** Reads, parses and validates a configuration file; throws GH_ERR_CONFIG_INVALID listing every problem. */
export function loadConfigFile(path: string): { config: GatehouseConfig; warnings: readonly string[] } {
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
  } catch (e) {
    throw new GatehouseError('GH_ERR_CONFIG_UNREADABLE', `cannot read configuration ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e });
  }
  return validateOrThrow(source, path);
}

export function validateOrThrow(source: string, origin: string): { config: GatehouseConfig; warnings: readonly string[] } {
  const result = parseConfig(source);
  if (!result.ok) {
    throw new GatehouseError('GH_ERR_CONFIG_INVALID', formatProblems(origin, result.problems), { details: { problems: result.problems } });
  }
  return { config: result.config, warnings: result.warnings };
}

export function formatProblems(origin: string, problems: readonly ConfigProblem[]): string {
  const lines = problems.map((p) => `  - ${p.path || '(top level)'}${p.line ? ` (line ${p.line})` : ''}: ${p.message}`);
  return `${origin}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n${lines.join('\n')}`;
}
