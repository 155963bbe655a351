/** The overview's panels beside the node list: active alerts, devices, recent events. */
import { useState } from 'preact/hooks'
import { ago, clock, span } from '../format.js'
import { nodeHash } from '../route.js'
import type { DeviceList } from '../store.js'
import type { AlertView, DeviceView, MeshEvent } from '../wire.js'
import { Bar, StateBadge } from './bits.js'

/** alerts shown before the rest fold away, so the node list still starts on the first screen */
const ALERTS_SHOWN = 5

function AlertList ({ alerts, now }: { alerts: AlertView[], now: number }) {
  return (
    <ul class="alerts">
      {alerts.map(a => (
        <li key={JSON.stringify(a.labels)} class={`sev-${a.labels.severity ?? 'none'}`}>
          <span class="sev">{a.labels.severity === 'critical' ? '✕' : '!'} {a.labels.severity}</span>{' '}
          {a.labels.peer !== undefined
            ? <a href={nodeHash(a.labels.peer)}>{a.annotations.summary ?? a.labels.alertname}</a>
            : <span>{a.annotations.summary ?? a.labels.alertname}</span>}
          <small> for {span(now - Date.parse(a.startsAt))}</small>
          {a.labels.alertname === 'MeshCheckFailed' && a.annotations.description !== undefined ? <div class="out">{a.annotations.description}</div> : null}
        </li>
      ))}
    </ul>
  )
}

/** the rest, folded: built only while open (a mesh in trouble has hundreds, and the first paint waits for none of them) */
function MoreAlerts ({ alerts, now }: { alerts: AlertView[], now: number }) {
  const [open, setOpen] = useState(false)
  return (
    <details open={open} onToggle={e => { setOpen(e.currentTarget.open) }}>
      <summary>{alerts.length} more</summary>
      {open ? <AlertList alerts={alerts} now={now} /> : null}
    </details>
  )
}

export function Alerts ({ alerts, now }: { alerts: AlertView[], now: number }) {
  if (alerts.length === 0) return <p class="quiet" id="alerts">No active alerts.</p>
  // critical first, then the oldest
  const sorted = [...alerts].sort((a, b) => Number(b.labels.severity === 'critical') - Number(a.labels.severity === 'critical') || a.startsAt.localeCompare(b.startsAt))
  return (
    <section id="alerts" aria-label="active alerts">
      <h2>{alerts.length} active alert{alerts.length === 1 ? '' : 's'}</h2>
      <AlertList alerts={sorted.slice(0, ALERTS_SHOWN)} now={now} />
      {sorted.length > ALERTS_SHOWN ? <MoreAlerts alerts={sorted.slice(ALERTS_SHOWN)} now={now} /> : null}
    </section>
  )
}

export function Events ({ events, title = 'Recent events', limit = 30 }: { events: MeshEvent[], title?: string, limit?: number }) {
  return (
    <section aria-label={title.toLowerCase()} class="events">
      <h2>{title}</h2>
      {events.length === 0 ? <p class="quiet">None.</p> : (
        <ol>
          {events.slice(0, limit).map(e => (
            <li key={e.id} class={`sev-${e.severity}`}>
              <time dateTime={e.ts}>{clock(e.ts)}</time>{' '}
              <span class="etype">{e.type}</span>{' '}
              <a href={nodeHash(e.subject.peer)}>{e.subject.name}</a>{' '}
              <span class="msg">{e.message}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  )
}

const num = (v: unknown): number | undefined => typeof v === 'number' && Number.isFinite(v) ? v : undefined

/** mean GPU utilization of a device, 0..1, from whichever field its reports used */
function gpuRatio (d: DeviceView): number | null {
  const values = (d.gpus ?? []).map(g => num(g.utilizationRatio) ?? (num(g.utilization) !== undefined ? (num(g.utilization) as number) / 100 : undefined)).filter((v): v is number => v !== undefined)
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length
}

/** the largest batch the "show more" button adds (the page asks the node for that many more) */
export const MORE_DEVICE_ROWS = 500
const DEVICE_ORDER: Record<string, number> = { down: 0, unknown: 1, up: 2, left: 3 }

/** The devices as the node lists them (trouble first, the first rows only) under their counts by state. */
export function Devices ({ list, now, onMore }: { list: DeviceList, now: number, onMore: () => void }) {
  const states = Object.entries(list.counts).filter(([, n]) => typeof n === 'number' && n > 0)
  const total = states.reduce((a, [, n]) => a + n, 0)
  const byState = states.sort((a, b) => (DEVICE_ORDER[a[0]] ?? 1) - (DEVICE_ORDER[b[0]] ?? 1)).map(([s, n]) => `${n} ${s}`).join(' · ')
  const rest = total - list.rows.length
  return (
    <section id="devices" aria-label="devices">
      <h2>{total} device{total === 1 ? '' : 's'} <small class="quiet">{byState}</small></h2>
      <div class="list">
        {list.rows.map(d => (
          <div class={`row dev st-${d.state}`} key={d.id}>
            <span class="c-state"><StateBadge state={d.state} /></span>
            <span class="c-name"><b>{d.id}</b><small class="labels">{[d.project, (d.viaName ?? d.via) != null && (d.viaName ?? d.via) !== '' ? `via ${d.viaName ?? d.via}` : undefined].filter(Boolean).join(' · ')}</small></span>
            <span class="c-bars"><Bar label="gpu" ratio={gpuRatio(d)} /></span>
            <span class="c-checks">{d.status != null ? `${d.status}${d.message !== undefined && d.message !== '' ? `: ${d.message}` : ''}` : (d.models ?? []).map(m => typeof m === 'object' && m !== null ? String((m as Record<string, unknown>).model ?? '') : String(m)).join(', ')}</span>
            <span class="c-seen">{d.state === 'up' ? 'live' : ago(d.lastSeen, now)}</span>
          </div>
        ))}
      </div>
      {rest > 0
        ? <button type="button" class="more" onClick={onMore}>show {Math.min(rest, MORE_DEVICE_ROWS)} more of {rest}</button>
        : null}
    </section>
  )
}
