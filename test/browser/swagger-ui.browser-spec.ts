import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Browser, BrowserContext, chromium, Locator, Page, Request } from 'playwright-core';
import { DEV_KEYS } from '../../src/config/app.config';
import { relay, RelayFixture, tokenFor } from '../factories';
import { startTestApp, TestApp } from '../utils/test-app';

/**
 * Swagger UI in a real browser: headless Chromium (the Debian package, driven by playwright-core)
 * opens /docs, authorizes with a client JWT and with the server keys, and runs "Try it out" on
 * client and server operations and on the event stream, reading the answers the way a person
 * would, from the live response panel. Needs /usr/bin/chromium (or CHROMIUM_PATH); `npm test`
 * leaves this project out, `npm run test:browser` runs it.
 *
 * The page is opened under a host name that is not localhost (mapped to the app's 127.0.0.1 by
 * Chromium's resolver, so nothing leaves the machine): plain http there is not a secure context,
 * so the page has no Web Crypto, as for a newcomer opening the docs of a test server. A 127.x.x.x
 * address would not do: browsers count all of 127.0.0.0/8 as potentially trustworthy.
 */
const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUTPUT_DIR = join(__dirname, '..', '..', 'test-output');
const SCREENSHOT = join(OUTPUT_DIR, 'swagger-ui.png');
const SERVER_CALL_SCREENSHOT = join(OUTPUT_DIR, 'swagger-ui-server-call.png');
const FAILURE_SCREENSHOT = join(OUTPUT_DIR, 'swagger-ui-failure.png');
const DOCS_HOST = 'relay-docs.test';

/** Generous: a cold Chromium on a busy CI machine can take seconds per step. */
const STEP_MS = 20_000;
const TEST_MS = 90_000;

const isLoopback = (url: URL) =>
  ['127.0.0.1', 'localhost', '[::1]', DOCS_HOST].includes(url.hostname) || url.protocol === 'data:';

interface LiveAnswer {
  status: number;
  /** The body as the page shows it. */
  text: string;
  /** The body parsed, when it is JSON. */
  body: any;
}

const SERVER_KEYS = `${DEV_KEYS.SERVER_ACCESS_KEY}:${DEV_KEYS.SERVER_SECRET_KEY}`;

