/** One node in the list: a link, so it is focusable and Enter opens it. */
import { Component } from 'preact'
import { ago } from '../format.js'
import { nodeHash } from '../route.js'
import { usage, worstCheck } from '../store.js'
import type { PeerView } from '../wire.js'
import { Bar, StateBadge } from './bits.js'

function checksText (p: PeerView): { text: string, cls: string } {
  if (p.error !== undefined) return { text: `? ${p.error}`, cls: 'ck-3' }
  if (p.checks.length === 0) return { text: 'no checks', cls: '' }
  const failing = p.checks.filter(c => c.status === 1 || c.status === 2)
  if (failing.length > 0) {
    const worst = worstCheck(p)
    return { text: `${worst === 2 ? '✕' : '!'} ${failing.length} failing: ${failing.map(c => c.name).join(', ')}`, cls: worst === 2 ? 'ck-2' : 'ck-1' }
  }
  const unknown = p.checks.filter(c => c.status === 3).length
  if (unknown > 0) return { text: `? ${unknown} unknown`, cls: 'ck-3' }
  return { text: `✓ ${p.checks.length} ok`, cls: 'ck-0' }
}

interface RowProps { peer: PeerView, now: number }

export class NodeRow extends Component<RowProps> {
  // a 500-node list re-renders on every change: rows whose peer object is the same are skipped
  override shouldComponentUpdate (next: RowProps): boolean {
    return next.peer !== this.props.peer || (next.peer.state !== 'up' && next.now !== this.props.now)
  }

  override render () {
    const { peer: p, now } = this.props
    const u = usage(p)
    const checks = checksText(p)
    const labels = Object.entries(p.labels).map(([k, v]) => `${k}=${v}`).join(' ')
    return (
      <a class={`row st-${p.state}`} href={nodeHash(p.peerId)} data-peer={p.peerId}>
        <span class="c-state"><StateBadge state={p.state} /></span>
        <span class="c-name">
          <b>{p.name}</b>{p.self ? <small> (this node)</small> : null}
          <small class="labels">{labels}</small>
        </span>
        <span class="c-bars">
          <Bar label="cpu" ratio={u.cpu} />
          <Bar label="mem" ratio={u.memory} />
          <Bar label="disk" ratio={u.disk?.ratio ?? null} title={u.disk === null ? undefined : `fullest filesystem: ${u.disk.mountpoint}`} />
          <Bar label="gpu" ratio={u.gpu} />
        </span>
        <span class={`c-checks ${checks.cls}`}>{checks.text}</span>
        <span class="c-seen">{p.state === 'up' ? 'live' : ago(p.lastSeen, now)}</span>
      </a>
    )
  }
}
