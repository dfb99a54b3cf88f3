import type { ApprovalsConfig, StateConfig } from '../config/schema';
import type { StateLogger, StateStore } from '../state/store';
import { startPgApprovalListener } from './listener';
import { createWebhookNotifier } from './notifiers/webhook';
import { ApprovalService } from './service';
import { ApprovalStore } from './store';

export { ApprovalService, type ApprovalServiceOptions } from './service';
export { ApprovalStore, type DecideInput, type ListApprovalsFilter } from './store';
export { startPgApprovalListener, type ApprovalListener } from './listener';
export { createWebhookNotifier, type ApprovalNotifier, type WebhookNotifierOptions } from './notifiers/webhook';
export { approvalLink, genericMessage, slackMessage } from './notifiers/messages';
export { APPROVAL_STATUSES, approvalJson, type Approval, type ApprovalStatus, type Verdict } from './types';
export { APPROVAL_MIGRATIONS, APPROVAL_CHANNEL } from './schema';

export interface ApprovalsFromConfigOptions {
  /** The open state store (shared with the session index). */
  readonly store: StateStore;
  readonly state: StateConfig;
  readonly resolveSecret: (ref: string) => Promise<string>;
  readonly logger: StateLogger;
  readonly instanceId?: string;
  readonly recordingMode?: 'strict' | 'buffered';
}

/**
 * The approvals service from the `approvals` config section, or undefined when no approver group
 * is configured (then `review` decisions stay denials). Call `init()` before use and `close()`
 * at shutdown. On PostgreSQL it LISTENs on a dedicated connection so a decision made through any
 * replica releases the operation waiting on this one at once.
 */
export function approvalsFromConfig(config: ApprovalsConfig, options: ApprovalsFromConfigOptions): ApprovalService | undefined {
  if (config.approverGroups.length === 0) return undefined;
  const notifiers = config.notifiers.map((n, i) =>
    createWebhookNotifier({
      name: n.name ?? `webhook-${i + 1}`,
      url: n.url,
      format: n.format,
      headers: n.headers,
      secretHeaders: n.secretHeaders,
      signingSecret: n.signingSecret,
      consoleUrl: config.consoleUrl,
      resolveSecret: options.resolveSecret,
      logger: options.logger,
      timeoutMs: n.timeoutMs,
      retries: n.retries,
    }),
  );
  const stateUrl = options.state.url;
  return new ApprovalService({
    store: new ApprovalStore(options.store),
    approverGroups: config.approverGroups,
    timeoutSeconds: config.timeoutSeconds,
    minApprovals: config.minApprovals,
    pollIntervalMs: config.pollIntervalMs,
    consoleUrl: config.consoleUrl,
    notifiers,
    logger: options.logger,
    instanceId: options.instanceId,
    recordingMode: options.recordingMode,
    listen:
      stateUrl === undefined
        ? undefined // embedded: one process, woken in-process; the poll covers the rest
        : (handlers) => {
            let inner: { close(): Promise<void> } | undefined;
            let closed = false;
            // The store resolves the URL, CA and token source once; the listener connects like its pool.
            // Resolving must not delay start-up or fail it.
            const resolving = options.store.clientConfig().then(
              (clientConfig) => {
                if (!closed && clientConfig !== undefined) inner = startPgApprovalListener({ url: clientConfig, logger: options.logger, handlers });
              },
              () => options.logger.warn({}, 'approval listener: the state store could not be opened; relying on the poll'),
            );
            return {
              async close() {
                closed = true;
                await resolving;
                await inner?.close();
              },
            };
          },
  });
}