describe('Swagger UI in Chromium', () => {
  let t: TestApp | undefined;
  /** The relay the client operations read. */
  let r: RelayFixture;
  /** The relay the server operations read and stop. */
  let served: RelayFixture;
  let token: string;
  let doc: any;
  let docsUrl: string;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let authorized = false;
  /** Set by the last test that drives the page; a failure screenshot is taken without it. */
  let finished = false;
  /** Page errors and requests that tried to leave the machine, reported when a step fails. */
  const problems: string[] = [];
  /** Every request the browser sent, to check that the secret key never left it. */
  const sent: Request[] = [];

  beforeAll(async () => {
    // Whatever is in test-output afterwards comes from this run.
    for (const file of [SCREENSHOT, SERVER_CALL_SCREENSHOT, FAILURE_SCREENSHOT]) {
      rmSync(file, { force: true });
    }
    t = await startTestApp();
    r = await relay(t);
    served = await relay(t);
    // The relay's initiator may read it; the UI acts as that user.
    token = tokenFor(t, r.init.userId);
    doc = (await t.call('GET', '/docs-json')).body;
    docsUrl = `http://${DOCS_HOST}:${new URL(t.baseUrl).port}/docs`;
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
        `--host-resolver-rules=MAP ${DOCS_HOST} 127.0.0.1`,
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
    context.on('request', (request) => sent.push(request));
    page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
    });
  }, TEST_MS);

  afterAll(async () => {
    try {
      if (context !== undefined && !finished && page !== undefined && !page.isClosed()) {
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

  function pathParam(block: Locator, name: string): Locator {
    return block.locator(`tr[data-param-name="${name}"][data-param-in="path"] input`);
  }

  function queryParam(block: Locator, name: string): Locator {
    return block.locator(`tr[data-param-name="${name}"][data-param-in="query"] input`);
  }

  /**
   * Clicks Execute and reads the status and body from the live response table. An earlier
   * answer is cleared first, so that it cannot be read for the new one.
   */
  async function execute(block: Locator): Promise<LiveAnswer> {
    const row = block.locator('.responses-wrapper .live-responses-table tbody tr.response').first();
    const status = row.locator('td.response-col_status');
    const clear = block.locator('button.btn-clear');
    if (await clear.isVisible()) {
      await clear.click();
      await row.waitFor({ state: 'detached' });
    }
    await block.locator('button.execute').click();
    await status.waitFor();
    const statusText = ((await status.textContent()) ?? '').trim();
    const body = row.locator('td.response-col_description .highlight-code pre').first();
    // A request that never got an answer ("Failed to fetch") has a status row but no body.
    await body.waitFor({ timeout: 5_000 }).catch(async () => {
      throw new Error(`no response body; the response row reads: ${await row.innerText()}`);
    });
    const text = (await body.textContent()) ?? '';
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: Number(/^\d{3}/.exec(statusText)?.[0]), text, body: parsed };
  }

  /** Executes, and hands back the answer with the request the browser sent for it. */
  async function executeSeen(
    block: Locator,
    path: string,
  ): Promise<{ answer: LiveAnswer; url: URL; headers: Record<string, string> }> {
    const request = page.waitForRequest((req) => new URL(req.url()).pathname === path);
    const answer = await execute(block);
    const seen = await request;
    return { answer, url: new URL(seen.url()), headers: await seen.allHeaders() };
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

  /** Authorizes one scheme in the open dialog; its field turns into a masked value. */
  async function authorizeScheme(dialog: Locator, inputId: string, value: string): Promise<void> {
    const input = dialog.locator(`#${inputId}`);
    await input.fill(value);
    // The dialog has a form per scheme; `has` is matched inside each form.
    const form = dialog.locator('form', { has: page.locator(`#${inputId}`) });
    await form.locator('.auth-btn-wrapper button.authorize').click();
    await input.waitFor({ state: 'detached' });
  }

  it(
    'opens /docs in a context without Web Crypto and authorizes a JWT and the server keys',
    async () => {
      expect(t!.config.serverAccessKey).toBe(DEV_KEYS.SERVER_ACCESS_KEY);
      expect(t!.config.serverSecretKey).toBe(DEV_KEYS.SERVER_SECRET_KEY);
      await step('open /docs', async () => {
        const answer = await page.goto(docsUrl, { waitUntil: 'load' });
        expect(answer?.status()).toBe(200);
        await page.locator('.swagger-ui .information-container').waitFor();
      });
      expect(new URL(page.url()).host).toBe(new URL(docsUrl).host);
      expect(
        await page.evaluate(() => ({
          // Runs in the page; this project's TypeScript has no DOM types.
          secure: (globalThis as any).isSecureContext,
          subtle: typeof globalThis.crypto?.subtle,
        })),
      ).toEqual({ secure: false, subtle: 'undefined' });
      await step('authorize', async () => {
        await page.locator('.scheme-container .auth-wrapper button.authorize').click();
        const dialog = page.locator('.dialog-ux .modal-ux');
        await dialog.waitFor();
        await authorizeScheme(dialog, 'auth-bearer-value', token);
        await authorizeScheme(dialog, 'api_key_value', SERVER_KEYS);
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
        await pathParam(block, 'relay_id').fill(r.relayId);
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
    },
    TEST_MS,
  );

  it(
    'reads a relay through the server API, signed in the page',
    async () => {
      const path = `/server/relay/${served.relayId}`;
      const block = operation('get', '/server/relay/{relay_id}');
      const { answer, url, headers } = await step('GET /server/relay/{relay_id}', async () => {
        await expand(block);
        await pathParam(block, 'relay_id').fill(served.relayId);
        return executeSeen(block, path);
      });
      expect(headers.authorization).toMatch(/^Qiniu dev-server-access-key:[A-Za-z0-9_-]{27}=$/);
      // Signed for the host the page was opened at, not the address the app listens on.
      expect(url.host).toBe(new URL(docsUrl).host);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        code: 0,
        message: 'success',
        request_id: expect.any(String),
        data: {
          relay_id: served.relayId,
          init_user_id: served.init.userId,
          status: served.started.relay_status,
        },
      });
    },
    TEST_MS,
  );

  it(
    'stops a relay through the server API, signed in the page',
    async () => {
      const path = `/server/relay/${served.relayId}/stop`;
      const block = operation('post', '/server/relay/{relay_id}/stop');
      const { answer, headers } = await step('POST /server/relay/{relay_id}/stop', async () => {
        await expand(block);
        await pathParam(block, 'relay_id').fill(served.relayId);
        return executeSeen(block, path);
      });
      expect(headers.authorization).toMatch(/^Qiniu dev-server-access-key:/);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        code: 0,
        message: 'success',
        data: { relay_id: served.relayId, relay_status: 6 },
      });
      const session = await t!.call('GET', `/client/relay/${served.relayId}`, {
        token: served.init.token,
      });
      expect(session.body.data).toMatchObject({ status: 6, stop_reason: 'admin' });
      // The call as a newcomer sees it, down to the answer: the curl with the signed header, the
      // request URL and the server's response (the documented responses below it left out).
      const top = await block.boundingBox();
      const live = await block.locator('.live-responses-table').boundingBox();
      const scrolled: number = await page.evaluate(() => (globalThis as any).scrollY);
      mkdirSync(OUTPUT_DIR, { recursive: true });
      await page.screenshot({
        path: SERVER_CALL_SCREENSHOT,
        fullPage: true,
        clip: {
          x: top!.x,
          y: top!.y + scrolled,
          width: top!.width,
          height: live!.y + live!.height - top!.y + 8,
        },
      });
    },
    TEST_MS,
  );

  it(
    'keeps both authorizations over a reload, and signs with the kept keys',
    async () => {
      await step('reload', async () => {
        await page.reload({ waitUntil: 'load' });
        await page.locator('.swagger-ui .information-container').waitFor();
        await page.locator('.scheme-container .auth-wrapper button.authorize.locked').waitFor();
      });
      const dialogText = await step('read the authorize dialog', async () => {
        await page.locator('.scheme-container .auth-wrapper button.authorize').click();
        const dialog = page.locator('.dialog-ux .modal-ux');
        await dialog.waitFor();
        const text = await dialog.innerText();
        await dialog.locator('button.btn-done').first().click();
        await dialog.waitFor({ state: 'detached' });
        return text;
      });
      // Both schemes show as authorized, with no field to fill.
      expect(dialogText.match(/Authorized/g)).toHaveLength(2);
      expect(await page.locator('#api_key_value, #auth-bearer-value').count()).toBe(0);
      const block = operation('get', '/server/relay/{relay_id}');
      const { answer } = await step('GET /server/relay/{relay_id} after the reload', async () => {
        await expand(block);
        await pathParam(block, 'relay_id').fill(served.relayId);
        return executeSeen(block, `/server/relay/${served.relayId}`);
      });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ code: 0, data: { status: 6 } });
    },
    TEST_MS,
  );

  it(
    'previews the event stream for a few seconds instead of waiting for its end',
    async () => {
      const block = operation('get', '/client/relay/events');
      await step('open GET /client/relay/events', async () => {
        await expand(block);
        // Replays the session's events from the log, so the preview has some to show.
        await queryParam(block, 'last_event_id').fill('0');
      });
      expect(await block.locator('.opblock-description-wrapper').innerText()).toContain(
        'new EventSource(',
      );
      const started = Date.now();
      const answer = await step('execute the stream', () => execute(block));
      const elapsed = Date.now() - started;
      expect(elapsed).toBeLessThan(10_000);
      expect(answer.status).toBe(200);
      expect(answer.text).toMatch(/^retry: 2000\n/);
      expect(answer.text).toContain('event: relay.status_changed\n');
      expect(answer.text).toContain(`"relay_id":"${r.relayId}"`);
      expect(answer.text).toMatch(/: Swagger UI stopped reading after \d+ s; .*EventSource/);

      const expired = tokenFor(t!, r.init.userId, {
        expiresAt: Math.floor(Date.now() / 1000) - 60,
      });
      const error = await step('execute with an expired token', async () => {
        await page.locator('.scheme-container .auth-wrapper button.authorize').click();
        const dialog = page.locator('.dialog-ux .modal-ux');
        await dialog.waitFor();
        const bearer = dialog.locator('form', { has: page.locator('h4', { hasText: 'bearer' }) });
        await bearer.locator('.auth-btn-wrapper button', { hasText: 'Logout' }).click();
        await authorizeScheme(dialog, 'auth-bearer-value', expired);
        await dialog.locator('button.btn-done').first().click();
        await dialog.waitFor({ state: 'detached' });
        return execute(block);
      });
      // An error is not a stream: the envelope shows as for any other operation.
      expect(error.status).toBe(401);
      expect(error.body).toMatchObject({ code: 499, message: 'token expired' });
      finished = true;
    },
    TEST_MS,
  );

  it('never sent the secret key', async () => {
    expect(sent.length).toBeGreaterThan(0);
    for (const request of sent) {
      const seen = [request.url(), JSON.stringify(await request.allHeaders()), request.postData()];
      expect(seen.join('\n')).not.toContain(DEV_KEYS.SERVER_SECRET_KEY);
    }
  });
});
