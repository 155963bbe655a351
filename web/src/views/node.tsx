/** One node: its checks, machine info, labels, addresses and recent events. */
import { Fragment } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { ago, bytes, pct, span } from '../format.js'
import { apiGet } from '../live.js'
import { mergeEvents } from '../store.js'
import type { MeshEvent, PeerView } from '../wire.js'
import { Bar, CheckBadge, StateBadge } from './bits.js'
import { Events } from './panels.js'

interface Props { peerId: string, peer: PeerView | undefined, live: MeshEvent[], now: number }

/** the node's own events (GET /api/v1/events?peer=ID), then whatever the stream adds */
function useNodeEvents (peerId: string): { events: MeshEvent[], error: string | null } {
  const [state, setState] = useState<{ events: MeshEvent[], error: string | null }>({ events: [], error: null })
  useEffect(() => {
    const abort = new AbortController()
    apiGet(`api/v1/events?peer=${encodeURIComponent(peerId)}&limit=50`, abort.signal).then(async res => {
      if (!res.ok) throw new Error(`events not loaded (HTTP ${res.status})`)
      setState({ events: await res.json() as MeshEvent[], error: null })
    }).catch((err: Error) => { if (!abort.signal.aborted) setState({ events: [], error: err.message }) })
    return () => { abort.abort() }
  }, [peerId])
  return state
}

export function NodePage ({ peerId, peer, live, now }: Props) {
  const heading = useRef<HTMLHeadingElement>(null)
  const history = useNodeEvents(peerId)
  useEffect(() => { heading.current?.focus() }, [peerId])
  const back = <a class="back" href="#/">← all nodes <small>(Esc)</small></a>
  if (peer === undefined) {
    return <section id="node">{back}<h1 ref={heading} tabIndex={-1}>Unknown node</h1><p>This peer knows no node with id <code>{peerId}</code>.</p></section>
  }
  const m = peer.machine
  const events = mergeEvents(live.filter(e => e.subject.peer === peerId), history.events, 50)
  return (
    <section id="node" aria-label={`node ${peer.name}`}>
      {back}
      <h1 ref={heading} tabIndex={-1}>{peer.name} <StateBadge state={peer.state} /></h1>
      <p class="sub">
        {peer.state === 'up' ? `up for ${span(now - Date.parse(peer.stateSince))}` : `${peer.state} since ${ago(peer.stateSince, now)}, last heard ${ago(peer.lastSeen, now)}`}
        {' · '}<code class="id">{peer.peerId}</code>
      </p>
      {peer.error !== undefined ? <p class="warn">{peer.error}</p> : null}
      <h2>Checks</h2>
      {peer.checks.length === 0 ? <p class="quiet">No checks configured.</p> : (
        <ul class="checks">
          {peer.checks.map(c => (
            <li key={c.name} class={`check ck-${c.status}`}>
              <CheckBadge status={c.status} /> <b>{c.name}</b> <small>{c.type}</small>
              <div class="out">{c.output === '' ? '(no output)' : c.output}</div>
              <small>last run {ago(c.lastRun, now)}{c.lastRun !== null ? `, took ${(c.durationSeconds * 1000).toFixed(0)} ms` : ''}{c.since !== null ? `, ${c.statusName} since ${ago(c.since, now)}` : ''}</small>
            </li>
          ))}
        </ul>
      )}
      <h2>Machine</h2>
      {m === null ? <p class="quiet">No machine info received yet.</p> : (
        <>
          <dl class="facts">
            <dt>host</dt><dd>{m.hostname}</dd>
            <dt>os</dt><dd>{m.os}</dd>
            <dt>uptime</dt><dd>{span(m.uptimeSeconds * 1000)}</dd>
            <dt>cpu</dt><dd>{m.cpu.model} × {m.cpu.cores}, {pct(m.cpu.usageRatio)} busy, load {m.load.map(l => l.toFixed(2)).join(' ')}</dd>
            <dt>memory</dt><dd>{bytes(m.memory.totalBytes - m.memory.availableBytes)} used of {bytes(m.memory.totalBytes)}{m.memory.swapTotalBytes > 0 ? `, swap ${bytes(m.memory.swapTotalBytes - m.memory.swapFreeBytes)} of ${bytes(m.memory.swapTotalBytes)}` : ''}</dd>
            <dt>processes</dt><dd>{m.processes}</dd>
            <dt>agent</dt><dd>{peer.agent}, {peer.expect}, heartbeat every {span(peer.interval)}</dd>
          </dl>
          <h3>Filesystems</h3>
          <ul class="meters">
            {m.filesystems.map(f => (
              <li key={f.mountpoint}><Bar label={f.mountpoint} ratio={f.sizeBytes > 0 ? 1 - f.availBytes / f.sizeBytes : null} />
                <small>{bytes(f.availBytes)} free of {bytes(f.sizeBytes)} · {f.device} {f.type}</small></li>
            ))}
          </ul>
          {m.gpus.length > 0 ? <><h3>GPUs</h3><ul class="meters">
            {m.gpus.map(g => (
              <li key={g.index}><Bar label={`gpu${g.index}`} ratio={g.utilizationRatio} />
                <small>{g.name} · memory {bytes(g.memoryUsedBytes)} of {bytes(g.memoryTotalBytes)}</small></li>
            ))}
          </ul></> : null}
          <h3>Network</h3>
          {m.network.length === 0 ? <p class="quiet">No interfaces reported.</p> : (
            <dl class="facts">{m.network.map(n => <Fragment key={n.device}><dt>{n.device}</dt><dd>received {bytes(n.rxBytes)}, sent {bytes(n.txBytes)}</dd></Fragment>)}</dl>
          )}
          <h3>Temperatures</h3>
          {m.temperatures.length === 0 ? <p class="quiet">None exposed by this host.</p> : (
            <dl class="facts">{m.temperatures.map(t => <Fragment key={t.sensor}><dt>{t.sensor}</dt><dd>{t.celsius.toFixed(0)} °C</dd></Fragment>)}</dl>
          )}
        </>
      )}
      <h2>Labels</h2>
      {Object.keys(peer.labels).length === 0 ? <p class="quiet">None.</p> : (
        <ul class="tags">{Object.entries(peer.labels).map(([k, v]) => <li key={k}><code>{k}={v}</code></li>)}</ul>
      )}
      <h2>Addresses</h2>
      {peer.addrs.length === 0 ? <p class="quiet">None announced.</p> : <ul class="addrs">{peer.addrs.map(a => <li key={a}><code>{a}</code></li>)}</ul>}
      {history.error !== null ? <p class="warn">{history.error}</p> : null}
      <Events events={events} title="Events of this node" limit={50} />
    </section>
  )
}
