import { ConfigError, loadConfig } from '../config';
import { createLogger } from '../log';
import { PeriodicJob } from './periodicJob';

/** Issue 18: "the reminder and manager-report jobs run hourly from one hour after boot with no setting". */

describe('job schedules are service settings', () => {
  it('default to hourly runs, the first a minute after the start', () =>
    expect(loadConfig({}).jobSchedules).toEqual({ registrationRemindersIntervalMs: 3_600_000, managerReportsIntervalMs: 3_600_000, firstRunDelayMs: 60_000 }));

  it('are read from the environment', () =>
    expect(
      loadConfig({ REMINDER_JOB_INTERVAL_MS: '900000', MANAGER_REPORT_JOB_INTERVAL_MS: '86400000', JOB_FIRST_RUN_DELAY_MS: '0' }).jobSchedules,
    ).toEqual({ registrationRemindersIntervalMs: 900_000, managerReportsIntervalMs: 86_400_000, firstRunDelayMs: 0 }));

  it.each([
    ['REMINDER_JOB_INTERVAL_MS', '10', 'REMINDER_JOB_INTERVAL_MS must be a whole number from 1000 to 604800000; got "10".'],
    ['MANAGER_REPORT_JOB_INTERVAL_MS', 'hourly', 'MANAGER_REPORT_JOB_INTERVAL_MS must be a whole number from 1000 to 604800000; got "hourly".'],
    ['JOB_FIRST_RUN_DELAY_MS', '-1', 'JOB_FIRST_RUN_DELAY_MS must be a whole number from 0 to 86400000; got "-1".'],
  ])('refuse %s=%s with a sentence naming the variable', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });
});

describe('PeriodicJob', () => {
  const logger = createLogger({ level: 'silent' });

  it('runs first after its first-run delay, not a whole interval later', async () => {
    let runs = 0;
    const job = new PeriodicJob('test', 3_600_000, async () => ++runs, logger, 10);
    job.start();
    try {
      for (let waited = 0; runs === 0 && waited < 5000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(runs).toBe(1);
    } finally {
      await job.stop();
    }
  });

  it('without a first-run delay waits one interval', async () => {
    let runs = 0;
    const job = new PeriodicJob('test', 3_600_000, async () => ++runs, logger);
    job.start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await job.stop();
    expect(runs).toBe(0);
  });
});
