import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildApiSchema, printApiSchema } from '../graphql/schema';

/** Writes `schema.graphql` at the project root from the code. */
const main = async () => {
  const target = join(__dirname, '..', '..', '..', 'schema.graphql');
  writeFileSync(target, printApiSchema(await buildApiSchema()));
  process.stdout.write(`Wrote ${target}\n`);
};

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
