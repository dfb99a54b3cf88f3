import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CONTENT_SECURITY_POLICY } from '../../../../gateway/src/admin/console/router';
import { startTestGateway, type TestGateway } from '../../../support/gateway';
import { startTestIssuer, type TestIssuer } from '../../../support/oidc-issuer';
import { startEcho, type Upstream } from '../../../support/upstreams';
import { freePort } from '../../../support/ports';

/**
 * The console in a real browser (Debian's Chromium through playwright-core) against a whole
 * in-process gateway, with oidc-provider as the people's IdP: log in through the authorization
 * code flow, find a session, open it, approve and deny waiting requests (the agent's request
 * completes or is refused), and a non-admin cannot see someone else's session. One browser for
 * the file. With GATEHOUSE_SCREENSHOTS=<dir> it also saves the pages for the docs.
 */
const POLICY = `
@id("developers-read")
permit (principal in Gatehouse::Group::"developers", action == Gatehouse::Action::"http:GET", resource);

@id("deletes-need-approval")
@decision("review")
permit (principal in Gatehouse::Group::"developers", action == Gatehouse::Action::"http:DELETE", resource);
`;
const SHOTS = process.env.GATEHOUSE_SCREENSHOTS;


describe('web console in a real browser', () => {
  let idp: TestIssuer;
  let echo: Upstream;
  let gw: TestGateway;
  let browser: Browser;
  let console: string;
  const errors: string[] = [];

  const agent = async (method: string, path: string, sub = 'ada'): Promise<Response> => {
    const token = await idp.mintToken({ sub, email: `${sub}@example.test`, groups: ['developers'] });
    return fetch(`${gw.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  };

  /** A browser context logged in as `login` through the issuer's form. */
  const loginAs = async (login: string): Promise<{ context: BrowserContext; page: Page }> => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' && page.url().startsWith(console)) errors.push(`${login}: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`${login}: ${e.message}`));
    await page.goto(`${console}/console/sessions`);
    expect(page.url().startsWith(idp.issuer)).toBe(true);
    await page.fill('input[name=login]', login);
    await page.fill('input[name=password]', 'any');
    await page.click('button[type=submit]');
    await page.waitForURL(`${console}/console/sessions`);
    return { context, page };
  };

  const shot = async (page: Page, name: string): Promise<void> => {
    if (SHOTS !== undefined) await page.screenshot({ path: join(SHOTS, `console-${name}.png`), fullPage: false });
  };

  beforeAll(async () => {
    if (SHOTS !== undefined) mkdirSync(SHOTS, { recursive: true });
    const port = await freePort();
    console = `http://127.0.0.1:${port}`;
    idp = await startTestIssuer({
      loginClient: {
        clientId: 'gatehouse-console',
        redirectUri: `${console}/console/callback`,
        accounts: { grace: { groups: ['approvers', 'gatehouse-admins'] }, mallory: { groups: ['developers'] } },
      },
    });
    echo = await startEcho();
    gw = await startTestGateway(() => ({
      listeners: { admin: { address: '127.0.0.1', port, allowPlaintext: true } },
      identity: { issuers: [{ name: 'corp', issuer: idp.issuer, audiences: ['gatehouse', 'gatehouse-console'], algorithms: ['RS256'] }] },
      policy: { cedar: POLICY },
      connections: [{ name: 'api', kind: 'http', upstream: echo.url, route: { pathPrefix: '/api' } }],
      admin: { groups: ['gatehouse-admins'] },
      approvals: { approverGroups: ['approvers'], pollIntervalMs: 100, timeoutSeconds: 120 },
      // Events indexed as with PostgreSQL (off by default on the embedded store): the full-text
      // and decision filters are on the page, and in the docs' screenshots.
      state: { indexEvents: true },
      console: { enabled: true, issuer: 'corp', clientId: 'gatehouse-console', externalUrl: console },
    }));
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await echo?.close();
    await idp?.close();
  });

  let adaSession = '';

  it('an admin logs in through the OIDC flow, filters the sessions and opens one', async () => {
    expect((await agent('GET', '/api/hello')).status).toBe(200);
    expect((await agent('GET', '/api/other', 'bea')).status).toBe(200);
    const { context, page } = await loginAs('grace');
    const response = await page.goto(`${console}/console/sessions`);
    expect(response?.headers()['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === '__Host-gatehouse-console')).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax' });
    expect(await page.locator('header .who').textContent()).toContain('grace');
    await shot(page, 'sessions');

    // Full text: ada asked for /api/hello, bea for /api/other.
    await page.fill('input[name=q]', 'hello');
    await page.click('form.filters button[type=submit]');
    await page.waitForURL(/q=hello/);
    const rows = page.locator('tbody tr[data-row]');
    expect(await rows.count()).toBeGreaterThan(0);
    expect(await page.locator('tbody').textContent()).not.toContain('bea@');
    const link = rows.first().locator('a').first();
    adaSession = (await link.textContent()) ?? '';
    await link.click();
    await page.waitForURL(/\/console\/sessions\/[^/]+$/);
    expect(await page.locator('h1').textContent()).toContain(adaSession);
    expect(await page.locator('main').textContent()).toContain('/hello');
    expect(await page.locator('a[href$="/export.json"]').count()).toBe(1);
    await shot(page, 'session');
    await context.close();
  });

  it('approves a waiting request (it appears live) and the agent request completes; denies another', async () => {
    const { context, page } = await loginAs('grace');
    await page.goto(`${console}/console/approvals`);
    expect(await page.locator('#live-region').textContent()).toContain('Nothing is waiting');
    const first = agent('DELETE', '/api/items/1');
    // No reload: console.js swaps the list in when the server-sent event says it changed.
    await page.locator('#live-region a', { hasText: 'DELETE' }).first().waitFor({ timeout: 15_000 });
    await shot(page, 'approvals');
    await page.locator('#live-region a', { hasText: 'DELETE' }).first().click();
    await page.waitForURL(/\/console\/approvals\/[^/?]+$/);
    expect(await page.locator('main').textContent()).toContain('deletes-need-approval');
    await shot(page, 'approval');
    await page.fill('input[name=reason]', 'ticket OPS-7');
    await page.click('button[value=approve]');
    await page.waitForURL(/decided=approve/);
    expect(await page.locator('main').textContent()).toContain('granted');
    const done = await first;
    expect(done.status).toBe(200);

    const second = agent('DELETE', '/api/items/2');
    await page.goto(`${console}/console/approvals`);
    await page.locator('#live-region a', { hasText: '/items/2' }).first().waitFor({ timeout: 15_000 });
    await page.locator('#live-region a', { hasText: '/items/2' }).first().click();
    await page.fill('input[name=reason]', 'not during the freeze');
    await page.click('button[value=deny]');
    await page.waitForURL(/decided=deny/);
    expect((await second).status).toBe(403);
    await context.close();
  }, 60_000);

  it("a non-admin sees only their own sessions and cannot open someone else's", async () => {
    expect(adaSession).not.toBe('');
    await agent('GET', '/api/mine', 'mallory');
    const { context, page } = await loginAs('mallory');
    const body = await page.locator('main').textContent();
    expect(body).toContain('You see your own sessions');
    expect(body).not.toContain(adaSession);
    // The refusals below are the point: their "failed to load" console lines are not errors here.
    const before = errors.length;
    const other = await page.goto(`${console}/console/sessions/${adaSession}`);
    expect(other?.status()).toBe(404);
    expect((await page.goto(`${console}/console/sessions/${adaSession}/export.json`))?.status()).toBe(404);
    expect((await page.goto(`${console}/console/approvals`))?.status()).toBe(403);
    expect(errors.splice(before).every((e) => /Failed to load resource: the server responded with a status of 40[34]/.test(e))).toBe(true);
    await context.close();
  });

  it('logged no browser console errors (CSP violations included)', () => {
    expect(errors).toEqual([]);
  });
});
