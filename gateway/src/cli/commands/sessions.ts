import { parseArgs } from 'node:util';
import { sessionJson } from '../../admin/server';
import { parseSessionFilter } from '../../admin/query';
import type { GatehouseConfig } from '../../config/schema';
import { GatehouseError } from '../../errors';
import { mintDevToken } from '../../identity/dev-issuer';
import { exportSession, renderTranscript, type SessionTranscript } from '../../recording/reader';
import { formatTranscriptJson } from '../../admin/console/session-page/export';
import { toAsciicast } from '../../admin/console/session-page/terminal';
import { terminalChannels } from '../../protocols/ssh/terminal-replay';
import { transcriptText } from '../../terminal/transcript';
import { createSink } from '../../server/sinks';
import { createSecretProvider } from '../../secrets';
import type { SessionRow } from '../../state/session-index';
import { createSessionIndex } from '../../state/sql-session-index';
import type { CommandIO } from '../io';
import { adminClient, adminUrlOf } from '../admin-client';
import { resolveConfig } from './run';

/**
 * `gatehouse sessions list|show|export`. Talks to a running gateway's admin API when one answers
 * (`--admin-url`, or the configured admin listener), because the embedded store belongs to the
 * running process; otherwise opens the state store and the log directly.
 */
export async function sessionsCommand(argv: string[], io: CommandIO): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    options: {
      config: { type: 'string' },
      'admin-url': { type: 'string' },
      token: { type: 'string' },
      user: { type: 'string' },
      connection: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      'request-id': { type: 'string' },
      status: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean', default: false },
      format: { type: 'string' },
      channel: { type: 'string' },
    },
    allowPositionals: true,
  });
  if (sub !== 'list' && sub !== 'show' && sub !== 'export') {
    io.err('usage: gatehouse sessions list [filters] | show ID | export ID   (see gatehouse --help)');
    return 2;
  }
  const source = await openSource(values);
  try {
    if (sub === 'list') {
      const params = new URLSearchParams();
      for (const [flag, param] of [['user', 'user'], ['connection', 'connection'], ['from', 'from'], ['to', 'to'], ['request-id', 'request_id'], ['status', 'status'], ['limit', 'limit']] as const) {
        const v = values[flag];
        if (v !== undefined) params.set(param, v);
      }
      parseSessionFilter(params); // validates flags with the same rules and messages as the admin API
      const rows = await source.list(params);
      if (values.json) io.out(JSON.stringify(rows, null, 2));
      else io.out(formatTable(rows));
      return 0;
    }
    const id = positionals[0];
    if (!id) {
      io.err(`usage: gatehouse sessions ${sub} ID`);
      return 2;
    }
    if (sub === 'export') {
      const format = values.format ?? 'json';
      if (!EXPORT_FORMATS.includes(format)) {
        io.err(`gatehouse sessions export: --format ${format} is not one of ${EXPORT_FORMATS.join(', ')}`);
        return 2;
      }
      const transcript = await source.transcript(id);
      if (format === 'json') {
        io.out(formatTranscriptJson(transcript));
        return 0;
      }
      return await exportTerminal(transcript, format, values.channel, io);
    }
    const row = await source.get(id);
    if (values.json) {
      io.out(JSON.stringify({ session: row, transcript: await source.transcript(id) }, null, 2));
      return 0;
    }
    io.out(formatRow(row));
    io.out(renderTranscript(await source.transcript(id)));
    return 0;
  } finally {
    await source.close();
  }
}

type Json = Record<string, unknown>;

/** `json` (the whole transcript), asciicast (`cast` = `cast-v2`, `cast-v3`) or `text` (the terminal transcript). */
const EXPORT_FORMATS = ['json', 'cast', 'cast-v2', 'cast-v3', 'text'];

/**
 * A terminal session's channel as asciicast, or its plain-text transcript (terminal emulation):
 * the same bytes as the console's downloads. `--channel N` picks the channel; without it, a
 * `.cast` is of the first channel and the text has every channel, each under a `# channel N: what
 * it ran` line.
 */
async function exportTerminal(transcript: SessionTranscript, format: string, channelFlag: string | undefined, io: CommandIO): Promise<number> {
  const all = terminalChannels(transcript.events);
  const wanted = channelFlag === undefined ? undefined : Number(channelFlag);
  if (wanted !== undefined && !Number.isSafeInteger(wanted)) {
    io.err(`gatehouse sessions export: --channel ${channelFlag} is not a channel number`);
    return 2;
  }
  const chosen = wanted === undefined ? all : all.filter((c) => c.channel === wanted);
  if (chosen.length === 0) {
    io.err(`gatehouse sessions export: session ${transcript.session.id} has no terminal recording${wanted === undefined ? '' : ` on channel ${wanted}`} (channels: ${all.map((c) => c.channel).join(', ') || 'none'})`);
    return 1;
  }
  if (format === 'text') {
    const parts: string[] = [];
    for (const c of chosen) {
      const text = await transcriptText(c.recording);
      parts.push(wanted !== undefined ? text : `# channel ${c.channel}: ${c.label}\n${text}`);
    }
    io.out(parts.join('\n').replace(/\n$/, ''));
    return 0;
  }
  io.out(toAsciicast(chosen[0]!.recording, format === 'cast-v3' ? 3 : 2).replace(/\n$/, ''));
  return 0;
}

