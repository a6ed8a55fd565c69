import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { startTestApp, type TestApp } from '../support/testApp';

announcePostgresSkip('rate limits');

describe.each(sqlBackends())('rate limits over HTTP on $name', ({ open }) => {
  let t: TestApp;
  let ann: string;
  let bob: string;

  beforeAll(async () => {
    t = await startTestApp(await open(), undefined, {
      env: { RATE_LIMIT_READS_PER_MINUTE: '5', RATE_LIMIT_WRITES_PER_MINUTE: '2', RATE_LIMIT_ADDRESS_PER_MINUTE: '40', TRUSTED_PROXIES: '127.0.0.1' },
    });
    ann = await t.token('admin', 'ann');
    bob = await t.token('admin', 'bob');
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  const post = (token: string, query: string, forwardedFor?: string) =>
    fetch(new URL('graphql', t.http.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) },
      body: JSON.stringify({ query }),
    });

  test('a subject over its write limit gets 429 with Retry-After, and nothing is written', async () => {
    const create = (name: string) => post(ann, `mutation { createProgram(input: { name: "${name}", timeZone: "UTC" }) { errors { code } } }`, '198.51.100.1');
    expect((await create('Rate 1')).status).toBe(200);
    expect((await create('Rate 2')).status).toBe(200);
    const head = await t.app.store.readCommittedHead();
    const refused = await create('Rate 3');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = (await refused.json()) as { errors: { message: string; extensions: { code: string; retryAfterSeconds: number } }[] };
    expect(body.errors[0]!.extensions).toMatchObject({ code: 'RATE_LIMITED' });
    expect(body.errors[0]!.message).toContain('2 mutations a minute for one token subject');
    expect(await t.app.store.readCommittedHead()).toEqual(head);
    // Another subject still writes, and ann still reads.
    expect((await post(bob, `mutation { createProgram(input: { name: "Rate 4", timeZone: "UTC" }) { errors { code } } }`, '198.51.100.2')).status).toBe(200);
    expect((await post(ann, '{ health { status } }', '198.51.100.1')).status).toBe(200);
  });

  test('reads have their own limit per subject', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) statuses.push((await post(bob, '{ programs { id } }', '198.51.100.3')).status);
    expect(statuses.slice(0, 5).every((status) => status === 200)).toBe(true);
    expect(statuses[5]).toBe(429);
  });

  test('a client address behind the trusted proxy is limited by its forwarded address, signed in or not', async () => {
    const anonymous = (address: string) =>
      fetch(new URL('graphql', t.http.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
        body: JSON.stringify({ query: '{ health { status } }' }),
      });
    // Sent at once, so the bucket (refilled at 40 a minute) barely refills while they arrive.
    const responses = await Promise.all(Array.from({ length: 60 }, () => anonymous('203.0.113.50')));
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(40);
    expect(statuses.filter((status) => status === 200).length).toBeLessThan(50);
    expect(statuses.every((status) => status === 200 || status === 429)).toBe(true);
    const refused = responses.find((response) => response.status === 429)!;
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await refused.json()) as { errors: { message: string }[] }).errors[0]!.message).toContain('40 requests a minute from one address');
    expect((await anonymous('203.0.113.51')).status).toBe(200);
  });
});
