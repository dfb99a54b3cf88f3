import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loginCommand } from '../../../gateway/src/cli/commands/login';
import { buildGatewayBundle } from '../../support/gateway-process';
import { startTestGateway, type TestGateway } from '../../support/gateway';
import { LOGIN_CLIENT_ID, startLoginIssuer, type LoginIssuer } from '../../support/oidc-login-issuer';
import { readEvents } from '../../support/pg-gateway';
import { FAKE_ANTHROPIC_KEY, startUpstream, type Upstream } from '../../support/upstreams';

/**
 * The real Claude Code CLI (the pinned @anthropic-ai/claude-code devDependency) configured by
 * `gatehouse setup claude-code`, run non-interactively (`claude -p`) against a local stand-in for
 * the Messages API behind a real gateway, with a person's token from a real OIDC provider.
 *
 * The ID token lives 6 seconds and the issuer's clock skew allowance is 0, so the session's first
 * token expires between its two model calls (the stand-in answers the first one only after the
 * token has expired): the second call is refused by the gateway, Claude Code runs its apiKeyHelper
 * (`gatehouse token`) again, which refreshes at the issuer, and the retried call goes through.
 */
const ROOT = join(new URL('.', import.meta.url).pathname, '../../..');
const CLAUDE = join(ROOT, 'node_modules/.bin/claude');
const TOKEN_TTL_SECONDS = 6;

describe('Claude Code through the gateway, configured by gatehouse setup claude-code', () => {
  let idp: LoginIssuer;
  let tg: TestGateway;
  let standIn: Upstream;
  let dir: string;
  let bundle: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gh-claude-'));
    idp = await startLoginIssuer({ idTokenTtl: TOKEN_TTL_SECONDS });
    standIn = await startMessagesStandIn();
    process.env.GH_TEST_ANTHROPIC_KEY = FAKE_ANTHROPIC_KEY;
    [tg, bundle] = await Promise.all([
      startTestGateway(() => ({
        identity: { issuers: [{ name: 'corp', issuer: idp.issuer, audiences: [LOGIN_CLIENT_ID], groupsClaim: 'groups', clockSkewSeconds: 0 }] },
        login: { issuer: 'corp', clientId: LOGIN_CLIENT_ID, scopes: ['openid', 'email', 'groups', 'offline_access'] },
        policy: { cedar: 'permit (principal in Gatehouse::Group::"developers", action, resource);' },
        connections: [
          {
            name: 'anthropic',
            kind: 'http',
            upstream: standIn.url,
            route: { pathPrefix: '/anthropic' },
            llm: 'anthropic',
            credential: { type: 'header', header: 'x-api-key', secret: 'env:GH_TEST_ANTHROPIC_KEY' },
          },
        ],
      })),
      buildGatewayBundle(dir),
    ]);
    const home = join(dir, 'home');
    mkdirSync(home);
    // What a person's shell would hold: no vendor key, HOME and the config dirs in the temp dir.
    env = { PATH: `${ROOT}/node_modules/.bin:/usr/bin:/bin`, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), CLAUDE_CONFIG_DIR: join(home, '.claude') };
  }, 120_000);
  afterAll(async () => {
    await tg?.stop();
    await standIn?.close();
    await idp?.close();
    rmSync(dir, { recursive: true, force: true });
    delete process.env.GH_TEST_ANTHROPIC_KEY;
  });

  test('login, setup, claude -p: the answer comes back, the upstream sees only the brokered key, and the expired token is refreshed mid-session', async () => {
    // 1. gatehouse login (the browser's part played over HTTP).
    const login = await loginCommand([tg.url], { out: () => undefined, err: () => undefined }, { env, openBrowser: async (url) => (await idp.signInAt(url), true) });
    expect(login).toBe(0);

    // 2. gatehouse setup claude-code, by the built bundle: the helper it writes is the shell fast
    // path shipped beside the bundle, calling that bundle back for refreshes. The token lives
    // shorter than the refresh margin, so every call here goes through to the Node command.
    const setup = await exec(process.execPath, [bundle, 'setup', 'claude-code', tg.url], env);
    expect(setup.code).toBe(0);
    const settings = JSON.parse(readFileSync(join(env.CLAUDE_CONFIG_DIR!, 'settings.json'), 'utf8'));
    expect(settings.apiKeyHelper).toBe(`${join(dirname(bundle), 'gatehouse-token')} ${tg.url} -- ${process.execPath} ${bundle}`);
    expect(settings.env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC).toBe('1');

    // 3. claude -p, from a project directory, nothing else configured.
    const refreshesBefore = idp.grants.refresh_token ?? 0;
    const work = join(dir, 'project');
    mkdirSync(work);
    const run = await exec(CLAUDE, ['-p', 'hello', '--output-format', 'json'], env, work);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { is_error: boolean; result: string; num_turns: number };
    expect(result).toMatchObject({ is_error: false, result: 'Nothing matched: done.', num_turns: 2 });

    // Both model calls reached the stand-in, each with the brokered key and nothing of the caller's.
    expect(standIn.received.map((r) => r.url)).toEqual(['/v1/messages?beta=true', '/v1/messages?beta=true']);
    for (const r of standIn.received) {
      expect(r.headers['x-api-key']).toBe(FAKE_ANTHROPIC_KEY);
      expect(r.headers.authorization).toBeUndefined();
      expect(JSON.stringify(r.headers)).not.toMatch(/eyJ[\w-]+\.[\w-]+\./); // no JWT in any header
    }
    // The expired token was refused once, then a refreshed one was used: no one logged in again.
    await tg.gateway.recorder.flush();
    const events = await readEvents(tg.gateway.sink);
    const failures = events.filter((e) => e.type === 'auth.failure').map((e) => (e.payload as { code: string }).code);
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(new Set(failures)).toEqual(new Set(['GH_ERR_TOKEN_EXPIRED']));
    expect((idp.grants.refresh_token ?? 0) - refreshesBefore).toBeGreaterThanOrEqual(2); // at start, and after the refusal
    expect(idp.grants.authorization_code).toBe(1);

    // 4. gatehouse doctor agrees: every check passes, Claude Code's included (its helper was run).
    const doctor = await exec(process.execPath, [bundle, 'doctor', tg.url], env, work);
    expect(doctor.stdout).toMatch(/^ok    claude-code\s+routes through http:\/\/127\.0\.0\.1:\d+\/anthropic, apiKeyHelper prints a token/m);
    expect(doctor.stdout).toMatch(/^ok    connection anthropic\s+GET \/anthropic\/v1\/models went through \(the upstream answered 404\)/m);
    expect(doctor.stdout).toContain('All checks passed.');
    expect(doctor.code).toBe(0);
  }, 120_000);
});

