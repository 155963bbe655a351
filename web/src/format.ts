/** How numbers read on the page. */
export const pct = (ratio: number): string => `${Math.round(ratio * 100)}%`

export function bytes (n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let i = 0
  while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++ }
  return `${n >= 100 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i] as string}`
}

/** a span of time, coarse: 42s, 5m, 3h 10m, 12d */
export function span (ms: number): string {
  if (!Number.isFinite(ms)) return '?'
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 90) return `${s}s`
  const m = Math.round(s / 60)
  if (m < 90) return `${m}m`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h}h ${m % 60}m`
  return `${Math.floor(h / 24)}d`
}

/** time ago, from an ISO time and the node's clock now */
export const ago = (iso: string | null | undefined, now: number): string =>
  iso === null || iso === undefined ? 'never' : `${span(now - Date.parse(iso))} ago`

/** local wall time of an ISO time: 14:03:22, with the date when not today */
export function clock (iso: string): string {
  const d = new Date(iso)
  const time = d.toLocaleTimeString([], { hour12: false })
  return d.toDateString() === new Date().toDateString() ? time : `${d.toLocaleDateString()} ${time}`
}
