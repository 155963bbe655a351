/**
 * Patch `stale-dials` (fenced, see src/patches.ts): a peer heard of again is
 * dialled afresh, not through a connect attempt that began while it was away.
 *
 * libp2p's dial queue lets a new dial to a peer join one already under way,
 * and a joined dial ends only once every caller has given up. Behind a cut
 * cable a TCP connect waits on SYN retransmits whose gaps double (1, 2, 4,
 * 8 s...), and meshmon's callers (the keeper, beat streams, probes) join it
 * one after another, each with its own 5 s bound: one connect begun during a
 * split lived on past the heal, and every dial to that peer waited for its
 * next retransmit, up to 10 s after the cable was back (the 3 / 3 fault test:
 * the watchers found the peers silent again, back on the small side).
 *
 * `retireDials(node, peer)` takes such dials (begun over a second ago) out of
 * reach of new ones: they run on until their callers' bounds end, and the
 * next dial starts a connect of its own. It relies on the dial queue's jobs
 * (`components.connectionManager.dialQueue.queue.queue`, each with `options`
 * and `timeline`), checked when installed; a job of another shape is left
 * alone and the patch reported lost.
 */
import type { Libp2p } from '@libp2p/interface'
import type { Patches } from '../patches.js'

interface DialJob {
  options?: { peerId?: { toString: () => string }, multiaddrs?: Set<string> }
  timeline?: { started?: number }
}

/** a dial begun this recently is not stale: its connect's next SYN is due within a second anyway, ms */
const STALE_AFTER_MS = 1000

const installed = new WeakMap<object, { jobs: () => unknown[], patches: Patches }>()

/** Find the dial queue's jobs; true when the internals it relies on are there. */
export function installStaleDials (node: Libp2p, patches: Patches): boolean {
  const queue = (node as any).components?.connectionManager?.dialQueue?.queue
  const ok = Array.isArray(queue?.queue) && typeof (node as any).components?.connectionManager?.dialQueue?.dial === 'function'
  if (ok) installed.set(node, { jobs: () => queue.queue, patches })
  return ok
}

/** Dials to `peer` begun over a second ago no longer take new callers. Returns how many were retired. */
export function retireDials (node: Libp2p, peer: string, now = Date.now()): number {
  const patch = installed.get(node)
  if (patch === undefined) return 0
  let retired = 0
  for (const job of patch.jobs() as DialJob[]) {
    if (job?.options?.peerId?.toString() !== peer) continue
    if (typeof job.timeline?.started !== 'number' || !(job.options.multiaddrs instanceof Set)) {
      patch.patches.lost('stale-dials', 'a dial job without the options or timeline it relies on')
      continue
    }
    if (now - job.timeline.started < STALE_AFTER_MS) continue
    // the running dial holds its own copy of these options: only the queue's lookup of
    // dials to join reads them, and it now finds neither the peer nor an address
    job.options.peerId = undefined
    job.options.multiaddrs = new Set()
    retired++
  }
  return retired
}
