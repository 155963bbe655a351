/**
 * The libp2p node of a private swarm: pnet from the swarm key, TCP and
 * WebSockets, Noise, Yamux, identify, gossipsub registered as `pubsub`
 * (OrbitDB's sync looks for that name). Limits and scoring are set for a
 * private swarm where many peers may share one IP (the defaults reset
 * connections and collapsed the gossip mesh at 20 peers on one IP).
 */
import { gossipsub } from '@chainsafe/libp2p-gossipsub'
import { createTopicScoreParams } from '@chainsafe/libp2p-gossipsub/score'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, type Identify } from '@libp2p/identify'
import type { MultiaddrConnection, PeerId, PrivateKey } from '@libp2p/interface'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import type { Datastore } from 'interface-datastore'
import { createLibp2p, type Libp2p } from 'libp2p'
import { Patches } from '../patches.js'
import { coalesceWrites } from './coalesce.js'
import { fastMsgId } from './fast-msg-id.js'
import { meshWebSockets } from './websockets/index.js'
import { lazyWindowUpdates } from './yamux-window.js'
import { refuseWrongPeer } from './wrong-peer.js'
import { skipKnownProtocolMerges } from './known-protocols.js'
import { installStaleDials } from './stale-dials.js'

export interface MeshLibp2pInit {
  privateKey: PrivateKey
  /** swarm.key v1 bytes */
  swarmKey: Uint8Array
  listen: string[]
  /** where the peer store persists (remembered peers) */
  datastore?: Datastore
  /** @default 300 */
  maxConnections?: number
  /**
   * Recognise duplicate gossip by sender + sequence number before checking its signature
   * (fast-msg-id.ts). Off only to measure what it saves.
   * @default true
   */
  fastDuplicates?: boolean
  /** gossipsub topics whose validators' rejections count against the sender's score @default none */
  scoredTopics?: string[]
  /** only these peers may connect (peers.allow); null or absent: any holder of the swarm key */
  allow?: ReadonlySet<string> | null
  /** which library patches to install, and where they report (src/patches.ts) @default all, unreported */
  patches?: Patches
}

export type MeshLibp2p = Libp2p<{ pubsub: ReturnType<ReturnType<typeof gossipsub>>, identify: Identify }>

