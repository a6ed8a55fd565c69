import 'reflect-metadata';
import { createApp } from '../../src/app';
import { loadConfig, withTokenKeys } from '../../src/config';
import { mintToken } from '../../src/graphql/auth';
import { createLogger } from '../../src/log';

/*
 * Run by tracing.e2e.test.ts as a process of its own: the service composed from the environment
 * (no OTEL_* setting), one mutation over HTTP with a traceparent, then a report on stdout of the
 * OpenTelemetry packages this process loaded.
 */

const main = async () => {
  const config = withTokenKeys(loadConfig(process.env));
  const app = await createApp(config, { logger: createLogger({ level: 'silent' }) });
  const http = await app.start();
  const token = await mintToken({ secret: config.tokenKeys!, subject: 'probe', role: 'admin', expiresIn: '1h' });
  const response = await fetch(new URL('graphql', http.url), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    },
    body: JSON.stringify({ query: 'mutation { createProgram(input: { name: "Probe", timeZone: "Europe/Berlin" }) { errors { code } } }' }),
  });
  const body = (await response.json()) as { data?: { createProgram: { errors: unknown[] } }; errors?: unknown[] };
  await app.stop();
  const openTelemetryModules = new Set<string>();
  for (const path of Object.keys(require.cache)) {
    const match = /node_modules\/@opentelemetry\/([^/]+)\//.exec(path);
    if (match) openTelemetryModules.add(match[1]!);
  }
  process.stdout.write(
    `${JSON.stringify({
      tracing: config.tracing,
      mutationErrors: body.data?.createProgram.errors ?? body.errors,
      requestId: response.headers.get('x-request-id'),
      openTelemetryModules: [...openTelemetryModules].sort(),
    })}\n`,
  );
};

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
