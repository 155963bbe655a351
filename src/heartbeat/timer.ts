/**
 * Timers as membership uses them, injectable: the node runs on Node's own
 * (unref'd, so a timer never keeps a stopping process alive), the protocol
 * simulation (bench/sim.ts) on virtual time.
 */
export interface Timer {
  cancel: () => void
  /** start it again with its first delay, from now (Node's timeout.refresh(): no new timer, no wake-up) */
  refresh: () => void
}

export type SetTimer = (fn: () => void, ms: number) => Timer

export const realTimer: SetTimer = (fn, ms) => {
  const t = setTimeout(fn, ms)
  t.unref()
  return { cancel: () => { clearTimeout(t) }, refresh: () => { t.refresh() } }
}
