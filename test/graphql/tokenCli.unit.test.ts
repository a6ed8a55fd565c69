import { verifyToken } from '../../src/graphql/auth';
import { runTokenCli } from '../../src/cli/token';

const run = async (argv: string[], env: Record<string, string> = {}) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runTokenCli(argv, env, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
};

describe('token CLI', () => {
  it('prints a token signed with AUTH_TOKEN_SECRET', async () => {
    const secret = 's'.repeat(40);
    const { code, out, err } = await run(['--role', 'mentor', '--subject', 'bob', '--user-id', 'user-7', '--expires', '2h'], { AUTH_TOKEN_SECRET: secret });
    expect(code).toBe(0);
    expect(err).toBe('');
    await expect(verifyToken(secret, out)).resolves.toEqual({ id: 'bob', role: 'mentor', userId: 'user-7', expiresAt: expect.any(Date), issuedAt: expect.any(Date), subject: 'bob', issuer: 'mentoring-lifecycle', tokenId: expect.any(String), keyId: 'default' });
  });

  it.each([
    [[], 'Missing --role.'],
    [['--role', 'admin'], 'Missing --subject.'],
    [['--role', 'system', '--subject', 'x'], '--role must be one of admin, coordinator, mentor, mentee, manager, auditor, analyst; got "system".'],
    [['--role', 'admin', '--subject', 'x', '--expires', 'soon'], '--expires must be seconds or a duration'],
    [['--role', 'admin', '--subject', 'x', '--colour', 'red'], "Unknown option '--colour'"],
    [['--role', 'admin', '--subject', 'x', '--expires', '2d'], '--expires 2d is longer than the 86400 s the server accepts (AUTH_MAX_TOKEN_LIFETIME)'],
  ])('exits 2 with usage on bad arguments %p', async (argv, problem) => {
    const { code, out, err } = await run(argv);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toContain(problem);
    expect(err).toContain('Usage: mentoring-token --role <role> --subject <actor-id>');
  });

  it('prints usage on --help', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(0);
    expect(out).toContain('Usage:');
  });
});

describe('token CLI permissions', () => {
  it('puts repeated --permission flags in the token, where verification finds them', async () => {
    const { RAW_PERSONAL_DATA } = await import('../../src/graphql/auth');
    const secret = 's'.repeat(40);
    const out: string[] = [];
    const code = await runTokenCli(['--role', 'analyst', '--subject', 'ana', '--permission', RAW_PERSONAL_DATA], { AUTH_TOKEN_SECRET: secret }, { out: (l) => out.push(l), err: () => undefined });
    expect(code).toBe(0);
    expect(await verifyToken(secret, out[0]!)).toMatchObject({ id: 'ana', role: 'analyst', permissions: [RAW_PERSONAL_DATA] });
  });

  it('writes the configured audience and a token id, and follows AUTH_MAX_TOKEN_LIFETIME', async () => {
    const secret = 's'.repeat(40);
    const env = { AUTH_TOKEN_SECRET: secret, AUTH_TOKEN_AUDIENCE: 'mentoring-api', AUTH_MAX_TOKEN_LIFETIME: '7d' };
    const { code, out } = await run(['--role', 'admin', '--subject', 'al', '--expires', '3d'], env);
    expect(code).toBe(0);
    const claims = JSON.parse(Buffer.from(out.split('.')[1]!, 'base64url').toString('utf8'));
    expect(claims).toMatchObject({ aud: 'mentoring-api', jti: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    await expect(verifyToken(secret, out, { policy: { audience: 'mentoring-api', maxLifetimeSeconds: 7 * 86400 } })).resolves.toMatchObject({ id: 'al' });
    await expect(verifyToken(secret, out, { policy: { audience: 'another-api' } })).rejects.toThrow('"aud" check');
    await expect(verifyToken(secret, out, { policy: { audience: 'mentoring-api', maxLifetimeSeconds: 86400 } })).rejects.toThrow('lifetime check');
  });
});
