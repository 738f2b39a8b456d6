import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, BrowserContext, chromium, Locator, Page } from 'playwright-core';
import { relay, RelayFixture, tokenFor } from '../factories';
import { startTestApp, TestApp } from '../utils/test-app';

/**
 * Swagger UI in a real browser: headless Chromium (the Debian package, driven by playwright-core)
 * opens /docs, authorizes with a client JWT and runs "Try it out" on two operations, reading the
 * answers the way a person would, from the live response panel. Needs /usr/bin/chromium (or
 * CHROMIUM_PATH); `npm test` leaves this project out, `npm run test:browser` runs it.
 */
const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUTPUT_DIR = join(__dirname, '..', '..', 'test-output');
const SCREENSHOT = join(OUTPUT_DIR, 'swagger-ui.png');
const FAILURE_SCREENSHOT = join(OUTPUT_DIR, 'swagger-ui-failure.png');

/** Generous: a cold Chromium on a busy CI machine can take seconds per step. */
const STEP_MS = 20_000;
const TEST_MS = 90_000;

const isLoopback = (url: URL) =>
  ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) || url.protocol === 'data:';

interface LiveAnswer {
  status: number;
  body: any;
}

describe('Swagger UI in Chromium', () => {
  let t: TestApp | undefined;
  let r: RelayFixture;
  let token: string;
  let doc: any;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let authorized = false;
  let screenshotTaken = false;
  /** Page errors and requests that tried to leave the machine, reported when a step fails. */
  const problems: string[] = [];

  beforeAll(async () => {
    // Whatever is in test-output afterwards comes from this run.
    rmSync(SCREENSHOT, { force: true });
    rmSync(FAILURE_SCREENSHOT, { force: true });
    t = await startTestApp();
    r = await relay(t);
    // The relay's initiator may read it; the UI acts as that user.
    token = tokenFor(t, r.init.userId);
    doc = (await t.call('GET', '/docs-json')).body;
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      timeout: 60_000,
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(STEP_MS);
    // Hermetic: only the app under test is reachable.
    await context.route(
      (url) => !isLoopback(url),
      async (route) => {
        problems.push(`blocked ${route.request().method()} ${route.request().url()}`);
        await route.abort();
      },
    );
    page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
    });
  }, TEST_MS);

  afterAll(async () => {
    try {
      if (context !== undefined && !screenshotTaken && page !== undefined && !page.isClosed()) {
        mkdirSync(OUTPUT_DIR, { recursive: true });
        await page.screenshot({ path: FAILURE_SCREENSHOT, fullPage: true }).catch(() => undefined);
      }
      await browser?.close();
    } finally {
      await t?.close();
    }
  }, TEST_MS);

  /** The operation's block, by Swagger UI's id `operations-<tag>-<operationId>`. */
  function operation(method: string, path: string): Locator {
    const spec = doc.paths[path]?.[method];
    if (spec === undefined) throw new Error(`no ${method} ${path} in /docs-json`);
    const tag: string = (spec.tags?.[0] ?? 'default').replace(/\s/g, '_');
    return page.locator(`[id="operations-${tag}-${spec.operationId}"]`);
  }

  async function expand(block: Locator): Promise<void> {
    // Without it the dialog may still cover the page and every click below would time out.
    if (!authorized) throw new Error('not authorized: see the first test');
    await block.scrollIntoViewIfNeeded();
    // The summary button, not the whole summary row: that row also holds the lock icon, which
    // opens the authorize dialog.
    await block.locator('.opblock-summary-control').click();
    await block.locator('.opblock-body').waitFor();
    await block.locator('button.try-out__btn').click();
    await block.locator('button.execute').waitFor();
  }

  /** Clicks Execute and reads the status and parsed body from the live response table. */
  async function execute(block: Locator): Promise<LiveAnswer> {
    await block.locator('button.execute').click();
    const row = block.locator('.responses-wrapper .live-responses-table tbody tr.response').first();
    const status = row.locator('td.response-col_status');
    await status.waitFor();
    const statusText = ((await status.textContent()) ?? '').trim();
    const body = row.locator('td.response-col_description .highlight-code pre').first();
    // A request that never got an answer ("Failed to fetch") has a status row but no body.
    await body.waitFor({ timeout: 5_000 }).catch(async () => {
      throw new Error(`no response body; the response row reads: ${await row.innerText()}`);
    });
    const bodyText = (await body.textContent()) ?? '';
    let parsed: unknown;
    try {
      parsed = JSON.parse(bodyText);
    } catch {
      throw new Error(`response body is not JSON (status ${statusText}): ${bodyText}`);
    }
    return { status: Number(/^\d{3}/.exec(statusText)?.[0]), body: parsed };
  }

  async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      // Playwright's call log repeats every retry; its head says what was awaited.
      const message = (error as Error).message.split('\n').slice(0, 12).join('\n');
      const detail = problems.length > 0 ? `\n${problems.join('\n')}` : '';
      throw new Error(`${name}: ${message}${detail}`);
    }
  }

  it(
    'authorizes with a development token',
    async () => {
      await step('open /docs', async () => {
        const answer = await page.goto(`${t!.baseUrl}/docs`, { waitUntil: 'load' });
        expect(answer?.status()).toBe(200);
        await page.locator('.swagger-ui .information-container').waitFor();
      });
      await step('authorize', async () => {
        const openButton = page.locator('.scheme-container .auth-wrapper button.authorize');
        await openButton.click();
        const dialog = page.locator('.dialog-ux .modal-ux');
        await dialog.waitFor();
        const input = dialog.locator('#auth-bearer-value');
        await input.fill(token);
        // The dialog has a form per scheme; `has` is matched inside each form.
        const form = dialog.locator('form', { has: page.locator('#auth-bearer-value') });
        await form.locator('.auth-btn-wrapper button.authorize').click();
        // Once authorized the field turns into a masked value.
        await input.waitFor({ state: 'detached' });
        await dialog.locator('button.btn-done').first().click();
        await dialog.waitFor({ state: 'detached' });
        await page.locator('.scheme-container .auth-wrapper button.authorize.locked').waitFor();
      });
      authorized = true;
    },
    TEST_MS,
  );

  it(
    'creates a room with Try it out and sees 200 and the envelope',
    async () => {
      const block = operation('post', '/client/live/room/instance');
      const answer = await step('POST /client/live/room/instance', async () => {
        await expand(block);
        await block.locator('textarea.body-param__text').fill('{"title": "from the browser"}');
        return execute(block);
      });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        code: 0,
        message: 'success',
        request_id: expect.any(String),
        data: { live_id: expect.any(String), title: 'from the browser' },
      });
      // The browser's request reached the app as the UI's user.
      const info = await t!.call('GET', `/client/live/room/info/${answer.body.data.live_id}`, {
        token,
      });
      expect(info.body.data).toMatchObject({
        live_id: answer.body.data.live_id,
        title: 'from the browser',
      });
    },
    TEST_MS,
  );

  it(
    'reads a relay with Try it out and sees 200 and the envelope',
    async () => {
      const block = operation('get', '/client/relay/{relay_id}');
      const answer = await step('GET /client/relay/{relay_id}', async () => {
        await expand(block);
        await block
          .locator('tr[data-param-name="relay_id"][data-param-in="path"] input')
          .fill(r.relayId);
        return execute(block);
      });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        code: 0,
        message: 'success',
        request_id: expect.any(String),
        data: { relay_id: r.relayId },
      });
      mkdirSync(OUTPUT_DIR, { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      screenshotTaken = true;
    },
    TEST_MS,
  );
});
