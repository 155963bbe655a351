/**
 * What an operator's Alertmanager showed over a test: it is polled (every
 * 250 ms) and each firing of an alert is kept as an incident. Alertmanager
 * shows only active alerts, so a resolved alert simply disappears; a label set
 * that reappears, or whose startsAt moves later (merging senders only ever
 * moves it earlier), is a new incident: that is how a storm of
 * down/up/down alerts shows, however short each one was.
 */
import { fingerprint } from '../../src/alerts/index.js'
import { amAlerts, type AmAlert } from '../alerts/helpers.js'

export interface Incident {
  labels: Record<string, string>
  /** as Alertmanager shows it now (the earliest any sender gave) */
  startsAt: string
  /** when this test first and last saw it active, unix ms */
  firstSeen: number
  lastSeen: number
  /** still active at the last poll */
  active: boolean
}

export class AlertHistory {
  readonly incidents: Incident[] = []
  #current = new Map<string, Incident>()
  #running = false
  #loop?: Promise<void>
  errors = 0

  constructor (readonly url: string, readonly mesh: string, readonly everyMs = 250, readonly maxMs = 30 * 60_000) {}

  start (): void {
    this.#running = true
    const until = Date.now() + this.maxMs
    this.#loop = (async () => {
      while (this.#running && Date.now() < until) {
        await this.poll().catch(() => { this.errors++ })
        await new Promise(resolve => setTimeout(resolve, this.everyMs))
      }
    })()
  }

  async stop (): Promise<void> {
    this.#running = false
    await this.#loop
  }

  /** One look at Alertmanager (the loop calls it; a test may too, to be sure of the latest). */
  async poll (): Promise<void> {
    const now = Date.now()
    const seen = new Map<string, AmAlert>()
    for (const a of await amAlerts(this.url, this.mesh)) seen.set(fingerprint(a.labels), a)
    for (const [fp, inc] of this.#current) {
      if (!seen.has(fp)) { inc.active = false; this.#current.delete(fp) }
    }
    for (const [fp, a] of seen) {
      const inc = this.#current.get(fp)
      if (inc !== undefined && Date.parse(a.startsAt) <= Date.parse(inc.startsAt)) {
        inc.startsAt = a.startsAt
        inc.lastSeen = now
        continue
      }
      if (inc !== undefined) inc.active = false
      const fresh: Incident = { labels: a.labels, startsAt: a.startsAt, firstSeen: now, lastSeen: now, active: true }
      this.incidents.push(fresh)
      this.#current.set(fp, fresh)
    }
  }

  /** Incidents of `alertname`, optionally only those whose labels include `match`. */
  of (alertname: string, match: Record<string, string> = {}): Incident[] {
    return this.incidents.filter(i => i.labels.alertname === alertname && Object.entries(match).every(([k, v]) => i.labels[k] === v))
  }

  /** Active now (as of the last poll). */
  active (alertname?: string): Incident[] {
    return this.incidents.filter(i => i.active && (alertname === undefined || i.labels.alertname === alertname))
  }

  /** For a failed assertion: every incident, one line each. */
  describe (): string {
    return this.incidents.map(i => `${i.labels.alertname} ${i.labels.node ?? ''} startsAt=${i.startsAt} seen ${new Date(i.firstSeen).toISOString()}..${new Date(i.lastSeen).toISOString()}${i.active ? ' (active)' : ''}`).join('\n')
  }
}
