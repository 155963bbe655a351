/** Small pieces every view uses. States read by text and shape, not only by colour. */
import { pct } from '../format.js'

// the shape of each state is drawn by the stylesheet (.badge::before), one element per badge
export function StateBadge ({ state }: { state: string }) {
  return <span class={`badge st-${state}`}>{state}</span>
}

const CHECK = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const

export function CheckBadge ({ status }: { status: number }) {
  const s = Math.min(3, Math.max(0, status)) as 0 | 1 | 2 | 3
  return <span class={`badge ck-${s}`}>{CHECK[s]}</span>
}

/**
 * A small bar with its number in it, "–" where there is nothing to show. One
 * element: the fill is a gradient up to --v (500 rows of 4 bars add up).
 */
export function Bar ({ label, ratio, title }: { label: string, ratio: number | null, title?: string }) {
  if (ratio === null) return <span class="bar none" title={`${label}: none`}>{label} –</span>
  const r = Math.min(1, Math.max(0, ratio))
  const level = r >= 0.9 ? ' hi' : r >= 0.75 ? ' mid' : ''
  return <span class={`bar${level}`} title={title ?? `${label} ${pct(r)}`} style={{ '--v': pct(r) }}>{label} {pct(r)}</span>
}
