/** Plain aligned text tables for terminal output. */
export function renderTable (header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd()
  return [line(header), ...rows.map(line)].join('\n') + '\n'
}

export function ago (iso: string | null, now = Date.now()): string {
  if (iso === null) return '-'
  const s = Math.max(0, (now - Date.parse(iso)) / 1000)
  if (s < 10) return `${s.toFixed(1)}s ago`
  if (s < 120) return `${Math.round(s)}s ago`
  if (s < 7200) return `${Math.round(s / 60)}m ago`
  return `${Math.round(s / 3600)}h ago`
}

export const pct = (ratio: number | undefined): string => (ratio === undefined || !Number.isFinite(ratio) ? '-' : `${(ratio * 100).toFixed(0)}%`)
export const shortPeerId = (id: string): string => `…${id.slice(-8)}`
