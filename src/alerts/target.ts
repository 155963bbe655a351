/**
 * One Alertmanager URL. It owes a set of alert fingerprints (not batches):
 * each send builds the batch from the ledger's current state. One request at a
 * time per URL; a failure keeps what is owed and retries with exponential
 * backoff, while the other URLs and the evaluation carry on untouched.
 */
import type { Logger } from 'pino'
import { backoffDelay } from '../backoff.js'
import type { Alert } from './rules.js'

export type SendResult = 'success' | 'error'

export interface TargetComponents {
  log: Logger
  /** the alerts to send now for these fingerprints, with their versions; forgotten ones are left out */
  batch: (fps: string[]) => Array<{ fp: string, alert: Alert, version: number }>
  /** the fingerprint's version now (undefined once forgotten) */
  version: (fp: string) => number | undefined
  count: (result: SendResult) => void
  /** aborted when the pusher stops */
  shutdown: AbortSignal
}

export interface TargetInit {
  /** Alertmanager's base URL, e.g. http://alertmanager:9093 */
  url: string
  fetchTimeoutMs: number
  retryInitialMs: number
  retryMaxMs: number
}

export class AlertmanagerTarget {
  readonly #c: TargetComponents
  readonly #init: TargetInit
  readonly #endpoint: string
  readonly #owed = new Set<string>()
  #inFlight?: Promise<void>
  #retry?: NodeJS.Timeout
  /** failed sends in a row */
  #failures = 0
  #healthy = true

  constructor (components: TargetComponents, init: TargetInit) {
    this.#c = components
    this.#init = init
    this.#endpoint = `${init.url.replace(/\/+$/, '')}/api/v2/alerts`
  }

  owe (fps: Iterable<string>): void { for (const fp of fps) this.#owed.add(fp) }
  owes (fp: string): boolean { return this.#owed.has(fp) }

  /** Send what is owed now, unless a request is going (it sends again after) or a retry is scheduled. */
  flush (): void {
    if (this.#c.shutdown.aborted || this.#inFlight !== undefined || this.#retry !== undefined || this.#owed.size === 0) return
    this.#inFlight = this.#send().then(again => {
      this.#inFlight = undefined
      if (again) this.flush()
    }, (err: any) => {
      // a bug, not a network failure (those are handled in #send): say so, and try again at the next change or resend
      this.#inFlight = undefined
      this.#c.log.error({ url: this.#init.url, err: err?.message }, 'sending alerts failed')
    })
  }

  async stop (): Promise<void> {
    clearTimeout(this.#retry)
    this.#retry = undefined
    await this.#inFlight
  }

  /** resolves true when it should flush again at once (more became owed meanwhile) */
  async #send (): Promise<boolean> {
    const fps = [...this.#owed]
    const batch = this.#c.batch(fps)
    const sent = new Set(batch.map(b => b.fp))
    for (const fp of fps) if (!sent.has(fp)) this.#owed.delete(fp)
    if (batch.length === 0) return false
    const problem = await this.#post(batch.map(b => b.alert))
    if (this.#c.shutdown.aborted) return false
    this.#c.count(problem === undefined ? 'success' : 'error')
    // a URL going bad is logged once, and its recovery once, not every retry
    if (problem === undefined && !this.#healthy) {
      this.#c.log.info({ url: this.#init.url, alerts: batch.length }, 'alertmanager reachable again; delivered the current state of every alert it missed')
    } else if (problem !== undefined && this.#healthy) {
      this.#c.log.warn({ url: this.#init.url, err: problem.message, owed: this.#owed.size },
        problem.final ? 'alertmanager refused alerts' : 'alertmanager unreachable; keeping alerts and retrying with backoff')
    }
    this.#healthy = problem === undefined
    if (problem === undefined || problem.final) {
      // delivered, or refused for good (retrying a 4xx only repeats it): owed no more,
      // unless it changed while the request was going
      for (const b of batch) if (this.#c.version(b.fp) === b.version) this.#owed.delete(b.fp)
      this.#failures = 0
      return this.#owed.size > 0
    }
    const delay = backoffDelay(this.#failures++, { initialMs: this.#init.retryInitialMs, maxMs: this.#init.retryMaxMs })
    this.#retry = setTimeout(() => { this.#retry = undefined; this.flush() }, delay)
    return false
  }

  /** undefined when delivered; `final` when retrying the same batch cannot help */
  async #post (alerts: Alert[]): Promise<{ message: string, final: boolean } | undefined> {
    const request = new AbortController()
    const timer = setTimeout(() => { request.abort(new Error(`no answer within ${this.#init.fetchTimeoutMs} ms`)) }, this.#init.fetchTimeoutMs)
    const onShutdown = (): void => { request.abort(new Error('stopping')) }
    this.#c.shutdown.addEventListener('abort', onShutdown, { once: true })
    try {
      const res = await fetch(this.#endpoint, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts), signal: request.signal
      })
      const text = await res.text()
      if (res.ok) return undefined
      return { message: `HTTP ${res.status}: ${text.trim().slice(0, 300)}`, final: res.status >= 400 && res.status < 500 && res.status !== 429 }
    } catch (err: any) {
      const reason = request.signal.aborted ? request.signal.reason : err?.cause ?? err
      return { message: String(reason?.message ?? reason), final: false }
    } finally {
      clearTimeout(timer)
      this.#c.shutdown.removeEventListener('abort', onShutdown)
    }
  }
}