/**
 * A stand-in for the Messages API (streaming, as Claude Code asks): the first turn answers with a
 * Glob tool call (a read-only tool that needs no permission in -p mode) once the caller's token has
 * expired, so the next turn must carry a new one; the turn with the tool result ends with text.
 * It checks the brokered key as the real API would.
 */
async function startMessagesStandIn(): Promise<Upstream> {
  return startUpstream(async (req, res, body) => {
    if (req.headers['x-api-key'] !== FAKE_ANTHROPIC_KEY) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } }));
      return;
    }
    if (req.method !== 'POST' || !(req.url ?? '').startsWith('/v1/messages')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: 'Not found' } }));
      return;
    }
    const request = JSON.parse(body.toString('utf8')) as { model: string; messages: { content: unknown }[] };
    const last = request.messages[request.messages.length - 1]!.content;
    const afterTool = Array.isArray(last) && last.some((b: { type?: string }) => b.type === 'tool_result');
    // The gateway checked the token when this request arrived; answer once it can no longer pass.
    if (!afterTool) await new Promise((resolve) => setTimeout(resolve, (TOKEN_TTL_SECONDS + 1) * 1000));
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send('message_start', { type: 'message_start', message: { id: 'msg_stand_in', type: 'message', role: 'assistant', model: request.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } } });
    if (afterTool) {
      send('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
      send('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Nothing matched: done.' } });
    } else {
      send('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_stand_in_1', name: 'Glob', input: {} } });
      send('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: JSON.stringify({ pattern: '*.matches-nothing' }) } });
    }
    send('content_block_stop', { type: 'content_block_stop', index: 0 });
    send('message_delta', { type: 'message_delta', delta: { stop_reason: afterTool ? 'end_turn' : 'tool_use', stop_sequence: null }, usage: { output_tokens: 5 } });
    send('message_stop', { type: 'message_stop' });
    res.end();
  });
}

function exec(file: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { env, cwd, timeout: 90_000, maxBuffer: 8 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
    child.stdin?.end();
  });
}
