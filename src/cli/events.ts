/**
 * `meshmon events`: recent events from the replicated event log, oldest to
 * newest (newest last, like a log), as a table or JSON lines; --follow polls
 * every second and prints events as they replicate. Exit 2 when the API
 * cannot be reached.
 */
import { TRUNCATED_HEADER } from '../api/bounded-json.js'
import type { MeshEvent } from '../events/types.js'
import { parseSince } from '../config/duration.js'
import { getJson, tokenFrom, type ApiRequest } from './api-client.js'

export interface EventsOptions {
  api: string
  since?: string
  type?: string
  peer?: string
  limit?: string
  follow?: boolean
  json?: boolean
  /** the node's api.token @default MESHMON_API_TOKEN */
  token?: string
  /** where output goes @default process.stdout */
  write?: (text: string) => void
  /** ends --follow @default SIGINT */
  signal?: AbortSignal
  /** --follow poll interval, ms @default 1000 */
  pollMs?: number
}

const HEADER = ['TIME', 'TYPE', 'SEVERITY', 'NODE', 'CHECK', 'MESSAGE']
/** events replicate late: each --follow poll looks this far behind the newest event seen */
const LATE_MS = 5 * 60_000

const time = (ts: string): string => ts.replace('T', ' ').replace(/\.\d+Z$/, 'Z')
const row = (e: MeshEvent): string[] => [time(e.ts), e.type, e.severity, e.subject.name, e.subject.check ?? '-', e.message]

/** Rows printed batch by batch (--follow): columns keep the widest width seen so far. */
function tablePrinter (): (events: MeshEvent[]) => string {
  const widths = HEADER.map(h => h.length)
  let headerDone = false
  return events => {
    const rows = events.map(row)
    for (const r of rows) r.forEach((c, i) => { widths[i] = Math.max(widths[i] ?? 0, c.length) })
    const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd()
    const out = [...(headerDone ? [] : [line(HEADER)]), ...rows.map(line)].join('\n') + '\n'
    headerDone = true
    return out
  }
}

function path (o: EventsOptions, overrides: { since?: string, limit?: string } = {}): string {
  const q = new URLSearchParams()
  const since = overrides.since ?? o.since
  if (since !== undefined) q.set('since', since)
  if (o.type !== undefined) q.set('type', o.type)
  if (o.peer !== undefined) q.set('peer', o.peer)
  const limit = overrides.limit ?? o.limit
  if (limit !== undefined) q.set('limit', limit)
  const qs = q.toString()
  return `/api/v1/events${qs === '' ? '' : `?${qs}`}`
}

export async function eventsCommand (options: EventsOptions): Promise<number> {
  const write = options.write ?? ((t: string) => { process.stdout.write(t) })
  const table = tablePrinter()
  const print = (events: MeshEvent[]): void => {
    if (events.length === 0) return
    write(options.json === true ? events.map(e => JSON.stringify(e)).join('\n') + '\n' : table(events))
  }
  const chronological = (events: MeshEvent[]): MeshEvent[] => [...events].sort((a, b) => a.ts.localeCompare(b.ts) || a.id.localeCompare(b.id))

  let toldTruncated = false
  const request: ApiRequest = {
    token: tokenFrom(options.token),
    onHeaders: h => {
      const omitted = h.get(TRUNCATED_HEADER)
      if (omitted === null || toldTruncated) return
      toldTruncated = true
      process.stderr.write(`meshmon: ${omitted} more events did not fit in one response; narrow the query with --since, --type, --peer or --limit\n`)
    }
  }
  const first = chronological(await getJson<MeshEvent[]>(options.api, path(options), request))
  if (first.length === 0 && options.json !== true && options.follow !== true) write('no events\n')
  print(first)
  if (options.follow !== true) return 0

  // ids seen, by time; forgotten once older than any poll looks
  const seen = new Map(first.map(e => [e.id, Date.parse(e.ts)]))
  let newest = first.reduce((t, e) => Math.max(t, Date.parse(e.ts)), Date.now())
  const floor = options.since === undefined ? 0 : parseSince(options.since) ?? 0
  let code = 0
  const poll = async (): Promise<void> => {
    try {
      const from = Math.max(newest - LATE_MS, floor)
      const events = chronological(await getJson<MeshEvent[]>(options.api, path(options, { since: new Date(from).toISOString(), limit: '10000' }), request))
      const fresh = events.filter(e => !seen.has(e.id))
      for (const e of fresh) { seen.set(e.id, Date.parse(e.ts)); newest = Math.max(newest, Date.parse(e.ts)) }
      for (const [id, t] of seen) if (t < from) seen.delete(id)
      print(fresh)
      code = 0
    } catch (err: any) {
      process.stderr.write(`meshmon: ${err.message}\n`)
      code = 2
    }
  }
  await new Promise<void>(resolve => {
    let timer: NodeJS.Timeout | undefined
    let stopped = false
    const loop = (): void => { if (!stopped) timer = setTimeout(() => { void poll().then(loop) }, options.pollMs ?? 1000) }
    const done = (): void => { stopped = true; clearTimeout(timer); process.off('SIGINT', done); resolve() }
    if (options.signal !== undefined) options.signal.addEventListener('abort', done, { once: true })
    else process.once('SIGINT', done)
    loop()
  })
  return code
}
