/**
 * The page: the stream feeds the view; the hash says what is shown. Without
 * a token the node accepts, only the login form is rendered: nothing of the
 * mesh stays on screen.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks'
import { clock } from './format.js'
import { apiGet, Live, storedToken, storeToken, type LiveStatus } from './live.js'
import { listHash, parseHash, type Route } from './route.js'
import { applyMessage, BadMessageError, emptyView, inTrouble, type MeshView, type StateFilter } from './store.js'
import { Login } from './views/login.js'
import { NodePage } from './views/node.js'
import { Overview } from './views/overview.js'
import { MORE_DEVICE_ROWS } from './views/panels.js'

/** while the node serves devices, how often the list is read again, ms */
const DEVICES_EVERY_MS = 5000

/** device rows asked for at first (then MORE_DEVICE_ROWS per "show more"): a fleet of 10 000 is never read whole */
const DEVICE_ROWS = 50

/** Reads the devices' counts by state and the first `limit` of them, trouble first, every DEVICES_EVERY_MS (and when `limit` grows). */
function useDevices (live: boolean, limit: number, setView: (f: (v: MeshView) => MeshView) => void): void {
  useEffect(() => {
    if (!live) return
    let stopped = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const poll = async (): Promise<void> => {
      try {
        const counted = await apiGet('api/v1/devices/counts')
        // 404: this node has no devices endpoint; ask again only after a reconnect
        if (counted.status === 404) { setView(v => v.devices === null ? v : { ...v, devices: null }); return }
        const counts = counted.ok ? await counted.json() as unknown : null
        if (typeof counts === 'object' && counts !== null) {
          const total = Object.values(counts).reduce((a: number, n) => a + (typeof n === 'number' ? n : 0), 0)
          const res = total === 0 ? null : await apiGet(`api/v1/devices?order=trouble&limit=${limit}`)
          const rows = res === null ? [] : res.ok ? await res.json() as unknown : null
          if (!stopped && Array.isArray(rows)) setView(v => ({ ...v, devices: { rows, counts: counts as Record<string, number> } }))
        }
      } catch {}
      if (!stopped) timer = setTimeout(() => { void poll() }, DEVICES_EVERY_MS)
    }
    void poll()
    return () => { stopped = true; clearTimeout(timer) }
  }, [live, limit])
}

export function App () {
  const [view, setView] = useState<MeshView>(emptyView)
  const [status, setStatus] = useState<LiveStatus>({ kind: 'connecting' })
  const [route, setRoute] = useState<Route>(() => parseHash(location.hash))
  const [refused, setRefused] = useState(false)
  // bumped every few seconds so the ages shown move on
  const [, setTick] = useState(0)
  const [lostAt, setLostAt] = useState<string | null>(null)
  const live = useRef<Live | null>(null)
  /** when the stream message not yet painted arrived (0: none) */
  const messageAt = useRef(0)
  const firstRender = useRef(true)
  const cameFromList = useRef(false)
  const leftNode = useRef<string | null>(null)

  // a layout effect: the stream is asked for before the first paint, not a frame after it
  useLayoutEffect(() => {
    // a message that does not parse ends the connection (Live reconnects and shows why)
    const l = live.current = new Live(m => {
      if (messageAt.current === 0) messageAt.current = performance.now()
      if (m.event === 'snapshot' && firstRender.current) performance.measure('meshmon:snapshot', { start: 0 })
      const data = JSON.parse(m.data) as unknown
      if (typeof data !== 'object' || data === null) throw new BadMessageError(`stream event ${m.event} carries no object`)
      setView(v => applyMessage(v, m.event, data))
    }, s => {
      setStatus(s)
      if (s.kind === 'live') setLostAt(null)
      if (s.kind === 'retrying') setLostAt(t => t ?? new Date().toISOString())
      if (s.kind === 'unauthorized') { setRefused(storedToken() !== null); setView(emptyView()) }
    })
    l.start()
    const timer = setInterval(() => { setTick(t => t + 1) }, 5000)
    return () => { l.stop(); clearInterval(timer) }
  }, [])

  useEffect(() => {
    let current = parseHash(location.hash)
    const onHash = (): void => {
      const next = parseHash(location.hash)
      cameFromList.current = current.page === 'list' && next.page === 'node'
      leftNode.current = current.page === 'node' && next.page === 'list' ? current.peerId : null
      current = next
      setRoute(next)
    }
    addEventListener('hashchange', onHash)
    return () => { removeEventListener('hashchange', onHash) }
  }, [])

  useEffect(() => {
    if (route.page === 'list' && leftNode.current !== null) {
      document.querySelector<HTMLElement>(`[data-peer="${CSS.escape(leftNode.current)}"]`)?.focus()
      leftNode.current = null
    }
    if (route.page !== 'node') return
    const onKey = (e: KeyboardEvent): void => {
      if (e.key !== 'Escape') return
      e.preventDefault()
      if (cameFromList.current) history.back()
      else location.hash = '#/'
    }
    addEventListener('keydown', onKey)
    return () => { removeEventListener('keydown', onKey) }
  }, [route])

  // timings for the benchmark and for anyone with devtools open
  useEffect(() => {
    if (!view.loaded) return
    if (firstRender.current) { firstRender.current = false; performance.measure('meshmon:first-render', { start: 0 }) }
    else if (messageAt.current > 0) performance.measure('meshmon:update', { start: messageAt.current })
    messageAt.current = 0
    const trouble = [...view.peers.values()].filter(inTrouble).length
    document.title = trouble > 0 ? `(${trouble}) meshmon` : 'meshmon'
  }, [view])

  const [deviceLimit, setDeviceLimit] = useState(DEVICE_ROWS)
  useDevices(status.kind === 'live', deviceLimit, setView)

  if (status.kind === 'unauthorized') {
    return <Login refused={refused} onToken={token => { storeToken(token); setRefused(false); live.current?.start() }} />
  }
  // the node's clock now
  const now = Math.round((Date.now() + view.skewMs) / 1000) * 1000
  const onFilter = (query: string, state: StateFilter): void => {
    history.replaceState(null, '', listHash(query, state))
    setRoute({ page: 'list', query, state })
  }
  const logout = (): void => {
    storeToken(null)
    live.current?.stop()
    setView(emptyView())
    live.current?.start()
  }
  return (
    <>
      <header>
        <a href="#/" class="brand">meshmon</a>
        <span class="summary">{view.loaded ? `${view.peers.size} node${view.peers.size === 1 ? '' : 's'}` : ''}</span>
        <span class={`conn conn-${status.kind}`} role="status">
          {status.kind === 'live' ? '● live' : status.kind === 'retrying' ? `○ reconnecting (${status.reason})` : '○ connecting…'}
        </span>
        {storedToken() !== null ? <button type="button" class="logout" onClick={logout}>forget token</button> : null}
      </header>
      {status.kind !== 'live' && lostAt !== null && view.loaded ? <p class="warn stale" role="alert">The connection to this node was lost at {clock(lostAt)}; what you see is from then. Reconnecting…</p> : null}
      <main>
        {!view.loaded ? <p class="quiet">Loading the mesh…</p>
          : route.page === 'node'
            ? <NodePage peerId={route.peerId} peer={view.peers.get(route.peerId)} live={view.events} now={now} />
            : <Overview view={view} query={route.query} state={route.state} now={now} onFilter={onFilter} onMoreDevices={() => { setDeviceLimit(l => l + MORE_DEVICE_ROWS) }} />}
      </main>
    </>
  )
}
