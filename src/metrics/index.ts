/** GET /metrics: the mesh (same from every peer) plus this process's own metrics. */
import type { PeerTable } from '../heartbeat/peer-table.js'
import { renderMesh, warmMesh } from './mesh.js'
import { selfRegistry, type SelfSources } from './self.js'

export type { SelfSources } from './self.js'

export interface MetricsEndpoint {
  handler: () => Promise<{ contentType: string, body: string }>
  observeHeartbeatDelay: (ms: number) => void
}

export function metricsEndpoint (table: PeerTable, sources: SelfSources): MetricsEndpoint {
  const { registry, observeHeartbeatDelay } = selfRegistry(sources)
  table.on('full', warmMesh)
  return {
    observeHeartbeatDelay,
    handler: async () => ({ contentType: registry.contentType, body: renderMesh(table.list()) + await registry.metrics() })
  }
}
