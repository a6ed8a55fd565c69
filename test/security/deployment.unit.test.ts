import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The shipped files carry no secret and publish nothing on every interface. */

const root = join(__dirname, '..', '..');

describe('docker-compose.yml', () => {
  const compose = readFileSync(join(root, 'docker-compose.yml'), 'utf8');

  it('sets no token secret of its own: it requires one from the environment', () => {
    expect(compose).toMatch(/AUTH_TOKEN_SECRET: \$\{AUTH_TOKEN_SECRET:\?/);
    expect(compose).not.toMatch(/AUTH_TOKEN_SECRET: [^$\s]/);
  });

  it('binds every published port to 127.0.0.1', () => {
    const published = [...compose.matchAll(/^\s+- "([^"]+)"\s*$/gm)].map((match) => match[1]!).filter((entry) => /^\S*\d+:\d+$/.test(entry));
    expect(published.length).toBeGreaterThanOrEqual(3);
    for (const entry of published) expect(entry).toMatch(/^127\.0\.0\.1:/);
  });

  it('says how to mint a token for the stack', () => {
    expect(compose).toContain('npm run token -- --role admin --subject alice');
  });
});

describe('src/', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
    });

  it('holds no token secret (no HS256 key literal, no development secret)', () => {
    const offenders = files(join(root, 'src')).filter((path) => {
      const text = readFileSync(path, 'utf8');
      return /DEVELOPMENT_TOKEN_SECRET|secret:\s*'[^']{32,}'|SECRET\s*=\s*'[^']{32,}'/.test(text);
    });
    expect(offenders).toEqual([]);
  });
});
