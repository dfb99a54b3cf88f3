import type { Approval } from '../types';

/**
 * What a notifier posts about a new approval request. The generic JSON carries every field a
 * receiver needs to route or display it; the Slack form is an incoming-webhook message (`text`
 * as the notification fallback, `blocks` for the layout).
 */
export function approvalLink(consoleUrl: string | undefined, id: string): string | null {
  if (consoleUrl === undefined) return null;
  return `${consoleUrl.replace(/\/+$/, '')}/approvals/${encodeURIComponent(id)}`;
}

export function genericMessage(a: Approval, link: string | null): Record<string, unknown> {
  return {
    type: 'gatehouse.approval.requested',
    id: a.id,
    requester: { subject: a.requester.subject, name: a.requester.name, issuer: a.requester.issuer, groups: a.requester.groups },
    connection: a.connection,
    protocol: a.protocol,
    operation: { summary: a.summary, action: a.action },
    action: a.action,
    reasons: a.reasons,
    minApprovals: a.minApprovals,
    sessionId: a.sessionId,
    requestId: a.requestId,
    createdAt: a.createdAt.toISOString(),
    expiresAt: a.expiresAt.toISOString(),
    link,
  };
}

export function slackMessage(a: Approval, link: string | null): Record<string, unknown> {
  const who = a.requester.name === a.requester.subject ? a.requester.subject : `${a.requester.name} (${a.requester.subject})`;
  const text = `Approval needed: ${who} wants to run ${a.summary} on ${a.connection} (expires ${a.expiresAt.toISOString()})`;
  const how = link !== null ? `<${link}|Review approval ${escape(a.id)}>` : `\`gatehouse approvals approve ${escape(a.id)}\` or \`deny\``;
  return {
    text: escape(text),
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `*Approval needed* on \`${escape(a.connection)}\`\n*${escape(who)}* wants to run \`${escape(a.summary)}\` (${escape(a.action)})`,
        },
      },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `Approval ${escape(a.id)} · needs ${a.minApprovals} approver${a.minApprovals === 1 ? '' : 's'} · expires ${a.expiresAt.toISOString()}${a.reasons.length > 0 ? ` · policy ${escape(a.reasons.join(', '))}` : ''}`,
          },
        ],
      },
      { type: 'section', text: { type: 'mrkdwn', text: how } },
    ],
  };
}

/** Slack's mrkdwn control characters; user-controlled text (paths, names) must not become links. */
function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
