/**
 * Pushes the alerts this node derives to every Alertmanager URL, the
 * way Prometheus does: new or changed alerts at once, every active one again
 * each resendInterval with endsAt a few intervals ahead (so Alertmanager
 * resolves it by itself if this node dies), and a resolved one with endsAt =
 * when it resolved, repeated for a few resends, then forgotten.
 * https://prometheus.io/docs/alerting/latest/clients/
 */
import type { Logger } from 'pino'
import type { Device } from '../devices/types.js'
import type { Peer, PeerTable } from '../heartbeat/peer-table.js'
import type { HeldPartition } from '../heartbeat/incidents.js'
import type { AlertmanagerHttp } from './http.js'
import { AlertLedger } from './ledger.js'
import { deriveAlerts, type Alert } from './rules.js'
import { AlertmanagerTarget, type SendResult } from './target.js'

export interface AlertingComponents {
  table: PeerTable
  log: Logger
  /** what this node reaches of the mesh (a node cut off pages nobody about the others) */
  partition?: () => HeldPartition
  /** the mesh's devices, when the node takes devices (MeshDeviceDown) */
  devices?: () => Device[]
}

export interface AlertingInit {
  /** Alertmanager base URLs; each gets every alert, independently. Empty: derive only, push nothing */
  urls: string[]
  /** credentials and TLS for every URL (a URL's own user:password@ is used for that URL) @default none */
  http?: AlertmanagerHttp
  /** how often active alerts are sent again, ms (endsAt is 4 of these ahead) */
  resendIntervalMs: number
  /** how long an incident is held once its condition ended (heartbeat.recoverAfter): an ending alert's endsAt covers it too, ms @default 0 */
  holdMs?: number
  /** the `mesh` label: the same on every node of a mesh, or their alerts will not merge */
  mesh: string
  /** this node's API, e.g. http://gpu-01:9521/api/v1/peers */
  generatorURL: string
  /** how often the rules run, ms (they also run on every peer or check change) @default 500 */
  evaluateMs?: number
  /** resends of a resolved alert before it is forgotten (Prometheus keeps sending ~15 min) @default 4 */
  resolvedResendCount?: number
  /** an Alertmanager that has not answered by then has failed this send, ms @default 10_000 */
  fetchTimeoutMs?: number
  /** first retry delay after a failed send, doubling up to resendIntervalMs @default 1000 */
  retryInitialMs?: number
  /** most alerts remembered; beyond it the oldest resolved are dropped, then new ones @default 10_000 */
  maxAlerts?: number
  /** peer/check events within this many ms make one evaluation @default 10 */
  debounceMs?: number
  /** while a URL refuses the credentials (401/403), its warning is repeated this often, ms @default 300_000 */
  refusedLogEveryMs?: number
}

export interface Alerting {
  start: () => void
  /** clears every timer and aborts requests in flight; resolves when they are gone */
  stop: () => Promise<void>
  /** the alerts this node derives from the mesh now (GET /api/v1/alerts) */
  alerts: () => Alert[]
  /** POSTs to Alertmanager by result, over all URLs (meshmon_alertmanager_sends_total) */
  sends: () => Record<SendResult, number>
}

/** endsAt of an active alert: this many resend intervals ahead, as Prometheus does */
const ACTIVE_FOR_RESENDS = 4

export function alerting (components: AlertingComponents, init: AlertingInit): Alerting {
  return new AlertmanagerClient(components, init)
}

