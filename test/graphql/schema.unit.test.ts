import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildApiSchema, printApiSchema } from '../../src/graphql/schema';

test('schema.graphql is what the code emits (run `npm run schema` after changing the API)', async () => {
  const committed = readFileSync(join(__dirname, '..', '..', 'schema.graphql'), 'utf8');
  expect(printApiSchema(await buildApiSchema())).toBe(committed);
});
