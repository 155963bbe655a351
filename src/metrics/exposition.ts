/**
 * Prometheus text exposition for the mesh families, written directly: the mesh
 * view is rebuilt at every scrape from the peer table, and prom-client's
 * labelled gauges cost ~30 ms at 500 peers here (docs/decisions). Self metrics
 * still go through prom-client (see self.ts).
 */
const NEEDS_ESCAPE = /[\\\n"]/

export const escapeLabel = (v: string): string =>
  NEEDS_ESCAPE.test(v) ? v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"') : v

/** `a="x",b="y"` for a label set (no braces). */
export function labelText (labels: Record<string, string>): string {
  let l = ''
  for (const k in labels) l += `${l === '' ? '' : ','}${k}="${escapeLabel(labels[k] as string)}"`
  return l
}

export function formatValue (v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  return String(v)
}

export interface FamilySpec { name: string, type: 'gauge' | 'counter', help: string }
