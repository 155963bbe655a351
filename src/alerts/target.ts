/**
 * One Alertmanager URL. It owes a set of alert fingerprints (not batches):
 * each send builds the batch from the ledger's current state. One request at a
 * time per URL; a failure keeps what is owed and retries with exponential
 * backoff, while the other URLs and the evaluation carry on untouched.
 */
import type { Logger } from 'pino'
import { backoffDelay } from '../backoff.js'
import { AlertmanagerEndpoint, type AlertmanagerHttp } from './http.js'
import type { Alert } from './rules.js'

/** `unauthorized`: Alertmanager refused the credentials (401/403); the alerts are kept and retried */
export type SendResult = 'success' | 'error' | 'unauthorized'

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
  /** Alertmanager's base URL, e.g. http://alertmanager:9093 (may carry user:password@) */
  url: string
  /** credentials and TLS @default none */
  http?: AlertmanagerHttp
  fetchTimeoutMs: number
  retryInitialMs: number
  retryMaxMs: number
  /** while the credentials stay refused, the warning is repeated this often, ms @default 300_000 */
  refusedLogEveryMs?: number
}

/** What one POST came to: undefined when delivered. */
interface Problem {
  message: string
  /** retrying the same batch cannot help (a 4xx other than 401/403/429) */
  final: boolean
  unauthorized: boolean
}

export class AlertmanagerTarget {
  readonly #c: TargetComponents
  readonly #init: TargetInit
  readonly #endpoint: AlertmanagerEndpoint
  readonly #owed = new Set<string>()
  #inFlight?: Promise<void>
  #retry?: NodeJS.Timeout
  /** failed sends in a row */
  #failures = 0
  #healthy = true
  /** when the refused-credentials warning was last logged */
  #refusedLoggedAt = -Infinity

  constructor (components: TargetComponents, init: TargetInit) {
    this.#c = components
    this.#init = init
    this.#endpoint = new AlertmanagerEndpoint(init.url, init.http)
  }

  /** the URL as logs show it: without credentials */
  get url (): string { return this.#endpoint.shown }

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
      this.#c.log.error({ url: this.url, err: this.#endpoint.redact(String(err?.message)) }, 'sending alerts failed')
    })
  }

  async stop (): Promise<void> {
    clearTimeout(this.#retry)
    this.#retry = undefined
    await this.#inFlight
    this.#endpoint.close()
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
    this.#c.count(problem === undefined ? 'success' : problem.unauthorized ? 'unauthorized' : 'error')
    this.#report(problem, batch.length)
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

  /**
   * A URL going bad is logged once, and its recovery once, not every retry.
   * Refused credentials are the exception: nothing recovers them but an
   * operator, so the warning comes back every few minutes while they last.
   */
  #report (problem: Problem | undefined, sent: number): void {
    const log = this.#c.log
    if (problem === undefined) {
      if (!this.#healthy) log.info({ url: this.url, alerts: sent }, 'alertmanager reachable again; delivered the current state of every alert it missed')
      this.#refusedLoggedAt = -Infinity
      return
    }
    const fields = { url: this.url, err: problem.message, owed: this.#owed.size }
    if (problem.unauthorized) {
      const now = performance.now()
      if (now - this.#refusedLoggedAt < (this.#init.refusedLogEveryMs ?? 300_000)) return
      this.#refusedLoggedAt = now
      log.warn(fields, 'alertmanager refused the credentials; keeping alerts and retrying (check alertmanager.basicAuth, bearerTokenFile or the URL\'s user:password)')
    } else if (this.#healthy) {
      log.warn(fields, problem.final ? 'alertmanager refused alerts' : 'alertmanager unreachable; keeping alerts and retrying with backoff')
    }
  }

  /** undefined when delivered */
  async #post (alerts: Alert[]): Promise<Problem | undefined> {
    const request = new AbortController()
    const timer = setTimeout(() => { request.abort(new Error(`no answer within ${this.#init.fetchTimeoutMs} ms`)) }, this.#init.fetchTimeoutMs)
    const onShutdown = (): void => { request.abort(new Error('stopping')) }
    this.#c.shutdown.addEventListener('abort', onShutdown, { once: true })
    try {
      const { status, text } = await this.#endpoint.post(JSON.stringify(alerts), request.signal)
      if (status >= 200 && status < 300) return undefined
      const unauthorized = status === 401 || status === 403
      return {
        message: this.#endpoint.redact(`HTTP ${status}: ${text.trim().slice(0, 300)}`),
        final: !unauthorized && status >= 400 && status < 500 && status !== 429,
        unauthorized
      }
    } catch (err: any) {
      const reason = request.signal.aborted ? request.signal.reason : err
      return { message: this.#endpoint.redact(String(reason?.message ?? reason)), final: false, unauthorized: false }
    } finally {
      clearTimeout(timer)
      this.#c.shutdown.removeEventListener('abort', onShutdown)
    }
  }
}
