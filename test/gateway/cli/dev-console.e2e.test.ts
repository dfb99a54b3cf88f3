import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { mintDevToken } from '../../../gateway/src/identity/dev-issuer';
import { buildGatewayBundle, spawnGateway, stopChild, waitForLog } from '../../support/gateway-process';
import { freePort } from '../../support/ports';

/**
 * `gatehouse dev` (the bundle, as a process, in an empty directory) has a console a person can log
 * in to with no IdP: Chromium opens the console address the banner prints, names itself on the
 * development login, and finds and opens the session its own development token just made.
 */

describe('gatehouse dev: the console with the development issuer, in a real browser', () => {
  let dir: string;
  let child: ChildProcess;
  let browser: Browser;
  let stdout = '';
  const ports = { http: 0, admin: 0, demo: 0 };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gh-dev-console-'));
    const bundle = await buildGatewayBundle(dir);
    ports.http = await freePort();
    ports.admin = await freePort();
    ports.demo = await freePort();
    child = await spawnGateway(bundle, ['dev', '--port', String(ports.http), '--admin-port', String(ports.admin), '--demo-port', String(ports.demo)], dir);
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    [, browser] = await Promise.all([waitForLog(child, 'gatehouse started', 60_000), chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] })]);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    if (child) await stopChild(child);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('prints the console address, and a person logs in there by name and opens their session', async () => {
    const consoleUrl = `http://127.0.0.1:${ports.admin}`;
    // The banner follows the start log line.
    await new Promise<void>((resolve) => {
      const check = (): void => void (stdout.includes('Stop with Ctrl-C') ? resolve() : child.stdout!.once('data', check));
      check();
    });
    expect(stdout).toContain(`console   ${consoleUrl}/console/`);

    const token = await mintDevToken({ subject: 'alice', groups: ['developers'], keyPath: join(dir, '.gatehouse/dev-issuer.json'), createKey: false });
    const hello = await fetch(`http://127.0.0.1:${ports.http}/demo/hello`, { headers: { authorization: `Bearer ${token}` } });
    expect(hello.status).toBe(200);

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${consoleUrl}/console/`);
    expect(page.url()).toBe(`${consoleUrl}/console/login?return_to=%2Fconsole%2Fsessions`);
    expect(await page.locator('input[name=groups]').inputValue()).toBe('gatehouse-admins');
    await page.fill('input[name=subject]', 'alice');
    await page.fill('input[name=groups]', 'developers');
    await page.click('form.dev-login button[type=submit]');
    await page.waitForURL(`${consoleUrl}/console/sessions`);
    expect(await page.locator('header .who').textContent()).toContain('alice');
    const rows = page.locator('tbody tr[data-row]');
    expect(await rows.count()).toBe(1);
    await rows.first().locator('a').first().click();
    await page.waitForURL(/\/console\/sessions\/[^/]+$/);
    expect(await page.locator('main').textContent()).toContain('/hello');
    expect(await page.locator('.gh-badge').count()).toBe(1);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);
});
