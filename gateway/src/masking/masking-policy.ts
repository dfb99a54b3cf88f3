/**
 * One connection's masking, built once from its configuration: which detectors run, how values
 * are replaced, JSON paths and result columns masked whole, and (opt-in) sealing of originals.
 * Protocols call this module only; they never assemble detectors themselves.
 *
 * Building has two steps so configuration mistakes stop the gateway at start-up while secrets
 * (hash key, originals key) are read from the secret store on first use:
 *
 *   const prepared = prepareMasking(connection.masking, { connection: 'api' });   // sync, throws GH_ERR_CONFIG_INVALID
 *   const policy = await prepared.resolve(secrets);                              // cached; GH_ERR_SECRET_UNAVAILABLE
 *   policy.maskJson(body); policy.maskText(text); policy.maskRow(columns, values); policy.createTransform();
 */
import type { MaskingConfig } from '../config/schema';
import { GatehouseError, toGatehouseError } from '../errors';
import { customDetectors, type CustomRule } from './custom';
import type { Detector } from './detector';
import { builtInDetectors } from './detectors';
import { createJsonMasker, type JsonMaskResult, type JsonPathRule } from './json-masker';
import { createOriginalsSealer, originalsKeyFromSecret, type OriginalsSealer } from './originals';
import { addCounts, redactText, type MaskCounts, type RedactionResult } from './redact';
import { createReplacement, type Replacement, type ReplacementConfig } from './replacement';
import { createRedactingTransform, createStreamRedactor, longestMatch, type RedactingTransform, type StreamRedactor } from './stream-redactor';

export type { MaskingConfig };

/** Type recorded for a value masked because of its column (when the rule names none). */
export const DEFAULT_COLUMN_TYPE = 'column';

export interface SecretSource {
  get(ref: string): Promise<string>;
}

export interface MaskingPolicy {
  /** The connection it belongs to (for messages and records). */
  readonly connection: string;
  readonly detectors: readonly Detector[];
  readonly replacement: Replacement;
  /** The longest match any detector can produce: what a stream holds back. */
  readonly holdBack: number;
  readonly jsonBufferBytes: number;
  readonly binary: 'pass' | 'refuse';
  /** Present when the connection stores originals (encrypted). */
  readonly originals: OriginalsSealer | undefined;
  /** Whole-string redaction by value. */
  maskText(text: string): RedactionResult;
  /** JSON by path and by value; non-JSON falls back to text. */
  maskJson(text: string): JsonMaskResult;
  /** One result cell: whole when its column is listed, otherwise by value. null stays null. */
  maskCell(column: string, value: string | null): { value: string | null; counts: MaskCounts };
  /** One result row (values in column order); counts add up over the row. */
  maskRow(columns: readonly string[], values: readonly (string | null)[]): { values: (string | null)[]; counts: MaskCounts };
  /** Text arriving in pieces (same result as maskText on the whole). */
  createStreamRedactor(): StreamRedactor;
  /** A UTF-8 byte-stream Transform; destroys itself with GH_ERR_MASKING_FAILED on any error. */
  createTransform(): RedactingTransform;
}

export interface PreparedMasking {
  readonly connection: string;
  readonly config: MaskingConfig;
  /** The policy with its secrets read (once; a failed read is retried on the next call). */
  resolve(secrets: SecretSource): Promise<MaskingPolicy>;
  /** The resolved policy if `resolve` already succeeded (lets a hot path skip an await). */
  readonly resolved: MaskingPolicy | undefined;
}

export interface PrepareMaskingOptions {
  readonly connection: string;
  /**
   * Detectors added after the configured ones. For embedding and tests (e.g. a detector that
   * throws, to prove fail-closed behaviour); configuration cannot reach this.
   */
  readonly extraDetectors?: readonly Detector[];
}

function configInvalid(connection: string, e: unknown): GatehouseError {
  const err = toGatehouseError(e, 'GH_ERR_CONFIG_INVALID');
  if (err.code !== 'GH_ERR_CONFIG_INVALID') return err;
  return new GatehouseError('GH_ERR_CONFIG_INVALID', `connection "${connection}" masking: ${err.message}`, { details: { ...err.details, connection } });
}

interface ColumnRule {
  readonly type: string;
}

/**
 * Compiles a masking block: detectors, JSON paths, column rules. Returns undefined when masking
 * is absent or disabled. Throws GH_ERR_CONFIG_INVALID (with the connection's name) for a bad rule.
 */
export function prepareMasking(config: MaskingConfig | undefined, options: PrepareMaskingOptions): PreparedMasking | undefined {
  if (config === undefined || !config.enabled) return undefined;
  return compile(config, options);
}

