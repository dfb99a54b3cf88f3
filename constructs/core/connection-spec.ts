import type { z } from 'zod';
import type {
  awsConnectionSchema,
  gitConnectionSchema,
  httpConnectionSchema,
  postgresConnectionSchema,
  sshConnectionSchema,
} from '../../gateway/src/config/schema';

/**
 * The typed form of one upstream connection as the kits take it: the gateway's own connection
 * schema (`gateway/src/config/schema.ts`, its input form, so defaulted fields stay optional)
 * without `name` (the kit's `connections[].name` gives it) and without `credential.secret` (the
 * kit points it at the cloud secret it creates or is given). Only types cross over: the
 * constructs never load the gateway's code.
 */
type HttpConnectionInput = z.input<typeof httpConnectionSchema>;
type PostgresConnectionInput = z.input<typeof postgresConnectionSchema>;
type GitConnectionInput = z.input<typeof gitConnectionSchema>;
type SshConnectionInput = z.input<typeof sshConnectionSchema>;
type AwsConnectionInput = z.input<typeof awsConnectionSchema>;

/** `Omit` that keeps a union a union (one member per credential type). */
type OmitEach<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** An HTTP connection: `{ kind: 'http', upstream, route, credential: { type: 'bearer' }, ... }`. */
export type HttpConnectionSpec = Omit<HttpConnectionInput, 'name' | 'credential'> & {
  readonly credential?: OmitEach<NonNullable<HttpConnectionInput['credential']>, 'secret'>;
};

/**
 * A PostgreSQL connection: `{ kind: 'postgres', upstream: { host, database, user, password? }, ... }`.
 * Its passwords are secret references the user gives (e.g. `aws-sm:<arn>`); the kit grants none.
 */
export type PostgresConnectionSpec = Omit<PostgresConnectionInput, 'name'>;

/**
 * Git over smart HTTP: `{ kind: 'git', upstream: 'https://github.com/', credential: { type: 'basic', username: 'x-access-token' } }`.
 * Its brokered credential's secret is the kit's (or the connection's `secret`), as for HTTP.
 */
export type GitConnectionSpec = Omit<GitConnectionInput, 'name' | 'credential'> & {
  readonly credential?: OmitEach<NonNullable<GitConnectionInput['credential']>, 'secret'>;
};

/**
 * An SSH host: `{ kind: 'ssh', upstream: { host, user, privateKey, hostKey } }`. `privateKey` is a
 * secret reference the user gives (e.g. `gcp-sm:projects/<p>/secrets/<id>/versions/latest`); the
 * kit creates no secret for it and grants none.
 */
export type SshConnectionSpec = Omit<SshConnectionInput, 'name'>;

/**
 * AWS APIs of one service: `{ kind: 'aws', service, region, route, callerCredentials: { keys } }`.
 * `callerCredentials.keys` (and `brokered` static keys) are secret references the user gives; the
 * kit creates no secret for them and grants none.
 */
export type AwsConnectionSpec = Omit<AwsConnectionInput, 'name'>;

/** One connection's spec, as in the gateway's `connections`, minus `name` and `credential.secret`. */
export type GatewayConnectionSpec = HttpConnectionSpec | PostgresConnectionSpec | GitConnectionSpec | SshConnectionSpec | AwsConnectionSpec;
