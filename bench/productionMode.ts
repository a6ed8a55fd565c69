/**
 * The benchmarks measure the server as it is deployed: the image runs with `NODE_ENV=production`
 * (Dockerfile), and graphql-js reads it once, when it loads, to leave out its development-mode
 * checks (every `instanceOf` miss looks up the class names, to warn about two copies of graphql).
 * Imported first by `bench/index.ts`, before anything loads graphql; a value set by the caller wins.
 */
process.env.NODE_ENV ??= 'production';

export {};
