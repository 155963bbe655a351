/** GET /metrics: the mesh (same from every peer) plus this process's own metrics. */
import type { Device } from '../devices/types.js'
import type { PeerTable } from '../heartbeat/peer-table.js'
import { renderDeviceChunks } from './devices.js'
import { renderMeshChunks, warmMesh } from './mesh.js'
import { selfRegistry, type SelfSources } from './self.js'

export type { SelfSources } from './self.js'

export interface MetricsEndpoint {
  handler: () => Promise<{ contentType: string, body: Buffer<ArrayBuffer> }>
  observeHeartbeatDelay: (ms: number) => void
}

/** `devices`: the mesh's devices as this node sees them (device families), when the node takes devices */
export function metricsEndpoint (table: PeerTable, sources: SelfSources, devices?: () => Device[]): MetricsEndpoint {
  const { registry, observeHeartbeatDelay } = selfRegistry(sources)
  table.on('full', warmMesh)
  return {
    observeHeartbeatDelay,
    handler: async () => {
      const mesh = renderMeshChunks(table.list())
      const own = devices === undefined ? [] : renderDeviceChunks(devices())
      const self = Buffer.from(await registry.metrics())
      return { contentType: registry.contentType, body: Buffer.concat([...mesh, ...own, self]) }
    }
  }
}
