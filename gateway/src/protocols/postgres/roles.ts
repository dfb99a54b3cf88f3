import type { PostgresConnectionConfig } from '../../config/schema';
import type { Principal } from '../../identity/principal';

/** The upstream role a principal's session logs in as (config `upstream.roles`). */
export interface UpstreamRole {
  readonly user: string;
  /** Secret reference to its password. */
  readonly password: string | undefined;
  /** Open the session with `default_transaction_read_only = on` and watch that it stays on. */
  readonly readOnly: boolean;
}

/**
 * Chooses the brokered credential by group: the first `upstream.roles` entry naming one of the
 * principal's groups, else the connection's own `user`. Order is the operator's: list the most
 * restricted role first when a principal can be in several groups.
 */
export function upstreamRoleFor(connection: PostgresConnectionConfig, principal: Principal): UpstreamRole {
  const up = connection.upstream;
  for (const role of up.roles) {
    if (role.groups.some((g) => principal.groups.includes(g))) return { user: role.user, password: role.password, readOnly: role.readOnly };
  }
  return { user: up.user, password: up.password, readOnly: up.readOnly };
}
