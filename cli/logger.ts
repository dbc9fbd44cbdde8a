import pino, { type Logger } from 'pino';
import type { Settings } from '../config/index.js';

/** Readable logs on a terminal, JSON otherwise. */
export function createLogger(settings: Pick<Settings, 'logLevel' | 'logFormat'>, dest: 1 | 2 = 2): Logger {
  if (settings.logFormat === 'pretty') {
    return pino({
      level: settings.logLevel,
      transport: { target: 'pino-pretty', options: { destination: dest, colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'hostname' } },
    });
  }
  return pino({ level: settings.logLevel }, pino.destination({ dest, sync: false }));
}
