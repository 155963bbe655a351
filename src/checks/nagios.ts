/**
 * Parsing of Nagios plugin output (plugin API, "Plugin Output Spec"):
 *
 *     TEXT OUTPUT | OPTIONAL PERFDATA
 *     LONG TEXT LINE 1
 *     LONG TEXT LINE 2 | PERFDATA LINE 2
 *     PERFDATA LINE 3
 *
 * Only the first line's text is kept as output (it travels in the node's record);
 * perfdata from the first line and from the long output is joined by spaces.
 */
import { clip } from '../text.js'
import { CHECK_TEXT_MAX, type StatusCode } from './types.js'

/** Longest output / perfdata text kept: both travel in the node's record, which carries this much. */
export const MAX_TEXT = CHECK_TEXT_MAX

export interface PluginText { output: string, perfdata: string }

/** Output and perfdata of a plugin's stdout (or stderr) text. */
export function parsePluginOutput (text: string): PluginText {
  const lines = text.split(/\r?\n/)
  const first = lines[0] ?? ''
  const bar = first.indexOf('|')
  const output = (bar < 0 ? first : first.slice(0, bar)).trim()
  const perf: string[] = bar < 0 ? [] : [first.slice(bar + 1)]
  // long output: everything after the first `|` in lines 2.. is perfdata
  const rest = lines.slice(1)
  const at = rest.findIndex(l => l.includes('|'))
  if (at >= 0) {
    const line = rest[at] ?? ''
    perf.push(line.slice(line.indexOf('|') + 1), ...rest.slice(at + 1))
  }
  const perfdata = perf.map(p => p.trim()).filter(p => p !== '').join(' ')
  return { output: clip(output, MAX_TEXT), perfdata: clip(perfdata, MAX_TEXT) }
}

/** The status of a plugin's exit code: 0..3 as is, anything else UNKNOWN. */
export function exitStatus (code: number | null): StatusCode {
  return code === 0 || code === 1 || code === 2 || code === 3 ? code : 3
}

/** Seconds as operators write them in messages: 1, 0.5, 2.25 (never 1.0000001). */
export function seconds (ms: number): string {
  return String(Math.round(ms) / 1000)
}

/** Node fires timers longer than 2^31-1 ms (~24.8 days) after 1 ms instead: a "30d" interval must not mean "always". */
export const timerMs = (ms: number): number => Math.min(Math.max(0, ms), 2 ** 31 - 1)
