import Anthropic from '@anthropic-ai/sdk';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import pg from 'pg';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { Client as SshClient } from 'ssh2';
import { CONTENT_SECURITY_POLICY, PLAYER_CONTENT_SECURITY_POLICY } from '../../../../gateway/src/admin/console/router';
import { sshConnectionSchema } from '../../../../gateway/src/config/schema';
import { mintDevToken } from '../../../../gateway/src/identity/dev-issuer';
import { silentLogger } from '../../../../gateway/src/observability/logger';
import { SshKeyRegistry } from '../../../../gateway/src/protocols/ssh/key-registry';
import { SshGateway } from '../../../../gateway/src/protocols/ssh/server';
import { startTestGateway, type TestGateway } from '../../../support/gateway';
import { readEvents } from '../../../support/pg-gateway';
import { startPostgres, type TestPostgres } from '../../../support/postgres';
import { sshKeygen, startSshd, type Sshd } from '../../../support/sshd';
import { FAKE_ANTHROPIC_KEY, startFakeAnthropic, type Upstream } from '../../../support/upstreams';
import { freePort } from '../../../support/ports';

/**
 * The session page in a real browser (Debian's Chromium through playwright-core), on sessions a
 * whole gateway recorded from real clients: an LLM conversation (Anthropic SDK, fake Anthropic,
 * masking on) with what was masked shown as masked; a PostgreSQL session (node-postgres, real
 * PostgreSQL 15) with its result table, masked column values and error; a terminal session (ssh2
 * client, the gateway's SSH server, real OpenSSH) replayed by the asciinema player under the
 * page's Content-Security-Policy without a violation; the verification badge green, then red with
 * its reason once a recorded segment is edited. One browser, logged in once through the
 * development issuer.
 */
const AWS_KEY = 'AKIAIOSFODNN7EXAMPLE';
const EMAIL = 'ada.lovelace@example.com';
const POLICY = 'permit (principal in Gatehouse::Group::"developers", action, resource);';


