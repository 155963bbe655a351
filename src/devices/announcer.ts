/**
 * Tells the mesh about the devices connected to this peer, on the devices
 * topic (wire.ts), and feeds the others' announcements into the device table.
 *  - changes go out batched: the first change waits `batchMs` for others, so
 *    a burst (100 devices dropping at once) is one message, and messages are
 *    at least `batchMs` apart;
 *  - every `fullEveryMs`, every session again (chunked): a peer that missed a
 *    message converges without asking. Most of these rounds carry each
 *    device's data hash instead of its data (a tenth of the bytes at 10k
 *    devices): a peer holding other data asks for it (`want`), and gets it in
 *    the next batch. Every `dataEvery`-th round, and `joinDelayMs` after a peer
 *    subscribes to the topic (a peer that joined, or came back), the data goes too.
 *    A peer with no device sends the empty round only every `dataEvery`-th time
 *    once it has said so (the first round of a boot, and on a join, still go);
 *  - validation runs as the topic validator: invalid messages are neither
 *    applied nor forwarded, and are counted by reason.
 */
import { TopicValidatorResult, type Message, type SubscriptionChangeData, type TopicValidatorFn } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { DeviceEntry } from './sessions.js'
import type { DeviceTable } from './table.js'
import type { LogThrottle } from '../log-throttle.js'
import { decodeAnnouncement, DEVICE_TOPIC, encodeAnnouncements, encodeWants, type InvalidReason } from './wire.js'

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
  /** every this many periodic rounds carries the data (the others, hashes) @default 10 */
  dataEvery?: number
}

/** `rounds`: periodic re-announcement rounds so far (a round may send nothing, see start()) */
export interface AnnouncerStats { sent: number, received: number, invalid: Record<InvalidReason | 'unsigned', number>, refused: number, rounds: number }

export class DeviceAnnouncer {
  readonly stats: AnnouncerStats = { sent: 0, received: 0, invalid: { too_large: 0, decode: 0, schema: 0, unsigned: 0 }, refused: 0, rounds: 0 }
  readonly #c: AnnouncerComponents
  readonly #init: Required<AnnouncerInit>
  #seq = 0
  /** the last full announcement had no device */
  #saidEmpty = false
  #batch?: NodeJS.Timeout
  #join?: NodeJS.Timeout
  #full?: NodeJS.Timeout
  #running = false
  /** devices whose data this peer asks their vias for, with the next batch */
  readonly #wants = new Set<string>()
  readonly #onDirty = (): void => {
    this.#batch ??= setTimeout(() => { this.#batch = undefined; this.#flush() }, this.#init.batchMs)
  }

  readonly #onSubscription = (evt: CustomEvent<SubscriptionChangeData>): void => {
    if (evt.detail.subscriptions.some(s => s.topic === DEVICE_TOPIC && s.subscribe)) this.#fullSoon()
  }

  constructor (components: AnnouncerComponents, init: AnnouncerInit) {
    this.#c = components
    this.#init = { ...init, batchMs: init.batchMs ?? 300, fullEveryMs: init.fullEveryMs ?? 30_000, joinDelayMs: init.joinDelayMs ?? 500, dataEvery: init.dataEvery ?? 10 }
  }

  start (): void {
    this.#running = true
    this.#c.pubsub.topicValidators.set(DEVICE_TOPIC, (_peer, msg) => this.#validate(msg))
    this.#c.pubsub.subscribe(DEVICE_TOPIC)
    this.#c.pubsub.addEventListener('subscription-change', this.#onSubscription)
    this.#c.table.on('dirty', this.#onDirty)
    this.#full = setInterval(() => {
      const entries = this.#c.table.local.entries()
      const light = ++this.stats.rounds % this.#init.dataEvery !== 0
      // a peer without devices (most peers) says so on every data round only, not every round: each
      // message costs every peer of the mesh a few reads (gossipsub's duplicates) and a signature check
      if (entries.length === 0 && this.#saidEmpty && light) return
      this.#send(entries, true, light)
    }, this.#init.fullEveryMs)
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

  #flush (): void {
    this.#send(this.#c.table.local.takeDirty(), false)
    if (this.#wants.size === 0 || !this.#running) return
    this.#publish(encodeWants({ boot: this.#init.boot, name: this.#init.name }, [...this.#wants], () => ++this.#seq, Date.now))
    this.#wants.clear()
  }

  #send (entries: DeviceEntry[], full: boolean, light = false): void {
    if (!this.#running) return
    if (full) this.#saidEmpty = entries.length === 0
    try {
      this.#publish(encodeAnnouncements({ boot: this.#init.boot, name: this.#init.name, full, light }, entries, () => ++this.#seq, Date.now))
    } catch (err: any) {
      this.#c.log.error({ err: err.message }, 'device announcement not built')
    }
  }

  #publish (messages: Uint8Array[]): void {
    for (const m of messages) {
      this.#c.pubsub.publish(DEVICE_TOPIC, m).then(() => { this.stats.sent++ }, (err: Error) => {
        this.#c.log.debug({ err: err.message }, 'device announcement not published')
      })
    }
  }

  #validate (msg: Message): TopicValidatorResult {
    this.stats.received++
    if (msg.type !== 'signed') return this.#invalid('unsigned', 'unsigned message')
    const from = msg.from.toString()
    if (from === this.#c.peerId) return TopicValidatorResult.Ignore
    const decoded = decodeAnnouncement(msg.data)
    if (!decoded.ok) return this.#invalid(decoded.reason, decoded.detail, from)
    const ann = decoded.msg
    // a peer asks for the data of devices it holds no (or other) data of: those of ours go in the next batch
    if (ann.want !== undefined) this.#c.table.local.want(ann.want)
    const r = this.#c.table.applyRemote(from, ann.name, ann)
    // asked for in the next batch (flushed every batchMs: the set holds at most what arrived meanwhile)
    if (r.wanted.length > 0) {
      for (const id of r.wanted) this.#wants.add(id)
      this.#onDirty()
    }
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
