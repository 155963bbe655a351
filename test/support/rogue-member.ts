/**
 * The rogue as a member of the mesh: it beats to the nodes that watch it, takes
 * the records they relay to it (so its lies can name their real boot and
 * sequence numbers), and pushes its own signed record to every node at each
 * round, with whatever `obs` it chooses to report: the nodes put it on their
 * ring, so its reports count as one watcher's vote, which is what a lie needs.
 * What it writes on beat streams can be replaced (garbage beats).
 */
import type { Stream } from '@libp2p/interface'
import { lpStream, type LengthPrefixedStream } from 'it-length-prefixed-stream'
import { decodeGossip } from '../../src/heartbeat/messages.js'
import { PROTOCOL_VERSION, type Expect, type NodeRecord, type Obs } from '../../src/heartbeat/record.js'
import { BEAT_PROTOCOL, GOSSIP_PROTOCOL, MAX_GOSSIP_BYTES } from '../../src/heartbeat/streams.js'
import type { Rogue } from './rogue.js'

/** A node as the rogue learnt it from the records relayed to it. */
export interface Heard { name: string, boot: number, seq: number }

export interface RogueMemberInit {
  name: string
  /** @default 'intermittent' (its going away pages nobody) */
  expect?: Expect
  /** what it reports of the nodes it claims to watch @default nothing */
  obs?: (heard: ReadonlyMap<string, Heard>) => Record<string, Obs>
  /** what it writes on a beat stream, each half interval @default a true beat */
  beat?: (boot: number, seq: number) => Uint8Array
  /** a record pushed every, ms @default 1000 */
  recordMs?: number
}

const enc = new TextEncoder()

export class RogueMember {
  readonly heard = new Map<string, Heard>()
  readonly boot = Date.now()
  readonly #rogue: Rogue
  readonly #init: RogueMemberInit
  readonly #targets: () => string[]
  readonly #pushers = new Map<string, Promise<LengthPrefixedStream<Stream>>>()
  readonly #beating = new Set<LengthPrefixedStream<Stream>>()
  readonly #timers: NodeJS.Timeout[] = []
  #seq = 0
  /** beat streams the nodes opened to it */
  watchers = 0

  /** `targets`: the nodes it pushes its record to (/p2p/ multiaddrs) */
  constructor (rogue: Rogue, init: RogueMemberInit, targets: () => string[]) {
    this.#rogue = rogue
    this.#init = init
    this.#targets = targets
  }

  async start (): Promise<void> {
    const { libp2p } = this.#rogue
    await libp2p.handle(GOSSIP_PROTOCOL, ({ stream }) => { void this.#take(stream) }, { maxInboundStreams: 16 })
    await libp2p.handle(BEAT_PROTOCOL, ({ stream }) => { this.watchers++; this.#beating.add(lpStream(stream)) }, { maxInboundStreams: 16 })
    this.#timers.push(setInterval(() => { this.#beat() }, 500))
    this.#timers.push(setInterval(() => { void this.publish() }, this.#init.recordMs ?? 1000))
    await this.publish()
  }

  async stop (): Promise<void> {
    for (const t of this.#timers) clearInterval(t)
    await this.#rogue.libp2p.unhandle([GOSSIP_PROTOCOL, BEAT_PROTOCOL]).catch(() => {})
  }

  /** Its record again now, pushed to every target. */
  async publish (): Promise<void> {
    const r: NodeRecord = {
      v: PROTOCOL_VERSION, boot: this.boot, seq: ++this.#seq, ts: Date.now(), name: this.#init.name, expect: this.#init.expect ?? 'intermittent',
      iv: 1000, agent: 'meshmon/rogue', labels: {}, addrs: this.#rogue.addrs(), machine: null, checks: [], obs: this.#init.obs?.(this.heard) ?? {}
    }
    const msg = enc.encode(JSON.stringify({ k: 'push', items: [{ ...this.#rogue.envelope(r), u: 1 }] }))
    await Promise.all(this.#targets().map(async target => {
      try {
        let lp = this.#pushers.get(target)
        if (lp === undefined) {
          lp = this.#rogue.stream(target, GOSSIP_PROTOCOL)
          this.#pushers.set(target, lp)
        }
        await (await lp).write(msg, { signal: AbortSignal.timeout(5000) })
      } catch {
        // the node closed it (it was killed, or took offence): a new one next round
        this.#pushers.delete(target)
      }
    }))
  }

  #beat (): void {
    const seq = ++this.#seq
    const bytes = this.#init.beat?.(this.boot, seq) ?? enc.encode(JSON.stringify([this.boot, seq]))
    for (const lp of this.#beating) {
      lp.write(bytes).catch(() => { this.#beating.delete(lp) })
    }
  }

  /** Records relayed to it: who is who, and their latest (boot, seq). */
  async #take (stream: Stream): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: MAX_GOSSIP_BYTES })
    try {
      for (;;) {
        const msg = decodeGossip((await lp.read()).subarray())
        if (!msg.ok || msg.message.k !== 'push') continue
        for (const env of msg.message.items) {
          const known = this.heard.get(env.o)
          if (known !== undefined && (known.boot > env.b || (known.boot === env.b && known.seq >= env.q))) continue
          try { this.heard.set(env.o, { name: JSON.parse(env.r).name, boot: env.b, seq: env.q }) } catch {}
        }
      }
    } catch {
      stream.abort(new Error('rogue done reading'))
    }
  }
}
