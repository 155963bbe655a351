/** GET /metrics: the mesh (same from every peer) plus this process's own metrics. */
import type { PeerTable } from '../heartbeat/peer-table.js'
import { renderMesh } from './mesh.js'
import { selfRegistry, type SelfSources } from './self.js'

export type { SelfSources } from './self.js'

export function metricsEndpoint (table: PeerTable, sources: SelfSources): () => Promise<{ contentType: string, body: string }> {
  const registry = selfRegistry(sources)
  return async () => ({ contentType: registry.contentType, body: renderMesh(table.list()) + await registry.metrics() })
}
