import { ConfigError, loadConfig } from '../../src/config';

describe('security settings in the configuration', () => {
  it('has rate limits, the explorer and introspection on by default', () => {
    const config = loadConfig({});
    expect(config.rateLimits).toEqual({ readsPerMinute: 600, writesPerMinute: 120, addressPerMinute: 3000, trustedProxies: [] });
    expect(config.explorer).toBe(true);
    expect(config.introspection).toBe(true);
    expect(config.maxQueryAliases).toBe(50);
    expect(config.maxExpensiveFields).toBe(2);
  });

  it('reads them from the environment', () => {
    const config = loadConfig({
      RATE_LIMIT_READS_PER_MINUTE: '0',
      RATE_LIMIT_WRITES_PER_MINUTE: '30',
      RATE_LIMIT_ADDRESS_PER_MINUTE: '100',
      TRUSTED_PROXIES: '10.0.0.1, ::1',
      EXPLORER: 'false',
      INTROSPECTION: 'off',
    });
    expect(config.rateLimits).toEqual({ readsPerMinute: 0, writesPerMinute: 30, addressPerMinute: 100, trustedProxies: ['10.0.0.1', '::1'] });
    expect(config.explorer).toBe(false);
    expect(config.introspection).toBe(false);
  });

  it('refuses a trusted proxy that is not an IP address', () => {
    expect(() => loadConfig({ TRUSTED_PROXIES: 'proxy.internal' })).toThrow(
      new ConfigError('TRUSTED_PROXIES must list IP addresses separated by commas; "proxy.internal" is not one.'),
    );
  });
});
