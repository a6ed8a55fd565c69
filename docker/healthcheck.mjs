// The container's health check: the service answers its readiness route (or, on a build without
// one, /health) on its own port. Exit 0 healthy, 1 not. Node alone: the runtime image has no curl.
const port = process.env.PORT || '4000';
const base = `http://127.0.0.1:${port}`;

const probe = async (path) => {
  const response = await fetch(base + path, { signal: AbortSignal.timeout(4000) });
  return response.status;
};

try {
  let status = await probe('/health/ready');
  if (status === 404) status = await probe('/health');
  process.exit(status >= 200 && status < 300 ? 0 : 1);
} catch {
  process.exit(1);
}
