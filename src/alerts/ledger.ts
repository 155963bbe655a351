/**
 * What this node has told (or owes) Alertmanager, one entry per alert
 * fingerprint: never a queue of batches, so an outage of any length costs one
 * entry per distinct alert, capped. Each entry holds the alert's CURRENT state;
 * whatever is sent, whenever, is built from it (startsAt kept, endsAt computed
 * at send time), so a late delivery still carries the true times.
 */
import { fingerprint, type Alert } from './rules.js'

interface Entry {
  alert: Alert
  /** unix ms when it stopped being derived */
  resolvedAt?: number
  /** resend rounds since it resolved */
  rounds: number
  /** bumps on every change a target must deliver (new, changed, resolved) */
  version: number
}

export interface AlertLedgerInit {
  /** resend rounds a resolved alert is sent again before it is forgotten */
  resolvedResendCount: number
  /** most alerts held; beyond it the oldest resolved are dropped, then new ones refused */
  maxAlerts: number
}

export interface Applied {
  /** fingerprints that are new, changed or just resolved */
  changed: string[]
  /** new alerts not held because the ledger is full */
  refused: number
}

export class AlertLedger {
  readonly #entries = new Map<string, Entry>()
  readonly #init: AlertLedgerInit

  constructor (init: AlertLedgerInit) { this.#init = init }

  get size (): number { return this.#entries.size }

  /** One evaluation: `derived` is every alert that holds now. */
  apply (derived: Alert[], now: number): Applied {
    const changed: string[] = []
    let refused = 0
    const live = new Set<string>()
    for (const alert of derived) {
      const fp = fingerprint(alert.labels)
      live.add(fp)
      const entry = this.#entries.get(fp)
      if (entry === undefined) {
        if (this.#entries.size >= this.#init.maxAlerts && !this.#evictOldestResolved()) { refused++; continue }
        this.#entries.set(fp, { alert, rounds: 0, version: 1 })
        changed.push(fp)
      } else if (entry.resolvedAt !== undefined || !sameContent(entry.alert, alert)) {
        // a resolved alert that holds again is a new firing with its new startsAt, under the same identity
        Object.assign(entry, { alert, resolvedAt: undefined, rounds: 0, version: entry.version + 1 })
        changed.push(fp)
      } else {
        // the same alert. Turning ending, it is sent once more (its endsAt then covers the hold: postable),
        // then no more: the last send before it turned may be nearly expired
        const turnsEnding = alert.ending === true && entry.alert.ending !== true
        entry.alert = alert
        if (turnsEnding) { entry.version++; changed.push(fp) }
      }
    }
    for (const [fp, entry] of this.#entries) {
      if (entry.resolvedAt === undefined && !live.has(fp)) {
        Object.assign(entry, { resolvedAt: now, rounds: 0, version: entry.version + 1 })
        changed.push(fp)
      }
    }
    return { changed, refused }
  }

  /**
   * A resend round: the alerts to send again. A resolved one is sent again for
   * `resolvedResendCount` rounds, then forgotten, but only once no target
   * still owes it (an Alertmanager that was down gets the resolution when it
   * returns); until then only that target keeps it, the others hear no more.
   */
  round (owed: (fp: string) => boolean): string[] {
    const out: string[] = []
    for (const [fp, entry] of this.#entries) {
      // one ending is not sent again: its send when it turned ending holds it active in Alertmanager until
      // its resolution (several resolve it within a moment of each other, and a late resend from one would reopen it)
      if (entry.resolvedAt === undefined && entry.alert.ending === true) continue
      if (entry.resolvedAt === undefined || ++entry.rounds <= this.#init.resolvedResendCount) out.push(fp)
      else if (!owed(fp)) this.#entries.delete(fp)
    }
    return out
  }

  /**
   * The alert as it is to be sent now, or undefined once forgotten. Active, its endsAt is `activeForMs`
   * ahead, and `holdMs` more while ending (the longest its incident is held before it resolves).
   */
  postable (fp: string, now: number, activeForMs: number, holdMs = 0): { alert: Alert, version: number } | undefined {
    const entry = this.#entries.get(fp)
    if (entry === undefined) return undefined
    const endsAt = new Date(entry.resolvedAt ?? now + activeForMs + (entry.alert.ending === true ? holdMs : 0)).toISOString()
    const { ending: _, ...alert } = entry.alert
    return { alert: { ...alert, endsAt }, version: entry.version }
  }

  version (fp: string): number | undefined { return this.#entries.get(fp)?.version }

  #evictOldestResolved (): boolean {
    let oldest: [string, number] | undefined
    for (const [fp, e] of this.#entries) {
      if (e.resolvedAt !== undefined && (oldest === undefined || e.resolvedAt < oldest[1])) oldest = [fp, e.resolvedAt]
    }
    if (oldest !== undefined) this.#entries.delete(oldest[0])
    return oldest !== undefined
  }
}

function sameContent (a: Alert, b: Alert): boolean {
  return a.startsAt === b.startsAt && a.generatorURL === b.generatorURL && JSON.stringify(a.annotations) === JSON.stringify(b.annotations)
}
