import { RateLimiter, clientAddress } from '../../src/http/rateLimit';

describe('rate limits', () => {
  const settings = { readsPerMinute: 3, writesPerMinute: 1, addressPerMinute: 10, trustedProxies: [] };

  it('refuse the request over a subject limit, with the seconds until one is free, and refill over time', () => {
    let now = 0;
    const limiter = new RateLimiter(settings, () => now);
    for (let i = 0; i < 3; i += 1) expect(limiter.take('read', '10.0.0.1', 'ann').ok).toBe(true);
    expect(limiter.take('read', '10.0.0.1', 'ann')).toEqual({ ok: false, retryAfterSeconds: 20, limit: '3 reads a minute for one token subject' });
    // Writes and other subjects have their own buckets.
    expect(limiter.take('write', '10.0.0.1', 'ann').ok).toBe(true);
    expect(limiter.take('write', '10.0.0.1', 'ann')).toMatchObject({ ok: false, retryAfterSeconds: 60 });
    expect(limiter.take('read', '10.0.0.1', 'bob').ok).toBe(true);
    now += 20_000;
    expect(limiter.take('read', '10.0.0.1', 'ann').ok).toBe(true);
    expect(limiter.take('read', '10.0.0.1', 'ann').ok).toBe(false);
  });

  it('limit an address whatever the tokens, and a refused request takes nothing', () => {
    const limiter = new RateLimiter(settings, () => 0);
    for (let i = 0; i < 10; i += 1) expect(limiter.take('read', '10.0.0.2', `user-${i}`).ok).toBe(true);
    expect(limiter.take('read', '10.0.0.2', 'user-99')).toMatchObject({ ok: false, limit: '10 requests a minute from one address' });
    expect(limiter.take('read', '10.0.0.3', 'user-99').ok).toBe(true);
  });

  it('believe X-Forwarded-For only from a trusted proxy, and only its nearest untrusted hop', () => {
    expect(clientAddress('203.0.113.9', '1.2.3.4', [])).toBe('203.0.113.9');
    expect(clientAddress('::ffff:10.0.0.5', '1.2.3.4', ['10.0.0.5'])).toBe('1.2.3.4');
    expect(clientAddress('10.0.0.5', '6.6.6.6, 198.51.100.7, 10.0.0.6', ['10.0.0.5', '10.0.0.6'])).toBe('198.51.100.7');
    expect(clientAddress('10.0.0.5', undefined, ['10.0.0.5'])).toBe('10.0.0.5');
  });
});
