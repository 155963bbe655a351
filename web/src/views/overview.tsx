/** The mesh at a glance: alerts, the nodes (trouble first, filterable), devices, recent events. */
import { useEffect, useMemo, useState } from 'preact/hooks'
import { matches, sortPeers, STATE_FILTERS, inTrouble, type MeshView, type StateFilter } from '../store.js'
import type { PeerView } from '../wire.js'
import { Alerts, Devices, Events } from './panels.js'
import { NodeRow } from './row.js'

interface Props {
  view: MeshView
  query: string
  state: StateFilter
  now: number
  onFilter: (query: string, state: StateFilter) => void
  /** the devices panel asks for more rows */
  onMoreDevices: () => void
}

function count (peers: PeerView[], s: StateFilter): number {
  if (s === 'all') return peers.length
  if (s === 'trouble') return peers.filter(inTrouble).length
  return peers.filter(p => p.state === s).length
}

/** rows in the first paint (more than a wall screen holds), then this many more per task */
const FIRST_ROWS = 60
const MORE_ROWS = 120

/**
 * A big mesh's rows go in by slices: the first screen paints without waiting
 * for the rows below it, and the rest follow a slice per task, so building
 * 500 rows is never one long task that holds the page.
 */
function useRowLimit (total: number): number {
  const [limit, setLimit] = useState(FIRST_ROWS)
  useEffect(() => {
    if (limit >= total) {
      if (limit === Infinity) return
      if (performance.getEntriesByName('meshmon:all-rows').length === 0) performance.measure('meshmon:all-rows', { start: 0 })
      setLimit(Infinity)
      return
    }
    const timer = setTimeout(() => { setLimit(l => l + MORE_ROWS) }, 0)
    return () => { clearTimeout(timer) }
  }, [limit, total])
  return limit
}

export function Overview ({ view, query, state, now, onFilter, onMoreDevices }: Props) {
  const sorted = useMemo(() => sortPeers(view.peers.values()), [view.peers])
  const shown = useMemo(() => sorted.filter(p => matches(p, query, state)), [sorted, query, state])
  const limit = useRowLimit(shown.length)
  return (
    <>
      <Alerts alerts={view.alerts} now={now} />
      <section aria-label="nodes">
        <div class="filters">
          <input type="search" value={query} placeholder="filter: name, label, role=gpu, check…" aria-label="filter nodes by name, label or check"
            onInput={e => { onFilter(e.currentTarget.value, state) }} />
          <div class="chips" role="group" aria-label="show nodes in state">
            {STATE_FILTERS.map(s => (
              <button type="button" key={s} aria-pressed={state === s} class={`chip st-${s}`} onClick={() => { onFilter(query, s) }}>
                {s} <span class="n">{count(sorted, s)}</span>
              </button>
            ))}
          </div>
        </div>
        <h2 class="sr">Nodes</h2>
        <div class="list" id="nodes">
          {(limit < shown.length ? shown.slice(0, limit) : shown).map(p => <NodeRow key={p.peerId} peer={p} now={now} />)}
        </div>
        {shown.length === 0 ? <p class="quiet">{sorted.length === 0 ? 'No nodes known yet.' : 'No node matches this filter.'}</p> : null}
      </section>
      {view.devices !== null && view.devices.rows.length > 0 ? <Devices list={view.devices} now={now} onMore={onMoreDevices} /> : null}
      <Events events={view.events} />
    </>
  )
}