describe('console session pages in a real browser', () => {
  let db: TestPostgres;
  let anthropic: Upstream;
  let sshd: Sshd;
  let ssh: SshGateway;
  let gw: TestGateway;
  let browser: Browser;
  let context: BrowserContext;
  let consoleUrl: string;
  const ids = { llm: '', sql: '', ssh: '' };

  /** Opens a page, collecting console errors and CSP violations (reported to a listener installed before any page script). */
  const open = async (path: string): Promise<{ page: Page; problems: () => Promise<string[]>; csp: string | undefined }> => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    page.on('pageerror', (e) => errors.push(e.message));
    const response = await page.goto(`${consoleUrl}${path}`);
    expect(response?.status()).toBe(200);
    return {
      page,
      csp: response?.headers()['content-security-policy'],
      problems: async () => [...errors, ...(await page.evaluate(() => (globalThis as unknown as { __csp?: string[] }).__csp ?? []))],
    };
  };

  beforeAll(async () => {
    const port = await freePort();
    consoleUrl = `http://127.0.0.1:${port}`;
    [db, anthropic] = await Promise.all([startPostgres({ database: 'appdb' }), startFakeAnthropic()]);
    process.env.GH_E2E_ANTHROPIC_KEY = FAKE_ANTHROPIC_KEY;
    gw = await startTestGateway((dir) => ({
      listeners: { admin: { address: '127.0.0.1', port, allowPlaintext: true }, postgres: { address: '127.0.0.1', port: 0, allowPlaintext: true } },
      identity: { devIssuer: { enabled: true, keyPath: join(dir, 'dev-issuer.json') } },
      policy: { cedar: POLICY },
      connections: [
        { name: 'anthropic', kind: 'http', upstream: anthropic.url, route: { pathPrefix: '/anthropic' }, llm: 'anthropic', masking: {}, credential: { type: 'header', header: 'x-api-key', secret: 'env:GH_E2E_ANTHROPIC_KEY' } },
        { name: 'appdb', kind: 'postgres', upstream: { host: '127.0.0.1', port: db.port, database: 'appdb', user: 'postgres', tls: { mode: 'disable' } }, masking: {} },
      ],
      admin: { groups: ['gatehouse-admins'] },
      console: { enabled: true, issuer: 'dev', externalUrl: consoleUrl },
    }));
    const token = (sub: string) => mintDevToken({ subject: sub, groups: ['developers'], keyPath: gw.config.identity.devIssuer.keyPath, createKey: false });

    // An LLM conversation with a secret in the prompt.
    const claude = new Anthropic({ baseURL: `${gw.url}/anthropic`, apiKey: await token('ada'), maxRetries: 0 });
    await claude.messages
      .stream({
        model: 'claude-sonnet-4-5',
        max_tokens: 512,
        system: 'You are a weather bot.',
        tools: [{ name: 'get_weather', description: 'weather', input_schema: { type: 'object', properties: { location: { type: 'string' } } } }],
        messages: [{ role: 'user', content: `What is the weather in Paris? My key is ${AWS_KEY}` }],
      })
      .finalMessage();
    // The conversation is recorded when the gateway has seen the whole answer, which can follow the client's last byte.
    for (let tries = 0; !(await readEvents(gw.gateway.sink)).some((e) => e.type === 'llm.exchange'); tries++) {
      if (tries === 200) throw new Error('the gateway recorded no llm.exchange event');
      await gw.gateway.recorder.flush();
      await new Promise((r) => setTimeout(r, 50));
    }

    // A SQL session: a result with a masked column value, and an error.
    const direct = new pg.Client({ connectionString: db.url });
    await direct.connect();
    await direct.query('create table people (id int primary key, name text, email text)');
    await direct.query(`insert into people values (1, 'Ada', '${EMAIL}'), (2, 'Grace', null)`);
    await direct.end();
    const client = new pg.Client({ host: '127.0.0.1', port: gw.gateway.postgres!.port, user: 'bea', database: 'appdb', password: await token('bea'), ssl: false });
    await client.connect();
    expect((await client.query('select id, name, email from people order by id')).rows).toHaveLength(2);
    await expect(client.query('select * from no_such_table')).rejects.toThrow(/does not exist/);
    await client.end();

    // A terminal session: the gateway's SSH server on the same pipeline, a real OpenSSH upstream.
    const sshDir = join(gw.dir, 'ssh');
    await mkdir(sshDir);
    const broker = sshKeygen(sshDir, 'broker');
    const hostKey = sshKeygen(sshDir, 'gateway-host');
    const user = sshKeygen(sshDir, 'client');
    sshd = await startSshd(sshDir, [broker.publicKey]);
    process.env.GH_E2E_BROKER_KEY = broker.privateKey;
    process.env.GH_E2E_HOST_KEY = hostKey.privateKey;
    const keys = new SshKeyRegistry();
    ssh = new SshGateway({
      pipeline: gw.gateway.pipeline,
      hostKey: 'env:GH_E2E_HOST_KEY',
      keys,
      connections: [sshConnectionSchema.parse({ name: 'box', kind: 'ssh', upstream: { host: '127.0.0.1', port: sshd.port, user: sshd.user, privateKey: 'env:GH_E2E_BROKER_KEY', hostKey: sshd.hostKey.split(' ').slice(0, 2).join(' ') } })],
      logger: silentLogger(),
    });
    const sshPort = (await ssh.listen(0)).port;
    keys.registerKey(await gw.gateway.pipeline.authenticate(await token('cy'), { address: '127.0.0.1' }, 'ssh'), user.publicKey, new Date(Date.now() + 600_000));
    await new Promise<void>((resolve, reject) => {
      const c = new SshClient();
      c.once('error', reject);
      c.once('ready', () =>
        c.shell({ term: 'xterm', cols: 100, rows: 30 }, (err, ch) => {
          if (err) return reject(err);
          let text = '';
          ch.on('data', (d: Buffer) => {
            text += d.toString();
            if (text.includes('hello-')) ch.write('exit\n');
          });
          ch.on('close', () => {
            c.end();
            resolve();
          });
          ch.write('echo hello-$((6*7))-player\n');
        }),
      );
      c.connect({ host: '127.0.0.1', port: sshPort, username: 'box', privateKey: user.privateKey, hostVerifier: () => true, readyTimeout: 20_000 });
    });

    // Every event so far attested by a signed digest: the badge can be green.
    await gw.gateway.recorder.flush();
    await gw.gateway.recorder.digestNow();

    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // CSP violations fire this event in the page; the listener is installed by the browser before any page script.
    await context.addInitScript({
      content: `document.addEventListener('securitypolicyviolation', function (e) {
        (window.__csp = window.__csp || []).push('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' (' + e.sourceFile + ':' + e.lineNumber + ')');
      });`,
    });
    const page = await context.newPage();
    await page.goto(`${consoleUrl}/console/sessions`);
    await page.fill('input[name=subject]', 'auditor');
    await page.click('form.dev-login button[type=submit]');
    await page.waitForURL(`${consoleUrl}/console/sessions`);
    for (const [name, connection] of [['llm', 'anthropic'], ['sql', 'appdb'], ['ssh', 'box']] as const) {
      await page.goto(`${consoleUrl}/console/sessions?connection=${connection}`);
      const links = page.locator('tbody tr[data-row] td:first-child a');
      expect(await links.count()).toBe(1);
      ids[name] = (await links.first().textContent()) ?? '';
    }
    await page.close();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await ssh?.close();
    await gw?.stop();
    await sshd?.stop();
    await anthropic?.close();
    await db?.stop();
  });

  it('renders the LLM session as a conversation, the secret shown only as masked, verified', async () => {
    const { page, problems, csp } = await open(`/console/sessions/${ids.llm}`);
    expect(csp).toBe(CONTENT_SECURITY_POLICY);
    const llm = page.locator('section.gh-llm').first();
    await llm.waitFor();
    expect(await llm.locator('.gh-role').allTextContents()).toEqual(['system prompt', 'user', 'assistant (answer)']);
    expect(await llm.textContent()).toContain("I'll check the weather in Paris for you.");
    expect(await llm.locator('.gh-tool-name').first().textContent()).toBe('get_weather');
    const masked = await page.locator('mark.gh-masked').allTextContents();
    expect(masked.length).toBeGreaterThan(0);
    expect(masked.every((m) => /^\[[A-Z_]+(:[0-9a-f]+)?\]$/.test(m))).toBe(true);
    expect(await page.locator('main').textContent()).not.toContain(AWS_KEY);
    expect(await page.locator('.gh-badge-verified').textContent()).toContain('verified');
    expect(await problems()).toEqual([]);
    await page.close();
  });

  it('renders the SQL session with its result table, a masked column value and the error, verified', async () => {
    const { page, problems } = await open(`/console/sessions/${ids.sql}`);
    const table = page.locator('table.gh-result').first();
    expect(await table.locator('th').allTextContents()).toEqual(['id', 'name', 'email']);
    const cells = await table.locator('tbody tr').first().locator('td').allTextContents();
    expect(cells.slice(0, 2)).toEqual(['1', 'Ada']);
    expect(cells[2]).toMatch(/^\[[A-Z_]+(:[0-9a-f]+)?\]$/);
    expect(await table.locator('tbody tr').first().locator('mark.gh-masked').count()).toBe(1);
    expect(await table.locator('tbody tr').nth(1).locator('.gh-null').textContent()).toBe('NULL');
    const main = (await page.locator('main').textContent()) ?? '';
    expect(main).not.toContain(EMAIL);
    expect(main).toContain('select * from no_such_table');
    expect(main).toMatch(/42P01.*relation "no_such_table" does not exist/s);
    expect(await page.locator('.gh-badge-verified').count()).toBe(1);
    expect(await problems()).toEqual([]);
    await page.close();
  });

  it('plays the terminal session in the asciinema player at its size, under the page CSP, without a violation', async () => {
    const { page, problems, csp } = await open(`/console/sessions/${ids.ssh}`);
    expect(csp).toBe(PLAYER_CONTENT_SECURITY_POLICY);
    const slot = page.locator('.gh-player[data-player=ready]');
    await slot.waitFor();
    expect(await slot.getAttribute('data-cols')).toBe('100');
    expect(await slot.getAttribute('data-rows')).toBe('30');
    // The player loads asciicast v3 (asciinema-player 3.18 reads v2 and v3).
    expect(await slot.getAttribute('data-cast')).toMatch(/\/export\.cast\?channel=\d+&version=3$/);
    await page.locator('.ap-player').waitFor();
    await page.locator('.ap-player').click(); // start playback
    await page.locator('.ap-term', { hasText: 'hello-42-player' }).waitFor({ timeout: 20_000 });
    expect(await page.locator('.ap-term .ap-line').count()).toBe(30);
    expect(await problems()).toEqual([]);
    await page.close();
  });

  it("needs that one addition: under the console's strict CSP the player's WebAssembly is refused", async () => {
    const page = await context.newPage();
    const url = `${consoleUrl}/console/sessions/${ids.ssh}`;
    await page.route(url, async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, headers: { ...response.headers(), 'content-security-policy': CONTENT_SECURITY_POLICY } });
    });
    await page.goto(url);
    await page.locator('.gh-player[data-player=ready]').waitFor();
    let reported = '';
    for (let tries = 0; tries < 100 && !reported.includes('wasm-eval'); tries++) {
      await new Promise((r) => setTimeout(r, 100));
      reported = (await page.evaluate(() => (globalThis as unknown as { __csp?: string[] }).__csp ?? [])).join('\n');
    }
    expect(reported).toMatch(/CSP violation: script-src\S* blocked wasm-eval/);
    await page.close();
  });

  it('turns the badge red, naming the broken segment and why, once a recorded segment is edited', async () => {
    // Change one recorded value inside the SQL session's segment (still valid gzip and JSON): the
    // segment no longer matches the hash its signed digest lists.
    const sink = gw.gateway.sink;
    let edited = '';
    for (const key of await sink.list('segments/')) {
      const path = join(gw.logDir, key);
      const text = gunzipSync(await readFile(path)).toString('utf8');
      if (!text.includes(ids.sql) || !text.includes('"Grace"')) continue;
      await chmod(path, 0o600);
      await writeFile(path, gzipSync(Buffer.from(text.replace('"Grace"', '"Grave"'), 'utf8')));
      edited = key;
      break;
    }
    expect(edited).not.toBe('');
    const { page } = await open(`/console/sessions/${ids.sql}`);
    const badge = page.locator('.gh-badge-broken');
    expect(await badge.locator('strong').textContent()).toBe('verification failed');
    expect(await badge.locator('code').first().textContent()).toBe('SEGMENT_HASH_MISMATCH');
    expect(await badge.textContent()).toContain(edited);
    expect(((await badge.locator('.gh-badge-reason').textContent()) ?? '').length).toBeGreaterThan(10);
    expect(await page.locator('.gh-badge-verified').count()).toBe(0);
    await page.close();
  });
});
