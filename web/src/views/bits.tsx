/** Small pieces every view uses. States read by text and shape, not only by colour. */
import { pct } from '../format.js'

const SHAPES: Record<string, string> = { up: '✓', suspect: '?', down: '✕', left: '–', unknown: '?' }

export function StateBadge ({ state }: { state: string }) {
  return <span class={`badge st-${state}`}><span aria-hidden="true">{SHAPES[state] ?? '•'}</span> {state}</span>
}

const CHECK = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const
const CHECK_SHAPES = ['✓', '!', '✕', '?'] as const

export function CheckBadge ({ status }: { status: number }) {
  const s = Math.min(3, Math.max(0, status)) as 0 | 1 | 2 | 3
  return <span class={`badge ck-${s}`}><span aria-hidden="true">{CHECK_SHAPES[s]}</span> {CHECK[s]}</span>
}

/** a small bar with its number in it; "–" where there is nothing to show */
export function Bar ({ label, ratio, title }: { label: string, ratio: number | null, title?: string }) {
  if (ratio === null) return <span class="bar none" title={`${label}: none`}><span class="txt">{label} –</span></span>
  const r = Math.min(1, Math.max(0, ratio))
  const level = r >= 0.9 ? ' hi' : r >= 0.75 ? ' mid' : ''
  return (
    <span class={`bar${level}`} title={title ?? `${label} ${pct(r)}`}>
      <span class="fill" style={{ width: pct(r) }} />
      <span class="txt">{label} {pct(r)}</span>
    </span>
  )
}
