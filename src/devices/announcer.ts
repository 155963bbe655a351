/**
 * Tells the mesh about the devices connected to this peer, on the devices
 * topic (wire.ts), and feeds the others' announcements into the device table.
 *  - changes go out batched: the first change waits `batchMs` for others, so
 *    a burst (100 devices dropping at once) is one message, and messages are
 *    at least `batchMs` apart;
 *  - every `fullEveryMs`, and `joinDelayMs` after a peer subscribes to the
 *    topic, every session again (chunked): a peer that joined later or missed
 *    a message converges without asking;
 *  - validation runs as the topic validator: invalid messages are neither
 *    applied nor forwarded, and are counted by reason.
 */
import { TopicValidatorResult, type Message, type SubscriptionChangeData, type TopicValidatorFn } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { DeviceEntry } from './sessions.js'
import type { DeviceTable } from './table.js'
import type { LogThrottle } from './throttle.js'
import { decodeAnnouncement, DEVICE_TOPIC, encodeAnnouncements, type InvalidReason } from './wire.js'

/** What the announcer needs of gossipsub (registered as `pubsub`, StrictSign). */
export interface DevicePubSub {
  subscribe: (topic: string) => void
  publish: (topic: string, data: Uint8Array) => Promise<unknown>
  topicValidators: Map<string, TopicValidatorFn>
  addEventListener: (type: 'subscription-change', listener: (evt: CustomEvent<SubscriptionChangeData>) => void) => void
  removeEventListener: (type: 'subscription-change', listener: (evt: CustomEvent<SubscriptionChangeData>) => void) => void
}

export interface AnnouncerComponents { pubsub: DevicePubSub, table: DeviceTable, log: Logger, throttle: LogThrottle, peerId: string }

export interface AnnouncerInit {
  /** this node's name, carried so every peer can show a device's via by name */
  name: string
  /** process start, unix ms: (boot, seq) only grows across restarts */
  boot: number
  /** @default 300 */
  batchMs?: number
  /** @default 30_000 */
  fullEveryMs?: number
  /** @default 500 */
  joinDelayMs?: number
}

export interface AnnouncerStats { sent: number, received: number, invalid: Record<InvalidReason | 'unsigned', number>, refused: number }

export class DeviceAnnouncer {
  readonly stats: AnnouncerStats = { sent: 0, received: 0, invalid: { too_large: 0, decode: 0, schema: 0, unsigned: 0 }, refused: 0 }
  readonly #c: AnnouncerComponents
  readonly #init: Required<AnnouncerInit>
  #seq = 0
  #batch?: NodeJS.Timeout
  #join?: NodeJS.Timeout
  #full?: NodeJS.Timeout
  #running = false
  readonly #onDirty = (): void => {
    this.#batch ??= setTimeout(() => { this.#batch = undefined; this.#send(this.#c.table.local.takeDirty(), false) }, this.#init.batchMs)
  }

  readonly #onSubscription = (evt: CustomEvent<SubscriptionChangeData>): void => {
    if (evt.detail.subscriptions.some(s => s.topic === DEVICE_TOPIC && s.subscribe)) this.#fullSoon()
  }

  constructor (components: AnnouncerComponents, init: AnnouncerInit) {
    this.#c = components
    this.#init = { ...init, batchMs: init.batchMs ?? 300, fullEveryMs: init.fullEveryMs ?? 30_000, joinDelayMs: init.joinDelayMs ?? 500 }
  }

  start (): void {
    this.#running = true
    this.#c.pubsub.topicValidators.set(DEVICE_TOPIC, (_peer, msg) => this.#validate(msg))
    this.#c.pubsub.subscribe(DEVICE_TOPIC)
    this.#c.pubsub.addEventListener('subscription-change', this.#onSubscription)
    this.#c.table.on('dirty', this.#onDirty)
    this.#full = setInterval(() => { this.#send(this.#c.table.local.entries(), true) }, this.#init.fullEveryMs)
    this.#fullSoon()
  }

  /** Nothing more goes out; on a graceful leave the others mark this peer left and its devices unknown. */
  stop (): void {
    this.#running = false
    this.#c.table.off('dirty', this.#onDirty)
    this.#c.pubsub.removeEventListener('subscription-change', this.#onSubscription)
    this.#c.pubsub.topicValidators.delete(DEVICE_TOPIC)
    for (const t of [this.#batch, this.#join]) clearTimeout(t)
    clearInterval(this.#full)
    this.#batch = this.#join = this.#full = undefined
  }

  #fullSoon (): void {
    if (!this.#running) return
    this.#join ??= setTimeout(() => { this.#join = undefined; this.#send(this.#c.table.local.entries(), true) }, this.#init.joinDelayMs)
  }

  #send (entries: DeviceEntry[], full: boolean): void {
    if (!this.#running) return
    try {
      const messages = encodeAnnouncements({ boot: this.#init.boot, name: this.#init.name, full }, entries, () => ++this.#seq, Date.now)
      for (const m of messages) {
        this.#c.pubsub.publish(DEVICE_TOPIC, m).then(() => { this.stats.sent++ }, (err: Error) => {
          this.#c.log.debug({ err: err.message }, 'device announcement not published')
        })
      }
    } catch (err: any) {
      this.#c.log.error({ err: err.message }, 'device announcement not built')
    }
  }

  #validate (msg: Message): TopicValidatorResult {
    this.stats.received++
    if (msg.type !== 'signed') return this.#invalid('unsigned', 'unsigned message')
    const from = msg.from.toString()
    if (from === this.#c.peerId) return TopicValidatorResult.Ignore
    const decoded = decodeAnnouncement(msg.data)
    if (!decoded.ok) return this.#invalid(decoded.reason, decoded.detail, from)
    const r = this.#c.table.applyRemote(from, decoded.msg.name, decoded.msg)
    if (r.refused > 0) {
      this.stats.refused += r.refused
      this.#c.throttle.warn('mesh-max-devices', { from, refused: r.refused }, 'devices announced by a peer not held: the table holds ingest.maxDevices devices')
    }
    return TopicValidatorResult.Accept
  }

  #invalid (reason: keyof AnnouncerStats['invalid'], detail: string, from?: string): TopicValidatorResult {
    this.stats.invalid[reason]++
    this.#c.throttle.warn(`mesh-invalid-${reason}`, { reason, detail, from }, 'invalid device announcement dropped')
    return TopicValidatorResult.Reject
  }
}