class AlertmanagerClient implements Alerting {
  readonly #table: PeerTable
  readonly #log: Logger
  readonly #partition?: () => HeldPartition
  readonly #devices: () => Device[]
  readonly #init: AlertingInit
  readonly #ledger: AlertLedger
  readonly #sends: Record<SendResult, number> = { success: 0, error: 0, unauthorized: 0 }
  #targets: AlertmanagerTarget[] = []
  #shutdown?: AbortController
  #timers: NodeJS.Timeout[] = []
  #debounce?: NodeJS.Timeout
  #capped = false
  readonly #unreadable = new WeakSet<Peer>()
  readonly #onChange = (): void => {
    this.#debounce ??= setTimeout(() => { this.#debounce = undefined; this.#evaluate() }, this.#init.debounceMs ?? 10)
  }

  constructor (components: AlertingComponents, init: AlertingInit) {
    this.#table = components.table
    this.#log = components.log
    this.#partition = components.partition
    this.#devices = components.devices ?? (() => [])
    this.#init = init
    this.#ledger = new AlertLedger({ resolvedResendCount: init.resolvedResendCount ?? 4, maxAlerts: init.maxAlerts ?? 10_000 })
  }

  alerts (): Alert[] {
    return deriveAlerts(this.#table.list(), this.#init, (peer, err) => {
      // once per peer, not every evaluation
      if (this.#unreadable.has(peer)) return
      this.#unreadable.add(peer)
      this.#log.warn({ peer: peer.peerId, err: (err as Error)?.message }, 'alert rules skipped a peer whose data they could not read')
    }, this.#partition?.(), this.#devices())
  }
  sends (): Record<SendResult, number> { return { ...this.#sends } }

  start (): void {
    // nowhere to push: the API's alerts() still works, nothing needs timers
    if (this.#shutdown !== undefined || this.#init.urls.length === 0) return
    const shutdown = this.#shutdown = new AbortController()
    this.#targets = this.#init.urls.map(url => new AlertmanagerTarget({
      log: this.#log,
      batch: fps => this.#batch(fps),
      version: fp => this.#ledger.version(fp),
      count: result => { this.#sends[result]++ },
      shutdown: shutdown.signal
    }, {
      url,
      http: this.#init.http,
      fetchTimeoutMs: this.#init.fetchTimeoutMs ?? 10_000,
      retryInitialMs: Math.min(this.#init.retryInitialMs ?? 1000, this.#init.resendIntervalMs),
      retryMaxMs: this.#init.resendIntervalMs,
      refusedLogEveryMs: this.#init.refusedLogEveryMs
    }))
    this.#table.on('transition', this.#onChange)
    this.#table.on('check', this.#onChange)
    this.#timers = [
      setInterval(() => { this.#evaluate() }, this.#init.evaluateMs ?? 500),
      setInterval(() => { this.#resend() }, this.#init.resendIntervalMs)
    ]
    this.#evaluate()
  }

  async stop (): Promise<void> {
    if (this.#shutdown === undefined) return
    this.#shutdown.abort()
    this.#shutdown = undefined
    this.#table.off('transition', this.#onChange)
    this.#table.off('check', this.#onChange)
    for (const t of this.#timers) clearInterval(t)
    this.#timers = []
    clearTimeout(this.#debounce)
    this.#debounce = undefined
    await Promise.all(this.#targets.map(async t => { await t.stop() }))
    this.#targets = []
  }

  #evaluate (): void {
    try {
      const { changed, refused } = this.#ledger.apply(this.alerts(), Date.now())
      if (refused > 0 && !this.#capped) this.#log.warn({ max: this.#init.maxAlerts ?? 10_000, refused }, 'too many alerts: new ones are not pushed until some resolve')
      if (refused === 0 && this.#capped) this.#log.info({ alerts: this.#ledger.size }, 'alerts back under the cap')
      this.#capped = refused > 0
      this.#push(changed)
    } catch (err: any) {
      this.#log.error({ err: err?.message }, 'evaluating alert rules failed')
    }
  }

  #resend (): void {
    try {
      this.#push(this.#ledger.round(fp => this.#targets.some(t => t.owes(fp))))
    } catch (err: any) {
      this.#log.error({ err: err?.message }, 'resending alerts failed')
    }
  }

  #push (fps: string[]): void {
    if (fps.length === 0) return
    for (const t of this.#targets) {
      t.owe(fps)
      t.flush()
    }
  }

  #batch (fps: string[]): Array<{ fp: string, alert: Alert, version: number }> {
    const now = Date.now()
    const out = []
    for (const fp of fps) {
      const p = this.#ledger.postable(fp, now, ACTIVE_FOR_RESENDS * this.#init.resendIntervalMs, this.#init.holdMs)
      if (p !== undefined) out.push({ fp, ...p })
    }
    return out
  }
}