export async function createMeshLibp2p (init: MeshLibp2pInit): Promise<MeshLibp2p> {
  const patches = init.patches ?? new Patches()
  const coalescing = patches.wanted('coalesce')
  // its library at the version it was written for is its whole start-up check; each connection is checked too
  if (coalescing) patches.checked('coalesce', true)
  const node = await createLibp2p({
    start: false,
    privateKey: init.privateKey,
    datastore: init.datastore,
    addresses: { listen: init.listen },
    // our own WebSockets transport: @libp2p/websockets 9 lost the pnet nonce (websockets/connection.ts)
    transports: [tcp(), meshWebSockets()],
    // pnet gives the nonce exchange 1 s by default; 30 nodes starting on 2 cores took longer and every dial failed
    // pnet over a raw connection whose writes are coalesced (see coalesce.ts)
    connectionProtector: components => {
      const pnet = preSharedKey({ psk: init.swarmKey, timeout: 5000 })(components)
      return { protect: async (conn, options) => await pnet.protect(coalescing ? coalesceWrites(conn, patches) : conn, options) }
    },
    connectionEncrypters: [noise()],
    // once Noise has told who they are, before any protocol runs: an allow-list refuses others, and a dial
    // that reached another node than the one it was for is dropped (wrong-peer.ts)
    connectionGater: {
      ...(init.allow == null ? {} : { denyInboundEncryptedConnection: (peer: PeerId) => !(init.allow as ReadonlySet<string>).has(peer.toString()) }),
      denyOutboundEncryptedConnection: (peer: PeerId, conn: MultiaddrConnection) => {
        refuseWrongPeer(peer, conn.remoteAddr)
        return init.allow != null && !init.allow.has(peer.toString())
      }
    },
    // window updates ride with other frames instead of one write per received frame (yamux-window.ts)
    streamMuxers: [components => {
      const factory = yamux()(components)
      return patches.wanted('yamux-window') ? lazyWindowUpdates(factory, patches) : factory
    }],
    connectionManager: {
      maxConnections: init.maxConnections ?? 300,
      // a dialer with the wrong swarm key holds a pending slot until this fires (10 s by default)
      inboundUpgradeTimeout: 3000,
      // defaults (5/s per IP, 10 pending) reset connections when peers share an IP (NAT, overlay, loopback)
      inboundConnectionThreshold: 1000,
      maxIncomingPendingConnections: 256
    },
    // Liveness is judged by heartbeats. The monitor's ping, when it timed out under load, tore down
    // connections (measured: a redial storm that kept 30 nodes on 2 cores from converging); kept
    // without that, it only opened a stream per connection every 10 s for an RTT nobody reads
    // (no ping service is mounted, so each one also ended in an UnsupportedProtocolError).
    connectionMonitor: { enabled: false },
    services: {
      identify: identify(),
      pubsub: gossipsub({
        // OrbitDB awaits publishing heads even when alone
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        globalSignaturePolicy: 'StrictSign',
        // a duplicate is known by sender + sequence number before its signature is checked (fast-msg-id.ts)
        fastMsgIdFn: init.fastDuplicates === false ? undefined : fastMsgId,
        // swarm members are vetted by the key; 20 peers on one IP collapsed the mesh under the default penalty.
        // A restarted peer re-GRAFTs while its old PRUNE backoff runs; the default behaviour
        // penalty (-10 x count^2) graylisted it after 3 tries and its messages were ignored.
        // A member sending messages a topic validator rejects (device announcements; the event log's heads
        // are checked by OrbitDB, after delivery) loses score for each: past the graylist threshold
        // (-80) gossipsub ignores it, and it recovers as the penalty decays (~1 % a second).
        scoreParams: {
          IPColocationFactorWeight: 0,
          behaviourPenaltyWeight: 0,
          topics: Object.fromEntries((init.scoredTopics ?? []).map(topic => [topic, createTopicScoreParams({
            topicWeight: 1,
            timeInMeshWeight: 0,
            firstMessageDeliveriesWeight: 0,
            meshMessageDeliveriesWeight: 0,
            meshFailurePenaltyWeight: 0,
            invalidMessageDeliveriesWeight: -10,
            invalidMessageDeliveriesDecay: 0.99
          })]))
        },
        // gossipsub carries the event log's heads and device announcements (membership has its
        // own streams). Every copy of a message costs Noise frames, syscalls (half the CPU time on
        // the VMs measured here was kernel time) and a decode; their senders flood-publish to every
        // connected peer, so a thin relay mesh (D=3 instead of 6) and less lazy gossip cut the
        // duplicate copies each node receives
        D: 3,
        Dlo: 2,
        Dhi: 5,
        Dout: 1,
        Dlazy: 3,
        doPX: false,
        // IDONTWANT (gossipsub 1.2) tells every mesh peer, on each first receipt of a message of
        // 512 bytes or more, not to send it: measured with heartbeats on gossipsub, each received
        // message then cost 3-5 more writes to save a rare duplicate of a few hundred bytes. Off.
        idontwantMinDataSize: Number.POSITIVE_INFINITY,
        // tags every GRAFT/PRUNE into the peer store, i.e. a LevelDB rewrite of the peer record
        tagMeshPeers: false
      })
    }
  }) as unknown as MeshLibp2p
  // before any connection: a stream's protocol already on record is not written again (known-protocols.ts).
  // It wraps the store's public methods; its library's version is its whole start-up check
  if (patches.wanted('peer-store-writes')) {
    skipKnownProtocolMerges(node.peerStore)
    patches.checked('peer-store-writes', true)
  }
  if (patches.wanted('stale-dials')) patches.checked('stale-dials', installStaleDials(node, patches))
  await node.start()
  return node
}
