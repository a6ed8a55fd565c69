import pino, { type DestinationStream, type LevelWithSilent, type Logger } from 'pino';
import { currentRequest } from './observability/requestScope';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** From configuration: the composition root decides, nothing here reads the environment. */
  readonly level: LevelWithSilent;
  /** Shown as `name` on every line, to tell services apart in shared log storage. */
  readonly name?: string;
  /** Where lines go (default: standard output). Tests pass a stream to read what was logged. */
  readonly destination?: DestinationStream;
}

/**
 * A structured JSON logger. One is created by the composition root and handed down; there is
 * no module-level instance so tests and tools can each have their own.
 */
export const createLogger = (options: LoggerOptions): Logger => {
  const settings = {
    name: options.name ?? 'mentoring-lifecycle',
    level: options.level,
    // Bearer tokens must never reach log storage, whatever object a caller passes in.
    redact: {
      paths: ['authorization', 'headers.authorization', 'req.headers.authorization', '*.authorization'],
      censor: '[redacted]',
    },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Every line written while a request is served names it, whichever logger wrote it.
    mixin: (mergeObject: object, _level: number, logger: Logger) => {
      const scope = currentRequest();
      if (!scope || 'requestId' in mergeObject || 'requestId' in logger.bindings()) return {};
      return {
        requestId: scope.requestId,
        ...(scope.traceId !== undefined ? { traceId: scope.traceId } : {}),
        ...(scope.spanId !== undefined ? { spanId: scope.spanId } : {}),
      };
    },
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
};
