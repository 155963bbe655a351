/** `meshmon status`: every peer the node knows; exit 0 healthy, 1 not, 2 unreachable. */
import type { PeerView } from '../api/peers.js'
import { getJson, tokenFrom } from './api-client.js'
import { ago, pct, renderTable, shortPeerId } from './table.js'

export interface StatusOptions { api: string, json?: boolean, watch?: boolean, interval?: string, token?: string }

/** A peer as the API lists it: a full view, or (when its data could not be rendered) a minimal one with an error. */
type Listed = PeerView | (Pick<PeerView, 'peerId' | 'name' | 'state'> & Partial<PeerView> & { error: string })

/** Failing = a check that has run and is not OK. */
export const failingChecks = (p: Listed): PeerView['checks'] => (p.checks ?? []).filter(c => c.status !== 0 && c.lastRun !== null)

/** the answering node's own view of how much of the mesh it reaches */
const partitionOf = (peers: Listed[]): PeerView['partition'] => peers.find(p => p.self === true)?.partition

export function healthy (peers: Listed[]): boolean {
  return partitionOf(peers)?.minority !== true &&
    peers.every(p => !(p.expect === 'always-on' && p.state === 'down') && failingChecks(p).length === 0)
}

export function renderStatus (peers: Listed[], now = Date.now()): string {
  const rows = peers.map(p => {
    const m = p.machine
    const root = m?.filesystems.find(f => f.mountpoint === '/') ?? m?.filesystems[0]
    return [
      p.name + (p.self === true ? ' *' : '') + (p.nameConflict === true ? ' !' : ''),
      shortPeerId(p.peerId),
      p.state + (p.state !== 'up' && p.expect === 'intermittent' ? ' (intermittent)' : ''),
      p.self === true ? 'self' : ago(p.lastSeen ?? null, now),
      pct(m?.cpu.usageRatio),
      m == null ? '-' : pct(1 - m.memory.availableBytes / m.memory.totalBytes),
      root === undefined ? '-' : pct(1 - root.availBytes / root.sizeBytes),
      'error' in p ? `(unreadable: ${p.error})` : failingChecks(p).map(c => `${c.name}(${c.statusName})`).join(', ') || '-'
    ]
  })
  const down = peers.filter(p => p.state === 'down' && p.expect === 'always-on').length
  const failing = peers.reduce((n, p) => n + failingChecks(p).length, 0)
  const summary = `${peers.length} peers: ${peers.filter(p => p.state === 'up').length} up, ${down} down, ${failing} failing checks`
  const notes: string[] = []
  const part = partitionOf(peers)
  if (part?.isolated === true) notes.push(`this node is cut off from the mesh (it hears none of its peers): what it shows of them is stale, and it pages nobody about them`)
  else if (part?.minority === true) notes.push(`this node reaches ${part.reachable} of ${part.members} peers, no majority: peers it cannot hear are shown suspect, not down`)
  if (peers.some(p => p.nameConflict === true)) notes.push('! another peer carries the same name: tell them apart by PEER (and rename one)')
  return renderTable(['NAME', 'PEER', 'STATE', 'LAST SEEN', 'CPU', 'MEM', 'DISK', 'FAILING CHECKS'], rows) + summary + '\n' + notes.map(n => n + '\n').join('')
}

export async function statusCommand (options: StatusOptions): Promise<number> {
  const token = tokenFrom(options.token)
  const once = async (): Promise<number> => {
    const peers = await getJson<Listed[]>(options.api, '/api/v1/peers', { token })
    const out = options.json === true ? JSON.stringify(peers, null, 2) + '\n' : renderStatus(peers)
    // --watch redraws in place: home the cursor and clear the screen first
    process.stdout.write((options.watch === true ? '\x1b[H\x1b[2J' : '') + out)
    return healthy(peers) ? 0 : 1
  }
  if (options.watch !== true) return await once()
  let code = await once()
  await new Promise<void>(resolve => {
    const timer = setInterval(() => { once().then(c => { code = c }, err => { process.stderr.write(`meshmon: ${err.message}\n`); code = 2 }) }, 2000)
    process.once('SIGINT', () => { clearInterval(timer); resolve() })
  })
  return code
}
