import { randomBytes } from 'node:crypto';
import * as define from '../../src/application/lifecycleDefinitions';
import { userIdForEmail, type RegisterUser } from '../../src/domain';
import { keyedEmailStreams } from '../../src/identity/emailStreams';

/** Reservation streams under a key of this test run (an installation's key lives in its database). */
export const TEST_EMAIL_STREAMS = keyedEmailStreams(randomBytes(32));

/**
 * A registration whose user id is the legacy one (uuidv5 of the address), so a scenario can name its
 * users before registering them; such ids stay valid, and the address is reserved as for anyone.
 */
export const registerWithLegacyId = (data: Omit<RegisterUser['data'], 'userId'>) =>
  define.registerUser({ ...data, userId: userIdForEmail(data.email) }, TEST_EMAIL_STREAMS);
