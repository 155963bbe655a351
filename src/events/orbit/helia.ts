/**
 * Helia built from @helia/utils on the node's own libp2p (the `helia` package
 * pulls a native WebRTC module whose install downloads a prebuilt binary from
 * outside the npm registry, and its public gateway routing has no place in a
 * private swarm). Blocks live in
 * a LevelBlockstore at DATA/blocks; the block exchange (block-exchange.ts)
 * fetches missing ones from swarm peers. No routers: there is no DHT or
 * gateway to ask, only connected peers.
 */
import { Helia } from '@helia/utils'
import { stop, type Libp2p } from '@libp2p/interface'
import { LevelBlockstore } from 'blockstore-level'
import type { Datastore } from 'interface-datastore'
import type { Logger } from 'pino'
import type { ProtocolComplaints } from '../complaints.js'
import { BlockExchange } from './block-exchange.js'

export interface EventsHelia {
  helia: Helia<Libp2p>
  /** the raw store, for reclaiming the blocks of a dropped period */
  blockstore: LevelBlockstore
  /** fetches and serves blocks (its counters, for tests and the bench) */
  exchange: BlockExchange
  stop: () => Promise<void>
}

export async function createEventsHelia (libp2p: Libp2p, datastore: Datastore, blocksDir: string, log: Logger, complaints?: ProtocolComplaints): Promise<EventsHelia> {
  const blockstore = new LevelBlockstore(blocksDir)
  await blockstore.open()
  try {
    let exchange: BlockExchange | undefined
    const helia = new Helia<Libp2p>({
      libp2p,
      blockstore,
      datastore,
      logger: libp2p.logger,
      blockBrokers: [(components) => (exchange = new BlockExchange({ libp2p: components.libp2p, blockstore: components.blockstore, log, complaints }))],
      routers: []
    })
    // helia.start() would also start libp2p (already running: a no-op)
    await helia.start()
    return {
      helia,
      blockstore,
      exchange: exchange as BlockExchange,
      // not helia.stop(): that stops libp2p too, which belongs to the node
      stop: async () => {
        await stop(helia.blockstore, helia.routing)
        await blockstore.close()
      }
    }
  } catch (err) {
    await blockstore.close()
    throw err
  }
}
