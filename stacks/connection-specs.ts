import { connectionSchema } from '../gateway/src/config/schema';

/** A connection as the three reference stacks read it from their settings. */
export interface ConnectionSpecSetting {
  readonly name: string;
  readonly spec: object;
}

/**
 * Checks one connection's spec against the gateway's own connection schema at synth, as the
 * gateway will at its first start (a bad spec would otherwise deploy, then keep every replica from
 * becoming ready). The kit fills in `name` and `credential.secret`, so those are put in for the
 * check: `secretReference` is a stand-in of the cloud's form (`aws-sm:…`, `azure-kv:…`, `gcp-sm:…`).
 *
 * The one implementation for AWS, Azure and Google Cloud. It lives beside the stacks, not in
 * constructs/core: the construct packages carry only the schema's types, never the gateway's code.
 * @returns one line per problem, `<path>: <message>`; none when the spec is valid
 */
export function connectionSpecProblems(connection: ConnectionSpecSetting, secretReference: string): string[] {
  const spec = connection.spec as { credential?: { type?: unknown } };
  const credential = spec.credential && spec.credential.type !== 'none' ? { ...spec.credential, secret: secretReference } : spec.credential;
  const result = connectionSchema.safeParse({ ...connection.spec, name: connection.name, ...(credential ? { credential } : {}) });
  if (result.success) return [];
  return result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
}
