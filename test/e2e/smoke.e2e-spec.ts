import { relay } from '../factories';
import { startTestApp, TestApp } from '../utils/test-app';

describe('smoke', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('runs a relay through its whole life', async () => {
    const r = await relay(t);
    expect(r.started.relay_status).toBe(1);
    const a = await t.call('POST', `/client/relay/${r.relayId}/started`, { token: r.init.token });
    expect(a.body.data.relay_status).toBe(2);
    const b = await t.call('POST', `/client/relay/${r.relayId}/started`, { token: r.recv.token });
    expect(b.body.data.relay_status).toBe(4);
    const g = await t.call('GET', `/client/relay/${r.relayId}`, { token: r.recv.token });
    expect(g.body.data.status).toBe(4);
    const s = await t.call('POST', `/client/relay/${r.relayId}/stop`, { token: r.recv.token });
    expect(s.body.data.relay_status).toBe(6);
  });
});
