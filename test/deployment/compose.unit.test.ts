import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// The YAML parser jest itself uses (a dependency of the test tooling, not of the service; untyped).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { load } = require('js-yaml') as { load: (text: string) => unknown };

/*
 * The compose files' wiring, checked by parsing them (no container can start on the machines these
 * tests run on). When a `docker-compose` binary is on the PATH, `docker-compose config` also
 * validates both files against its schema (see the last test).
 */

const root = join(__dirname, '..', '..');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  restart?: string;
  depends_on?: Record<string, { condition: string }>;
  init?: boolean;
}

interface ComposeFile {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
}

const read = (file: string): { text: string; compose: ComposeFile } => {
  const text = readFileSync(join(root, file), 'utf8');
  return { text, compose: load(text) as ComposeFile };
};

/** `${NAME:?message}` → NAME; the variables a value requires. */
const required = (value: string): string[] => [...value.matchAll(/\$\{([A-Z_]+):\?[^}]*\}/g)].map((match) => match[1]!);

describe.each([
  { file: 'docker-compose.yml', events: 'KurrentDB', services: ['kurrentdb', 'postgres', 'mailpit', 'app'] },
  { file: 'docker-compose.postgres.yml', events: 'PostgreSQL', services: ['postgres', 'mailpit', 'app'] },
])('$file (events in $events)', ({ file, events, services }) => {
  const { text, compose } = read(file);
  const app = compose.services.app!;
  const env = app.environment!;

  test('has exactly the services of the product', () => {
    expect(Object.keys(compose.services).sort()).toEqual([...services].sort());
  });

  test('every service has a health check and a restart policy; the app waits for every other one to be healthy', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      expect({ name, healthcheck: (service.healthcheck?.test.length ?? 0) > 1 }).toEqual({ name, healthcheck: true });
      expect({ name, restart: service.restart }).toEqual({ name, restart: 'unless-stopped' });
    }
    expect(app.depends_on).toEqual(Object.fromEntries(services.filter((s) => s !== 'app').map((s) => [s, { condition: 'service_healthy' }])));
    expect(app.healthcheck!.test).toEqual(['CMD', 'node', '/app/docker/healthcheck.mjs']);
  });

  test('nothing is published beyond 127.0.0.1, and Mailpit\u2019s web UI is', () => {
    const published = Object.values(compose.services).flatMap((service) => service.ports ?? []);
    for (const entry of published) expect(entry).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    expect(compose.services.mailpit!.ports).toEqual(['127.0.0.1:8025:8025']);
    expect(app.ports).toEqual(['127.0.0.1:4000:4000']);
  });

  test('no secret in the file: the token key and the database password are required from the environment', () => {
    expect(required(env.AUTH_TOKEN_SECRET!)).toEqual(['AUTH_TOKEN_SECRET']);
    expect(required(compose.services.postgres!.environment!.POSTGRES_PASSWORD!)).toEqual(['POSTGRES_PASSWORD']);
    expect(required(env.DATABASE_URL!)).toEqual(['POSTGRES_PASSWORD']);
    // Any other value naming a password or secret is a variable, never a literal.
    for (const service of Object.values(compose.services)) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (/PASSWORD|SECRET|TOKEN_KEYS/.test(key)) expect(value).toMatch(/^\$\{[A-Z_]+:\?/);
      }
    }
    expect(text).not.toMatch(/postgres:postgres@/);
  });

  test('the app is wired to the other services by their names and ports', () => {
    expect(env.DATABASE_URL).toMatch(/^postgres:\/\/mentoring:\$\{POSTGRES_PASSWORD:\?[^}]*\}@postgres:5432\/mentoring$/);
    expect(compose.services.postgres!.environment).toMatchObject({ POSTGRES_USER: 'mentoring', POSTGRES_DB: 'mentoring' });
    // Mailpit takes SMTP on 1025 (inside the stack) and shows what arrived on 8025.
    expect(env.SMTP_URL).toBe('smtp://mailpit:1025');
    if (events === 'KurrentDB') {
      expect(env.EVENTSTORE_CONNECTION_STRING).toBe('kurrentdb://kurrentdb:2113?tls=false');
      expect(compose.services.kurrentdb!.environment).toMatchObject({ KURRENTDB_NODE_PORT: '2113', KURRENTDB_INSECURE: 'true' });
    } else {
      expect(env.EVENTSTORE_CONNECTION_STRING).toBeUndefined();
    }
    expect(env.HOST).toBe('0.0.0.0');
    expect(env.PORT).toBe('4000');
  });

  test('the app keeps its data in a named volume at DATA_DIR, and runs with an init process', () => {
    expect(env.DATA_DIR).toBe('/data');
    const [volume, target] = app.volumes![0]!.split(':');
    expect(target).toBe('/data');
    expect(Object.keys(compose.volumes)).toContain(volume);
    expect(app.init).toBe(true);
    expect(app.build).toEqual({ context: '.', dockerfile: 'Dockerfile' });
  });

  test('every named volume a service mounts is declared', () => {
    for (const service of Object.values(compose.services)) {
      for (const mount of service.volumes ?? []) expect(Object.keys(compose.volumes)).toContain(mount.split(':')[0]);
    }
  });

  test('says how to mint a token for the stack (inside it, with the stack\u2019s key)', () => {
    expect(text).toMatch(/exec app node dist\/src\/cli\/token\.js --role admin --subject alice/);
  });
});

