/**
 * SIGTERM as an orchestrator sends it: requests already in flight are answered, open streams
 * get a last message and end, and the process exits with code 0 within 10 seconds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signClientToken } from '../../src/auth/client-token';
import { DEV_KEYS } from '../../src/config/app.config';
import { request } from 'node:http';
import { openStream } from '../utils/sse-client';
import { runTypeScript, Spawned } from '../utils/spawned-process';

describe('graceful shutdown', () => {
  let dir: string;
  let service: Spawned;
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'relay-shutdown-'));
    service = runTypeScript('src/main.ts', [], {
      env: { PORT: '0', DATABASE_URL: `sqlite:${join(dir, 'relay.db')}` },
    });
    port = Number((await service.waitFor(/listening on port (\d+)/))[1]);
  });
  afterAll(() => {
    if (service.child.exitCode === null) service.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a request in flight, ends streams with a last message, and exits 0 within 10 s', async () => {
    const baseUrl = `http://127.0.0.1:${port}`;
    const token = signClientToken(DEV_KEYS.JWT_SECRET, {
      appId: 'default',
      userId: 'shutdown_user',
      expiresAt: Math.floor(Date.now() / 1000) + 600,
    });
    const stream = await openStream(baseUrl, '/client/relay/events', { token });
    expect(stream.status).toBe(200);

    // A request the server is in the middle of reading when the signal comes: its headers
    // and half its body are sent before SIGTERM, the rest after.
    const body = JSON.stringify({ title: 'in flight', notice: 'n'.repeat(900) });
    const answered = new Promise<number>((resolve, reject) => {
      const req = request(
        `${baseUrl}/client/live/room/instance`,
        {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 500));
      setTimeout(() => req.end(body.slice(500)), 300);
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const signalled = Date.now();
    service.child.kill('SIGTERM');

    expect(await answered).toBe(200);
    await stream.waitForEnd(10_000);
    expect(stream.comments.map((c) => c.text).pop()).toMatch(/shutting down/);
    const { code, output } = await service.exited;
    expect(code).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(10_000);
    expect(output).toMatch(/SIGTERM: draining/);
    expect(output).toMatch(/drained; bye/);
  }, 30_000);
});
