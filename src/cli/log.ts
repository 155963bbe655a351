/** Logs go to stderr (command output owns stdout); pino: structured, fast, well kept. */
import pino from 'pino'

export type { Logger } from 'pino'

export function createLogger (level: string): pino.Logger {
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 2, sync: true }))
}
