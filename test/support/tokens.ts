import { keyRing, type TokenKeyRing } from '../../src/graphql/auth';

/**
 * The key the tests sign and verify tokens with. Test code only: shipped code has no secret, and a
 * server without configured keys refuses to start (or, on the embedded store, makes a random one).
 */
export const TEST_TOKEN_SECRET = 'test-suite-only-token-secret-0123456789abcdef';

export const TEST_TOKEN_KEYS: TokenKeyRing = keyRing([{ kid: 'test', secret: TEST_TOKEN_SECRET }]);