function compile(config: MaskingConfig, options: PrepareMaskingOptions): PreparedMasking {
  const { connection } = options;
  let detectors: Detector[];
  try {
    detectors = [
      ...builtInDetectors({ families: config.families, include: config.include, exclude: config.exclude }),
      ...customDetectors(config.custom as readonly CustomRule[]),
      ...(options.extraDetectors ?? []),
    ];
    longestMatch(detectors);
    // Paths compile here so a typo stops start-up rather than the first response.
    createJsonMasker({ detectors: [], replacement: () => '', paths: config.jsonPaths as JsonPathRule[] });
    if (config.replacement.kind === 'mask') createReplacement(config.replacement);
  } catch (e) {
    throw configInvalid(connection, e);
  }
  if (detectors.length === 0 && config.jsonPaths.length === 0 && config.columns.length === 0) {
    // Enabled but selecting nothing would look like protection while masking nothing.
    throw new GatehouseError('GH_ERR_CONFIG_INVALID', `connection "${connection}" masking selects no rule, path or column`, { details: { connection } });
  }
  if (config.storeOriginals && config.originalsKey === undefined) {
    throw new GatehouseError('GH_ERR_CONFIG_INVALID', `connection "${connection}" masking: storeOriginals needs originalsKey`, { details: { connection, path: 'masking.originalsKey' } });
  }
  const columns = new Map<string, ColumnRule>();
  for (const c of config.columns) {
    const name = typeof c === 'string' ? c : c.name;
    const type = typeof c === 'string' ? DEFAULT_COLUMN_TYPE : (c.type ?? DEFAULT_COLUMN_TYPE);
    columns.set(name.toLowerCase(), { type });
  }

  let resolved: MaskingPolicy | undefined;
  let pending: Promise<MaskingPolicy> | undefined;

  async function build(secrets: SecretSource): Promise<MaskingPolicy> {
    let replacementConfig: ReplacementConfig;
    const r = config.replacement;
    if (r.kind === 'keyed_hash') {
      const key = await readSecret(secrets, r.key, connection, 'hash key');
      replacementConfig = { kind: 'keyed_hash', key, hexChars: r.hexChars };
    } else {
      replacementConfig = r;
    }
    let replacement: Replacement;
    try {
      replacement = createReplacement(replacementConfig);
    } catch (e) {
      throw configInvalid(connection, e);
    }
    let originals: OriginalsSealer | undefined;
    if (config.storeOriginals) {
      const secret = await readSecret(secrets, config.originalsKey!, connection, 'originals key');
      try {
        originals = createOriginalsSealer(originalsKeyFromSecret(secret), config.originalsKeyId);
      } catch (e) {
        throw configInvalid(connection, e);
      }
    }
    return createPolicy(connection, detectors, replacement, config, columns, originals);
  }

  return {
    connection,
    config,
    get resolved() {
      return resolved;
    },
    resolve(secrets: SecretSource): Promise<MaskingPolicy> {
      if (resolved !== undefined) return Promise.resolve(resolved);
      pending ??= build(secrets).then(
        (p) => (resolved = p),
        (e: unknown) => {
          pending = undefined;
          throw e;
        },
      );
      return pending;
    },
  };
}

async function readSecret(secrets: SecretSource, ref: string, connection: string, what: string): Promise<string> {
  try {
    return await secrets.get(ref);
  } catch (e) {
    throw new GatehouseError('GH_ERR_SECRET_UNAVAILABLE', `the masking ${what} of connection "${connection}" could not be read`, { cause: e, details: { connection } });
  }
}

function createPolicy(
  connection: string,
  detectors: readonly Detector[],
  replacement: Replacement,
  config: MaskingConfig,
  columns: ReadonlyMap<string, ColumnRule>,
  originals: OriginalsSealer | undefined,
): MaskingPolicy {
  const jsonMasker = createJsonMasker({ detectors, replacement, paths: config.jsonPaths as JsonPathRule[] });
  const streamOptions = { detectors, replacement };

  function maskCell(column: string, value: string | null): { value: string | null; counts: MaskCounts } {
    if (value === null) return { value, counts: {} };
    const rule = columns.size > 0 ? columns.get(column.toLowerCase()) : undefined;
    if (rule !== undefined) {
      let out: string;
      try {
        out = replacement(value, rule.type);
      } catch {
        throw new GatehouseError('GH_ERR_MASKING_FAILED', 'masking replacement failed', { details: { type: rule.type } });
      }
      return { value: out, counts: { [rule.type]: 1 } };
    }
    const r = redactText(value, detectors, replacement);
    return { value: r.text, counts: r.counts };
  }

  return {
    connection,
    detectors,
    replacement,
    holdBack: longestMatch(detectors),
    jsonBufferBytes: config.jsonBufferBytes,
    binary: config.binary,
    originals,
    maskText: (text) => redactText(text, detectors, replacement),
    maskJson: (text) => jsonMasker(text),
    maskCell,
    maskRow(cols, values) {
      const counts: MaskCounts = {};
      const out = values.map((v, i) => {
        const r = maskCell(cols[i] ?? '', v);
        addCounts(counts, r.counts);
        return r.value;
      });
      return { values: out, counts };
    },
    createStreamRedactor: () => createStreamRedactor(streamOptions),
    createTransform: () => createRedactingTransform(streamOptions),
  };
}

/** `masked.<type>` counters for a session's index entry. */
export function countMasked(session: { count(counter: string, by?: number): void }, counts: Readonly<MaskCounts>): void {
  for (const type in counts) {
    const n = counts[type]!;
    if (n > 0) session.count(`masked.${type}`, n);
  }
}
