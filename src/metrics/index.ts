/** GET /metrics: the mesh (same from every peer) plus this process's own metrics. */
import type { PeerTable } from '../heartbeat/peer-table.js'
import { renderMeshChunks, warmMesh } from './mesh.js'
import { selfRegistry, type SelfSources } from './self.js'

export type { SelfSources } from './self.js'

export interface MetricsEndpoint {
  handler: () => Promise<{ contentType: string, body: Buffer<ArrayBuffer> }>
  observeHeartbeatDelay: (ms: number) => void
}

export function metricsEndpoint (table: PeerTable, sources: SelfSources): MetricsEndpoint {
  const { registry, observeHeartbeatDelay } = selfRegistry(sources)
  table.on('full', warmMesh)
  return {
    observeHeartbeatDelay,
    handler: async () => {
      const mesh = renderMeshChunks(table.list())
      const self = Buffer.from(await registry.metrics())
      return { contentType: registry.contentType, body: Buffer.concat([...mesh, self]) }
    }
  }
}
