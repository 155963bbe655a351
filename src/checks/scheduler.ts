/**
 * Runs every configured check on its own interval and keeps the state the mesh
 * sees. Runs of one check never overlap: a run still going when the next is due
 * makes that tick a no-op. Flap damping: a new status counts only after
 * `confirmRuns` consecutive runs saw it; output, perfdata, duration and lastRun
 * follow every run.
 */
import type { CheckConfig } from '../config/schema.js'
import { timerMs } from './nagios.js'
import { runCheck } from './run.js'
import { Status, type CheckResult, type CheckState, type StatusCode } from './types.js'

export interface CheckSchedulerInit {
  checks: CheckConfig[]
  /**
   * Called when a check's counted status changes, and after its first finished
   * run (the state leaves "pending first run"). Not called when only output,
   * perfdata or timing change: those change nearly every run.
   */
  onChange?: (state: CheckState) => void
  /** clock for lastRun / since @default Date.now */
  now?: () => number
  /** runs one check; swapped in tests @default runCheck */
  run?: (check: CheckConfig, options: { signal: AbortSignal }) => Promise<CheckResult>
  /** delay before a check's first run, spreading checks apart @default random in [0, min(interval, 1s)) */
  jitterMs?: (check: CheckConfig) => number
  /** where an error thrown by onChange (or by recording a run) goes @default ignored */
  onError?: (error: unknown) => void
}

export interface CheckScheduler {
  start: () => void
  /** Abort running checks (killing their processes), clear every timer; resolves once the runs are gone. */
  stop: () => Promise<void>
  /** current state of every check, in config order (copies) */
  states: () => CheckState[]
  /** Run every check once (waiting for a run already going instead of starting another). */
  runOnce: () => Promise<CheckState[]>
}

interface Slot {
  check: CheckConfig
  state: CheckState
  /** a status seen but not yet counted, and in how many consecutive runs */
  candidate?: { status: StatusCode, runs: number }
  running?: Promise<void>
  timers: NodeJS.Timeout[]
}

class Scheduler implements CheckScheduler {
  readonly #slots: Slot[]
  readonly #init: CheckSchedulerInit
  readonly #now: () => number
  #shutdown = new AbortController()
  #started = false

  constructor (init: CheckSchedulerInit) {
    this.#init = init
    this.#now = init.now ?? Date.now
    const at = this.#now()
    this.#slots = init.checks.map(check => ({
      check,
      state: { name: check.name, type: check.type, status: Status.UNKNOWN, output: 'pending first run', perfdata: '', durationSeconds: 0, lastRun: 0, since: at },
      timers: []
    }))
  }

  start (): void {
    if (this.#started) return
    this.#started = true
    if (this.#shutdown.signal.aborted) this.#shutdown = new AbortController() // restart after stop
    for (const slot of this.#slots) {
      const jitter = this.#init.jitterMs?.(slot.check) ?? Math.random() * Math.min(slot.check.interval, 1000)
      // a timer callback never throws: a failure of the run's own bookkeeping goes to onError
      const tick = (): void => { this.#runSlot(slot).catch(error => { this.#init.onError?.(error) }) }
      slot.timers.push(setTimeout(() => {
        tick()
        slot.timers.push(setInterval(tick, timerMs(slot.check.interval)))
      }, jitter))
    }
  }

  async stop (): Promise<void> {
    this.#started = false
    this.#shutdown.abort()
    for (const slot of this.#slots) {
      for (const t of slot.timers) clearTimeout(t) // clearTimeout clears intervals too
      slot.timers = []
    }
    await Promise.all(this.#slots.map(async s => await s.running))
  }

  states (): CheckState[] {
    return this.#slots.map(s => ({ ...s.state }))
  }

  async runOnce (): Promise<CheckState[]> {
    // after stop() the old shutdown signal is aborted; an explicit run deserves a live one
    if (!this.#started && this.#shutdown.signal.aborted) this.#shutdown = new AbortController()
    await Promise.all(this.#slots.map(async slot => await (slot.running ?? this.#runSlot(slot))))
    return this.states()
  }

  /** Start a run unless one is going; rejects only if recording its result failed (a bug). */
  #runSlot (slot: Slot): Promise<void> {
    if (slot.running !== undefined) return slot.running
    const signal = this.#shutdown.signal
    const run = this.#init.run ?? runCheck
    slot.running = (async () => {
      let result: CheckResult
      try {
        result = await run(slot.check, { signal })
      } catch (error) { // runCheck never throws, but an injected runner might
        result = { status: Status.UNKNOWN, output: `check failed unexpectedly: ${String(error)}`, perfdata: '', durationSeconds: 0 }
      }
      // a run cut short by stop() says nothing about the service: keep the last real state
      if (!signal.aborted) this.#record(slot, result)
    })().finally(() => { slot.running = undefined })
    return slot.running
  }

  #record (slot: Slot, result: CheckResult): void {
    const now = this.#now()
    const s = slot.state
    const first = s.lastRun === 0
    Object.assign(s, { output: result.output, perfdata: result.perfdata, durationSeconds: result.durationSeconds, lastRun: now })
    let changed = first
    if (first || result.status === s.status) {
      // the first result counts at once: there is no earlier status to protect from flapping
      slot.candidate = undefined
      if (first && result.status !== s.status) { s.status = result.status; s.since = now }
    } else {
      const runs = slot.candidate?.status === result.status ? slot.candidate.runs + 1 : 1
      slot.candidate = { status: result.status, runs }
      if (runs >= slot.check.confirmRuns) {
        s.status = result.status
        s.since = now
        slot.candidate = undefined
        changed = true
      }
    }
    if (changed && this.#init.onChange !== undefined) {
      try { this.#init.onChange({ ...s }) } catch (error) { this.#init.onError?.(error) }
    }
  }
}

/** A scheduler for the configured checks; nothing runs until start() or runOnce(). */
export function checkScheduler (init: CheckSchedulerInit): CheckScheduler {
  return new Scheduler(init)
}
