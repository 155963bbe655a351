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
  return await waitFor(`the same events on every node, unchanged for ${quietMs} ms`, async () => {
    const first = await sameEventIds(nodes)
    if (first === false) return false
    try {
      await holdsFor('unchanged', async () => { const now = await sameEventIds(nodes); return now !== false && now.size === first.size }, quietMs, 500)
      return first
    } catch { return false }
  }, timeoutMs, 500)
}