describe('the two stacks keep their data apart', () => {
  test('no volume name is shared between the KurrentDB stack and the PostgreSQL-events stack, but Mailpit\u2019s', () => {
    const kurrent = Object.keys(read('docker-compose.yml').compose.volumes);
    const postgres = Object.keys(read('docker-compose.postgres.yml').compose.volumes);
    expect(kurrent.filter((name) => postgres.includes(name))).toEqual(['mailpit-data']);
  });
});

describe('KurrentDB service', () => {
  const kurrentdb = read('docker-compose.yml').compose.services.kurrentdb!;

  test('a KurrentDB 26.1+ image (multi-stream appends and consistency checks), with KURRENTDB_* settings only', () => {
    const tag = /kurrentdb:(\d+)\.(\d+)/.exec(kurrentdb.image!);
    expect(tag).not.toBeNull();
    expect(Number(tag![1]) * 100 + Number(tag![2])).toBeGreaterThanOrEqual(2601);
    expect(Object.keys(kurrentdb.environment!).every((key) => key.startsWith('KURRENTDB_'))).toBe(true);
    expect(kurrentdb.volumes).toEqual(expect.arrayContaining([expect.stringMatching(/:\/var\/lib\/kurrentdb$/)]));
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');

  test('multi-stage on a current Node LTS, non-root, with a data volume, health check and the start script', () => {
    const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((match) => match[1]!);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const image of froms) expect(Number(/^node:(\d+)/.exec(image)?.[1])).toBeGreaterThanOrEqual(22);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^VOLUME \["\/data"\]$/m);
    expect(dockerfile).toMatch(/DATA_DIR=\/data/);
    expect(dockerfile).toMatch(/chown node:node \/data/);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*healthcheck\.mjs/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/app\/docker\/start\.sh"\]$/m);
    // The runtime stage copies built code, not sources.
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('FROM '));
    expect(runtime).not.toMatch(/COPY (src|projections|\.) /);
  });
});

const dockerCompose = spawnSync('docker-compose', ['version'], { encoding: 'utf8' });
if (dockerCompose.status === 0) {
  describe('docker-compose config', () => {
    const env = { ...process.env, AUTH_TOKEN_SECRET: 'x'.repeat(48), POSTGRES_PASSWORD: 'abc123' };
    test.each(['docker-compose.yml', 'docker-compose.postgres.yml'])('accepts %s with its variables set', (file) => {
      const result = spawnSync('docker-compose', ['-f', file, 'config', '-q'], { cwd: root, env, encoding: 'utf8' });
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    });
    test.each(['docker-compose.yml', 'docker-compose.postgres.yml'])('refuses %s without AUTH_TOKEN_SECRET, saying what to set', (file) => {
      const { AUTH_TOKEN_SECRET: _, ...without } = env;
      const result = spawnSync('docker-compose', ['-f', file, 'config', '-q'], { cwd: root, env: without, encoding: 'utf8' });
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(/Set AUTH_TOKEN_SECRET/);
    });
  });
} else {
  console.warn('\n*** docker-compose config SKIPPED: no docker-compose binary on the PATH (the wiring checks above still ran). ***\n');
  test.skip('docker-compose config (skipped: no docker-compose binary)', () => undefined);
}
