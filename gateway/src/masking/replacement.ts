import { createHmac } from 'node:crypto';
import { GatehouseError } from '../errors';

/**
 * How a detected value is rewritten. Chosen per connection from configuration, once at start-up.
 * `value` is the original text of the detection (never logged), `type` the detection type.
 */
export type Replacement = (value: string, type: string) => string;

export type ReplacementConfig =
  /** Every value becomes the same fixed text. @default text `[MASKED]` */
  | { readonly kind: 'mask'; readonly text?: string }
  /** Every value becomes its type in upper case: `[EMAIL]`. */
  | { readonly kind: 'type_tag' }
  /**
   * `[EMAIL:3f2a9c1d]`: a truncated HMAC-SHA-256 of the value, so the agent can still tell equal
   * values apart from different ones without seeing them. A different key gives different tags,
   * so tags cannot be correlated across deployments.
   */
  | {
      readonly kind: 'keyed_hash';
      /** At least 16 bytes (a string is taken as UTF-8). */
      readonly key: string | Uint8Array;
      /** Hex characters kept from the MAC, 8 to 64. @default 8 */
      readonly hexChars?: number;
    };

export const DEFAULT_MASK = '[MASKED]';
const MIN_KEY_BYTES = 16;

function tagOf(type: string): string {
  return type.toUpperCase();
}

export function createReplacement(config: ReplacementConfig): Replacement {
  switch (config.kind) {
    case 'mask': {
      const text = config.text ?? DEFAULT_MASK;
      return () => text;
    }
    case 'type_tag':
      return (_value, type) => `[${tagOf(type)}]`;
    case 'keyed_hash': {
      const key = typeof config.key === 'string' ? Buffer.from(config.key, 'utf8') : Buffer.from(config.key);
      if (key.length < MIN_KEY_BYTES) {
        // A short key makes the tags guessable by brute force over likely values (emails, phones).
        throw new GatehouseError('GH_ERR_CONFIG_INVALID', `masking hash key must be at least ${MIN_KEY_BYTES} bytes, got ${key.length}`, {
          details: { path: 'masking.replacement.key' },
        });
      }
      const hexChars = config.hexChars ?? 8;
      if (!Number.isInteger(hexChars) || hexChars < 8 || hexChars > 64) {
        throw new GatehouseError('GH_ERR_CONFIG_INVALID', `masking hash length must be an integer from 8 to 64, got ${hexChars}`, {
          details: { path: 'masking.replacement.hexChars' },
        });
      }
      return (value, type) => {
        const mac = createHmac('sha256', key).update(value, 'utf8').digest('hex').slice(0, hexChars);
        return `[${tagOf(type)}:${mac}]`;
      };
    }
    default: {
      const kind: never = config;
      throw new GatehouseError('GH_ERR_CONFIG_INVALID', `unknown masking replacement kind ${String((kind as { kind?: unknown }).kind)}`);
    }
  }
}
