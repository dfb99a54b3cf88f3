import { createHmac } from 'node:crypto';
import type { StateLogger } from '../../state/store';
import type { Approval } from '../types';
import { approvalLink, genericMessage, slackMessage } from './messages';

/**
 * Posts each new approval request to a webhook (generic JSON or Slack's incoming-webhook format).
 * A notifier only informs: its failures are logged (never the URL, which for Slack is itself a
 * secret, nor header values) and retried a little, and they never block or decide anything.
 */
export interface ApprovalNotifier {
  readonly name: string;
  /** Resolves when delivered or given up; never rejects. */
  notify(approval: Approval): Promise<void>;
}

export interface WebhookNotifierOptions {
  readonly name: string;
  /** A URL, or a secret reference resolved through `resolveSecret` (Slack webhook URLs are secrets). */
  readonly url: string;
  readonly format: 'json' | 'slack';
  /** Plain header values. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Header values that are secret references (e.g. `Authorization: env:HOOK_TOKEN`). */
  readonly secretHeaders?: Readonly<Record<string, string>>;
  /** Secret reference: when set, `x-gatehouse-signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`. */
  readonly signingSecret?: string;
  readonly consoleUrl?: string;
  readonly resolveSecret: (ref: string) => Promise<string>;
  readonly logger: StateLogger;
  /** Per attempt. @default 5000 */
  readonly timeoutMs?: number;
  /** Attempts after the first. @default 2 */
  readonly retries?: number;
  /** Delay before the first retry; doubles. @default 500 */
  readonly retryDelayMs?: number;
  readonly clock?: () => Date;
}

const PLAIN_URL = /^https?:\/\//i;

export function createWebhookNotifier(options: WebhookNotifierOptions): ApprovalNotifier {
  const retries = options.retries ?? 2;
  const timeoutMs = options.timeoutMs ?? 5000;
  const retryDelayMs = options.retryDelayMs ?? 500;
  const clock = options.clock ?? (() => new Date());
  const { logger, name } = options;

  const post = async (url: string, headers: Record<string, string>, body: string): Promise<number> => {
    const res = await fetch(url, { method: 'POST', headers, body, redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel().catch(() => undefined);
    return res.status;
  };

  return {
    name,
    async notify(approval) {
      let url: string;
      const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'gatehouse-approvals', ...(options.headers ?? {}) };
      const link = approvalLink(options.consoleUrl, approval.id);
      const body = JSON.stringify(options.format === 'slack' ? slackMessage(approval, link) : genericMessage(approval, link));
      try {
        url = PLAIN_URL.test(options.url) ? options.url : await options.resolveSecret(options.url);
        if (!PLAIN_URL.test(url)) throw new Error('the webhook URL is not an http(s) URL');
        for (const [header, ref] of Object.entries(options.secretHeaders ?? {})) headers[header] = await options.resolveSecret(ref);
        if (options.signingSecret !== undefined) {
          const key = await options.resolveSecret(options.signingSecret);
          const ts = String(Math.floor(clock().getTime() / 1000));
          headers['x-gatehouse-timestamp'] = ts;
          headers['x-gatehouse-signature'] = `v1=${createHmac('sha256', key).update(`${ts}.${body}`).digest('hex')}`;
        }
      } catch (e) {
        logger.warn({ notifier: name, approvalId: approval.id, err: (e as { code?: string }).code ?? 'configuration' }, 'approval notifier could not be prepared; not sent');
        return;
      }
      for (let attempt = 0; attempt <= retries; attempt++) {
        let outcome: string;
        try {
          const status = await post(url, headers, body);
          if (status >= 200 && status < 300) {
            logger.debug({ notifier: name, approvalId: approval.id, status }, 'approval notification delivered');
            return;
          }
          outcome = `status ${status}`;
          // A client error will not change on retry (bad URL or payload), except rate limiting.
          if (status >= 400 && status < 500 && status !== 408 && status !== 429) attempt = retries;
        } catch (e) {
          // Only the error's kind: fetch errors may quote the URL.
          outcome = (e as Error).name === 'TimeoutError' ? 'timeout' : ((e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name);
        }
        if (attempt >= retries) {
          logger.warn({ notifier: name, approvalId: approval.id, attempts: attempt + 1, outcome }, 'approval notification failed');
          return;
        }
        await new Promise((r) => setTimeout(r, retryDelayMs * 2 ** attempt).unref());
      }
    },
  };
}