interface SessionSource {
  list(params: URLSearchParams): Promise<Json[]>;
  get(id: string): Promise<Json>;
  transcript(id: string): Promise<SessionTranscript>;
  close(): Promise<void>;
}

async function openSource(values: { config?: string; 'admin-url'?: string; token?: string }): Promise<SessionSource> {
  let config: GatehouseConfig | undefined;
  try {
    config = resolveConfig(values.config).config;
  } catch (e) {
    if (!values['admin-url']) throw e;
  }
  const adminUrl = values['admin-url'] ?? (config ? adminUrlOf(config) : undefined);
  if (adminUrl && (values['admin-url'] || (await reachable(adminUrl)))) {
    const token = values.token ?? process.env.GATEHOUSE_TOKEN ?? (config ? await devAdminToken(config) : undefined);
    if (!token) throw new GatehouseError('GH_ERR_TOKEN_MISSING', 'the admin API needs a token: pass --token or set GATEHOUSE_TOKEN (a member of an admin group)');
    return adminSource(adminUrl, token);
  }
  if (!config) throw new GatehouseError('GH_ERR_CONFIG_INVALID', 'no configuration to find the state store');
  return directSource(config);
}

async function reachable(url: string): Promise<boolean> {
  try {
    const res = await fetch(new URL('/healthz', url), { signal: AbortSignal.timeout(1500) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

/** In development, the CLI may act as an admin through the development issuer. */
async function devAdminToken(config: GatehouseConfig): Promise<string | undefined> {
  if (config.mode !== 'development' || !config.identity.devIssuer.enabled) return undefined;
  return mintDevToken({ subject: 'gatehouse-cli', groups: [config.admin.groups[0]!], audience: config.identity.devIssuer.audience, keyPath: config.identity.devIssuer.keyPath, ttlSeconds: 300, createKey: false });
}

function adminSource(base: string, token: string): SessionSource {
  const api = adminClient(base, token);
  const call = (path: string): Promise<Json> => api('GET', path);
  return {
    list: async (params) => (await call(`/api/sessions?${params}`)).sessions as Json[],
    get: async (id) => (await call(`/api/sessions/${encodeURIComponent(id)}`)).session as Json,
    transcript: async (id) => (await call(`/api/sessions/${encodeURIComponent(id)}/export`)) as unknown as SessionTranscript,
    close: async () => {},
  };
}

function directSource(config: GatehouseConfig): SessionSource {
  const secrets = createSecretProvider({ mode: config.mode });
  const index = createSessionIndex(config.state, { resolveSecret: (ref) => secrets.get(ref) });
  const sink = createSink(config.recording.sink);
  let ready: Promise<void> | undefined;
  const init = () => (ready ??= index.init());
  return {
    list: async (params) => {
      await init();
      return (await index.list(parseSessionFilter(params))).map(sessionJson);
    },
    get: async (id) => {
      await init();
      const row = await index.get(id);
      if (!row) throw new GatehouseError('GH_ERR_NOT_FOUND', `no session with id ${id}`);
      return sessionJson(row);
    },
    transcript: async (id) => exportSession(await sink, id),
    close: () => index.close(),
  };
}

function formatTable(rows: Json[]): string {
  if (rows.length === 0) return 'no sessions match';
  const header = ['ID', 'STARTED', 'USER', 'CONNECTION', 'PROTOCOL', 'STATUS', 'REQUESTS', 'DENIED'];
  const lines = rows.map((r) => [
    String(r.id),
    String(r.startedAt).replace('T', ' ').slice(0, 19),
    String(r.userName ?? r.subject ?? '-'),
    String(r.connection ?? '-'),
    String(r.protocol),
    String(r.status),
    String(r.requestCount ?? 0),
    String(r.deniedCount ?? 0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  return [header, ...lines].map((l) => l.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

function formatRow(row: Json): string {
  const r = row as unknown as SessionRow & { startedAt: string; endedAt: string | null };
  return [
    `session ${r.id}`,
    `  user: ${r.userName ?? '-'} <${r.subject ?? '-'}> ${r.issuer ?? ''}`,
    `  connection: ${r.connection ?? '-'} (${r.protocol})   status: ${r.status}`,
    `  started: ${r.startedAt}   ended: ${r.endedAt ?? '(open)'}`,
    `  events: ${r.eventCount}   requests: ${r.requestCount}   denied: ${r.deniedCount}`,
    '',
  ].join('\n');
}
