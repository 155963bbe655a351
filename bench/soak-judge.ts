/**
 * The soak's targets, judged from what it recorded (pure, so a JSON file of
 * an old run can be judged again): RSS growth after the warm-up, false
 * `down`s, lost events, CPU flat.
 */

export interface Sample { at: number, node: string, pid: number, rssMb: number, cpu: number | null }
export interface Fault { node: string, peerId: string, kind: 'kill' | 'stop', at: number, end: number }

export interface LogEntry { id: string, ts: string, type: string, subject: { peer: string, name: string } }
export interface Lost { fault: string, node: string, missing: 'peer.down' | 'peer.up', why: 'not replicated here' | 'merged into an open incident' | 'never detected' | 'no node has it' }

/** the fault's node was down (a peer.down with no peer.up after it) when the fault began */
function openIncident (all: LogEntry[], f: Fault): boolean {
  const before = all.filter(e => e.subject.peer === f.peerId && (e.type === 'peer.down' || e.type === 'peer.up') && Date.parse(e.ts) < f.at)
    .sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts))
  return before.at(-1)?.type === 'peer.down'
}

export interface SoakRecord {
  samples: Sample[]
  faults: Fault[]
  /** each live node's events at the end, by node name */
  logs: Map<string, LogEntry[]>
  warmupMs: number
  nodes: string[]
  /** node processes that exited without the soak killing them (ms after its start) */
  died?: Array<{ node: string, at: number, exit: string }>
}

export interface Target { ok: boolean, detail: string }

/** a peer.down this long after a fault ended still belongs to it (detection on a loaded host) */
const LATE_MS = 30_000
const RSS_GROWTH_MAX = 0.10
const CPU_RATIO_MAX = 1.25

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[m] as number : ((s[m - 1] as number) + (s[m] as number)) / 2
}

export function judgeSoak (r: SoakRecord): { targets: Record<string, Target>, falseDowns: unknown[], lost: Lost[] } {
  const targets: Record<string, Target> = {}

  // RSS: each process alive from the warm-up to the end, the median of its first window after the
  // warm-up vs the median of its last. A node's RSS moves 10-20 MB from one sample to the next, so two
  // single samples say as much of that sawtooth as of growth, either way (performance.md, "Soak")
  const byPid = new Map<number, Sample[]>()
  for (const s of r.samples) byPid.set(s.pid, [...(byPid.get(s.pid) ?? []), s])
  const end = Math.max(...r.samples.map(s => s.at))
  const window = Math.min(5 * 60_000, (end - r.warmupMs) / 2)
  let worst = { growth: 0, node: '-' }
  let worstSingle = { growth: 0, node: '-' }
  for (const ss of byPid.values()) {
    const first = ss.find(s => s.at >= r.warmupMs)
    const last = ss.at(-1) as Sample
    if (first === undefined || ss[0]!.at > r.warmupMs || last.at < end - 60_000) continue
    const early = median(ss.filter(s => s.at >= r.warmupMs && s.at <= r.warmupMs + window).map(s => s.rssMb))
    const late = median(ss.filter(s => s.at >= end - window).map(s => s.rssMb))
    const growth = (late - early) / early
    if (growth > worst.growth) worst = { growth, node: last.node }
    const single = (last.rssMb - first.rssMb) / first.rssMb
    if (single > worstSingle.growth) worstSingle = { growth: single, node: last.node }
  }
  const pct = (w: { growth: number, node: string }): string => `${(w.growth * 100).toFixed(1)}% (${w.node})`
  targets['RSS growth after warm-up < 10%'] = {
    ok: worst.growth < RSS_GROWTH_MAX,
    detail: `worst ${pct(worst)}, medians of the first and last ${Math.round(window / 60_000)} min; first vs last sample: worst ${pct(worstSingle)}`
  }

  // every event any node holds, once
  const all = new Map<string, LogEntry>()
  for (const log of r.logs.values()) for (const e of log) all.set(e.id, e)
  const faultOf = (peer: string, ts: number): Fault | undefined =>
    r.faults.find(f => f.peerId === peer && ts >= f.at - 2_000 && ts <= (f.end === 0 ? Infinity : f.end + LATE_MS))
  const falseDowns = [...all.values()].filter(e => e.type === 'peer.down' && faultOf(e.subject.peer, Date.parse(e.ts)) === undefined)
  targets['no false down'] = { ok: falseDowns.length === 0, detail: `${falseDowns.length} peer.down of a node not faulted then${falseDowns.length > 0 ? ': ' + falseDowns.slice(0, 5).map(e => `${e.subject.name}@${e.ts}`).join(', ') : ''}` }

  // each fault: its peer.down and a later peer.up on every node. Why one is missing tells a lost
  // event (some nodes hold it, this one not) from a failure the mesh never wrote down: no node holds
  // it, because the node was already in an open incident (a false down earlier, which the fault
  // merged into) or because no incident was opened at all
  const lost: Lost[] = []
  const events = [...all.values()]
  /** in `log`: the fault's peer.down, and the first peer.up after it */
  const incidentOf = (log: LogEntry[], f: Fault): { down?: LogEntry, up?: LogEntry } => {
    const down = log.find(e => e.type === 'peer.down' && e.subject.peer === f.peerId && faultOf(f.peerId, Date.parse(e.ts)) === f)
    return { down, up: down === undefined ? undefined : log.find(e => e.type === 'peer.up' && e.subject.peer === f.peerId && Date.parse(e.ts) >= Date.parse(down.ts)) }
  }
  for (const f of r.faults) {
    const anywhere = incidentOf(events, f)
    for (const [node, log] of r.logs) {
      const { down, up } = incidentOf(log, f)
      if (down !== undefined && up !== undefined) continue
      const missing = down === undefined ? 'peer.down' : 'peer.up'
      const held = missing === 'peer.down' ? anywhere.down : anywhere.up
      lost.push({ fault: `${f.kind} ${f.node} @${new Date(f.at).toISOString()}`, node, missing, why: held !== undefined ? 'not replicated here' : missing === 'peer.up' ? 'no node has it' : openIncident(events, f) ? 'merged into an open incident' : 'never detected' })
    }
  }
  const why = new Map<string, number>()
  for (const l of lost) why.set(l.why, (why.get(l.why) ?? 0) + 1)
  targets['no lost event'] = { ok: lost.length === 0, detail: `${lost.length} missing of ${r.faults.length * r.logs.size * 2} (${r.faults.length} failures x ${r.logs.size} nodes x down/up)${why.size === 0 ? '' : ': ' + [...why].map(([k, v]) => `${v} ${k}`).join(', ')}` }

  // CPU: the mean over never-faulted-by-kill processes, first window after the warm-up vs the last
  const mean = (from: number, to: number): number => {
    const xs = r.samples.filter(s => s.cpu !== null && s.at > from && s.at <= to).map(s => s.cpu as number)
    return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
  }
  const early = mean(r.warmupMs, r.warmupMs + window)
  const late = mean(end - window, end)
  targets['CPU flat (last window / first <= 1.25)'] = { ok: late <= early * CPU_RATIO_MAX, detail: `${(early * 100).toFixed(1)}% -> ${(late * 100).toFixed(1)}% of a core per node` }

  const died = r.died ?? []
  targets['no node exited on its own'] = { ok: died.length === 0, detail: died.length === 0 ? 'none' : died.map(d => `${d.node} at minute ${(d.at / 60_000).toFixed(1)} (${d.exit})`).join(', ') }

  return { targets, falseDowns, lost }
}
