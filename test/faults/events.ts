/** The event logs of several nodes, compared: the same incidents, by id, everywhere. */
import type { NodeProc } from '../support/cluster.js'
import { holdsFor, waitFor } from '../support/wait.js'

/** The events node `n` serves (newest first), up to 10 000. */
export async function eventsOf (n: NodeProc, query: Record<string, string> = {}): Promise<any[]> {
  const q = new URLSearchParams({ limit: '10000', ...query })
  return await (await fetch(`${n.api}/api/v1/events?${q}`)).json() as any[]
}

/** The ids when every node holds exactly the same events (and at least one), else false: for waitFor. */
export async function sameEventIds (nodes: NodeProc[]): Promise<Set<string> | false> {
  const sets = await Promise.all(nodes.map(async n => new Set((await eventsOf(n)).map(e => e.id as string))))
  const [first] = sets
  if (first === undefined || first.size === 0) return false
  return sets.every(s => s.size === first.size && [...s].every(id => first.has(id))) ? first : false
}

/**
 * The ids once every node holds the same events and nothing more arrives for
 * `quietMs` (longer than a designated writer's fallback, 5 s): a late write
 * would otherwise land between two looks.
 */
export async function settledEventIds (nodes: NodeProc[], timeoutMs: number, quietMs = 6_000): Promise<Set<string>> {
  try {
    return await settle(nodes, timeoutMs, quietMs)
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${await eventDiff(nodes)}`)
  }
}

/** What each node holds that not all do: the message a failed convergence needs. */
async function eventDiff (nodes: NodeProc[]): Promise<string> {
  const logs = await Promise.all(nodes.map(async n => await eventsOf(n)))
  const held = new Map<string, { e: any, on: string[] }>()
  logs.forEach((log, i) => { for (const e of log) { const h = held.get(e.id) ?? { e, on: [] }; h.on.push(nodes[i]!.name); held.set(e.id, h) } })
  const nameOf = (peer: string): string => nodes.find(n => n.peerId === peer)?.name ?? peer
  const lines = [...held.values()].filter(h => h.on.length < nodes.length)
    .map(({ e, on }) => `  ${String(e.id).slice(0, 12)} ${e.type} ${e.subject?.name ?? ''} ${e.ts} by ${nameOf(e.source)} on ${on.join(',')}`)
  return `events not on every node (${lines.length}; sizes ${logs.map((l, i) => `${nodes[i]!.name}=${l.length}`).join(' ')}):\n${lines.join('\n')}`
}

async function settle (nodes: NodeProc[], timeoutMs: number, quietMs: number): Promise<Set<string>> {
  return await waitFor(`the same events on every node, unchanged for ${quietMs} ms`, async () => {
    const first = await sameEventIds(nodes)
    if (first === false) return false
    try {
      await holdsFor('unchanged', async () => { const now = await sameEventIds(nodes); return now !== false && now.size === first.size }, quietMs, 500)
      return first
    } catch { return false }
  }, timeoutMs, 500)
}
