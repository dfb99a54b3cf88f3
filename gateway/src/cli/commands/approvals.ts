import { parseArgs } from 'node:util';
import type { GatehouseConfig } from '../../config/schema';
import { GatehouseError } from '../../errors';
import { mintDevToken } from '../../identity/dev-issuer';
import type { CommandIO } from '../io';
import { adminClient, adminUrlOf, type AdminCall } from '../admin-client';
import { resolveConfig } from './run';

/**
 * `gatehouse approvals list|show|approve|deny`. Always through a running gateway's admin API:
 * a decision must carry the approver's verified identity (their OIDC token), which the store
 * alone cannot check. `--admin-url` (or the configured admin listener) and `--token` (or
 * GATEHOUSE_TOKEN); in development mode the dev issuer can mint one (`--as NAME`).
 */
export async function approvalsCommand(argv: string[], io: CommandIO): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      config: { type: 'string' },
      'admin-url': { type: 'string' },
      token: { type: 'string' },
      as: { type: 'string' },
      status: { type: 'string' },
      limit: { type: 'string' },
      reason: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  if (sub !== 'list' && sub !== 'show' && sub !== 'approve' && sub !== 'deny') {
    io.err('usage: gatehouse approvals list [--status S] | show ID | approve ID [--reason TEXT] | deny ID [--reason TEXT]   (see gatehouse --help)');
    return 2;
  }
  const api = await openAdmin(values);
  if (sub === 'list') {
    const params = new URLSearchParams({ status: values.status ?? 'pending' });
    if (values.limit !== undefined) params.set('limit', values.limit);
    const { approvals } = (await api('GET', `/api/approvals?${params}`)) as { approvals: Json[] };
    io.out(values.json ? JSON.stringify(approvals, null, 2) : formatTable(approvals));
    return 0;
  }
  const id = positionals[0];
  if (!id) {
    io.err(`usage: gatehouse approvals ${sub} ID`);
    return 2;
  }
  const path = `/api/approvals/${encodeURIComponent(id)}`;
  if (sub === 'show') {
    const { approval } = (await api('GET', path)) as { approval: Json };
    io.out(values.json ? JSON.stringify(approval, null, 2) : formatApproval(approval));
    return 0;
  }
  const { approval } = (await api('POST', `${path}/${sub}`, values.reason === undefined ? {} : { reason: values.reason })) as { approval: Json };
  if (values.json) io.out(JSON.stringify(approval, null, 2));
  else if (approval.status === 'pending') io.out(`approval ${id}: your approval is counted (${String(approval.approvals)} of ${String(approval.minApprovals)}); still pending`);
  else io.out(`approval ${id}: ${String(approval.status)}`);
  return 0;
}

type Json = Record<string, unknown>;

async function openAdmin(values: { config?: string; 'admin-url'?: string; token?: string; as?: string }): Promise<AdminCall> {
  let config: GatehouseConfig | undefined;
  try {
    config = resolveConfig(values.config).config;
  } catch (e) {
    if (!values['admin-url']) throw e;
  }
  const base = values['admin-url'] ?? adminUrlOf(config!);
  const token = values.token ?? process.env.GATEHOUSE_TOKEN ?? (config ? await devToken(config, values.as) : undefined);
  if (!token) throw new GatehouseError('GH_ERR_TOKEN_MISSING', 'approvals need your identity: pass --token or set GATEHOUSE_TOKEN (an OIDC token of a member of an approver group)');
  return adminClient(base, token);
}

/** Development only: act as `--as NAME` (default the current user) in the first approver group. */
async function devToken(config: GatehouseConfig, as: string | undefined): Promise<string | undefined> {
  if (config.mode !== 'development' || !config.identity.devIssuer.enabled) return undefined;
  const subject = as ?? process.env.USER ?? 'gatehouse-cli';
  const groups = [...config.approvals.approverGroups.slice(0, 1), config.admin.groups[0]!];
  return mintDevToken({ subject, groups, audience: config.identity.devIssuer.audience, keyPath: config.identity.devIssuer.keyPath, ttlSeconds: 300, createKey: false });
}

function formatTable(rows: Json[]): string {
  if (rows.length === 0) return 'no approvals match';
  const header = ['ID', 'CREATED', 'STATUS', 'REQUESTER', 'CONNECTION', 'OPERATION', 'VOTES', 'EXPIRES'];
  const lines = rows.map((r) => [
    String(r.id),
    String(r.createdAt).replace('T', ' ').slice(0, 19),
    String(r.status),
    String((r.requester as Json | undefined)?.name ?? '-'),
    String(r.connection),
    String(r.summary).slice(0, 60),
    `${String(r.approvals ?? 0)}/${String(r.minApprovals)}`,
    String(r.expiresAt).replace('T', ' ').slice(0, 19),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  return [header, ...lines].map((l) => l.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/** What the approver sees of the request (HTTP: method, path and query, headers, body). */
function detailLines(d: Json | null | undefined): string[] {
  if (d === null || d === undefined) return [];
  const lines: string[] = [];
  if (d.method !== undefined) lines.push(`  request: ${String(d.method)} ${String(d.path ?? '')}${String(d.query ?? '')}`);
  const headers = (d.headers ?? {}) as Json;
  for (const [k, v] of Object.entries(headers)) lines.push(`    ${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`);
  const body = d.body as Json | undefined;
  if (body !== undefined) {
    const text = typeof body.text === 'string' ? body.text : typeof body.json === 'object' ? JSON.stringify(body.json) : undefined;
    if (text !== undefined) lines.push(`  body${body.truncated === true ? ' (truncated)' : ''}:`, ...text.split('\n').map((l) => `    ${l}`));
    else lines.push(`  body: ${JSON.stringify(body)}`);
  }
  return lines;
}

function formatApproval(a: Json): string {
  const requester = (a.requester ?? {}) as Json;
  const votes = (a.votes ?? []) as Json[];
  return [
    `approval ${String(a.id)}   status: ${String(a.status)}`,
    `  requester: ${String(requester.name)} <${String(requester.subject)}> groups: ${((requester.groups ?? []) as string[]).join(', ') || '-'}`,
    `  operation: ${String(a.summary)} (${String(a.action)}) on ${String(a.connection)}`,
    `  policy: ${((a.reasons ?? []) as string[]).join(', ') || '-'}   needs: ${String(a.minApprovals)} approver(s)`,
    `  session: ${String(a.sessionId)}   request: ${String(a.requestId)}`,
    ...detailLines(a.details as Json | null | undefined),
    `  created: ${String(a.createdAt)}   expires: ${String(a.expiresAt)}   decided: ${String(a.decidedAt ?? '-')}`,
    ...(a.reason ? [`  reason: ${String(a.reason)}`] : []),
    ...votes.map((v) => `  ${String(v.verdict)} by ${String(v.name)} <${String(v.subject)}> at ${String(v.at)}${v.reason ? `: ${String(v.reason)}` : ''}`),
  ].join('\n');
}
