import type { ApprovalService } from '../../approvals/service';
import type { GatehouseConfig } from '../../config/schema';
import { GatehouseError } from '../../errors';
import type { Logger } from '../../observability/logger';
import type { IdentityVerifier } from '../../pipeline/types';
import type { SecretStore } from '../../secrets';
import type { SessionIndex } from '../../state/session-index';
import type { SessionSearch } from '../../state/session-search';
import type { AdminAudit } from '../audit';
import { DEV_ISSUER_NAME } from '../../identity/dev-issuer';
import { CookieSealer } from './cookies';
import { DevLogin } from './dev-login';
import { OidcLogin } from './oidc-login';
import { createConsole, type ConsoleHandler } from './router';
import type { SessionPageService } from './session-page';

export interface ConsoleRuntime {
  readonly secrets: Pick<SecretStore, 'get'>;
  readonly verifier: IdentityVerifier;
  readonly search: SessionSearch;
  readonly index: Pick<SessionIndex, 'get'>;
  readonly readSession: (id: string) => Promise<object>;
  readonly approvals?: Pick<ApprovalService, 'isApprover' | 'list' | 'get' | 'decide' | 'watchPending'>;
  readonly audit?: AdminAudit;
  readonly logger: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  readonly sessionPages?: SessionPageService;
}

/** The console from `console.*` (validated by config/load.ts), or undefined when it is off. */
export async function consoleFromConfig(config: GatehouseConfig, runtime: ConsoleRuntime): Promise<ConsoleHandler | undefined> {
  const c = config.console;
  if (!c.enabled) return undefined;
  const dev = c.issuer === DEV_ISSUER_NAME;
  const issuer = config.identity.issuers.find((i) => i.name === c.issuer);
  if (c.externalUrl === undefined || (!dev && (issuer === undefined || c.clientId === undefined))) {
    throw new GatehouseError('GH_ERR_CONFIG_INVALID', 'console.issuer, console.clientId and console.externalUrl are required when the console is enabled');
  }
  let sealer: CookieSealer;
  if (c.sessionKey !== undefined) {
    sealer = new CookieSealer(await runtime.secrets.get(c.sessionKey));
  } else if (config.mode === 'development') {
    runtime.logger.warn({}, 'console.sessionKey is not set: generated a console session key for this run (logins end at restart)');
    sealer = CookieSealer.generate();
  } else {
    throw new GatehouseError('GH_ERR_CONFIG_INVALID', 'production needs console.sessionKey (a secret reference to 32 bytes or more)');
  }
  const base = c.externalUrl.replace(/\/$/, '');
  let login: OidcLogin | undefined;
  let devLogin: DevLogin | undefined;
  if (dev) {
    if (!config.identity.devIssuer.enabled) throw new GatehouseError('GH_ERR_CONFIG_INVALID', 'console.issuer: dev needs identity.devIssuer.enabled');
    runtime.logger.warn({ externalUrl: base }, 'the console logs people in with the development issuer: anyone on this host can log in as anyone');
    devLogin = new DevLogin({ mode: config.mode, keyPath: config.identity.devIssuer.keyPath, audience: config.identity.devIssuer.audience, verifier: runtime.verifier });
  } else {
    login = new OidcLogin({
      issuer: issuer!.issuer,
      clientId: c.clientId!,
      clientSecret: c.clientSecret === undefined ? undefined : await runtime.secrets.get(c.clientSecret),
      redirectUri: `${base}/console/callback`,
      scopes: c.scopes,
      verifier: runtime.verifier,
    });
  }
  return createConsole({
    sealer,
    login,
    devLogin,
    externalUrl: base,
    sessionSeconds: c.sessionMinutes * 60,
    adminGroups: config.admin.groups,
    search: runtime.search,
    index: runtime.index,
    readSession: runtime.readSession,
    approvals: runtime.approvals,
    audit: runtime.audit,
    logger: runtime.logger,
    sessionPages: runtime.sessionPages,
  });
}
