import { GatehouseError } from '../errors';

/** `scheme:name`, the same shape config's `secretRef` accepts. References are not secret; values are. */
const REFERENCE = /^([a-z][a-z0-9-]*):([\s\S]+)$/;

export interface SecretReference {
  readonly scheme: string;
  readonly name: string;
}

export function parseSecretReference(ref: string): SecretReference {
  const match = REFERENCE.exec(ref);
  if (match === null) {
    throw new GatehouseError('GH_ERR_SECRET_UNAVAILABLE', `"${ref}" is not a secret reference such as "env:NAME" or "file:/path"`, {
      details: { ref },
    });
  }
  return { scheme: match[1]!, name: match[2]! };
}

export function secretUnavailable(ref: string, why: string, cause?: unknown): GatehouseError {
  return new GatehouseError('GH_ERR_SECRET_UNAVAILABLE', `secret "${ref}" is unavailable: ${why}`, {
    details: { ref },
    cause,
  });
}
