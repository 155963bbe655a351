/**
 * A mesh in a network lab (test/support/netlab.ts): node n<i> runs in host
 * i's namespace, its mesh on 10.77.0.i:4001, its API on its management
 * address; Alertmanager runs in the hub namespace on the management network,
 * so cutting a node's mesh cable leaves Alertmanager reachable from it. The
 * test process reaches both over the management network.
 */
import type { NodeProc } from '../support/cluster.js'
import { NetLab } from '../support/netlab.js'
import type { AmPlace } from '../alerts/helpers.js'
import { MeshUnderTest, type MeshUnderTestInit } from './mesh-under-test.js'

export { markerCheck } from './mesh-under-test.js'

const P2P_PORT = 4001
const API_PORT = 9521
const AM_PORT = 9093

export interface LabMeshInit extends Partial<MeshUnderTestInit> {
  /** nodes per side (switch), e.g. [4, 2] */
  sides: number[]
}

export class LabMesh extends MeshUnderTest {
  readonly lab: NetLab

  constructor (init: LabMeshInit) {
    super({ mesh: 'lab', ...init })
    this.lab = new NetLab(init.sides)
  }

  get size (): number { return this.lab.sides.reduce((a, b) => a + b, 0) }

  protected override async prepare (): Promise<void> { this.lab.create() }

  protected amPlace (): AmPlace & { ip: string, port: number } {
    return { ip: this.lab.mgmtHubIp, port: AM_PORT, exec: this.lab.exec(this.lab.hub) }
  }

  protected async launch (index: number, flags: string[]): Promise<NodeProc> {
    const host = this.lab.host(index)
    return await this.cluster.start(`n${index}`, flags, {
      bootstrap: index === 1 ? [] : [`/ip4/${this.lab.host(1).meshIp}/tcp/${P2P_PORT}`],
      dataDir: `${this.dir}/n${index}`,
      ports: { p2p: P2P_PORT, api: API_PORT },
      net: { exec: this.lab.exec(host.ns), ip: host.meshIp, apiIp: host.mgmtIp },
      healthTimeoutMs: 120_000
    })
  }

  override async stop (): Promise<void> {
    await super.stop()
    await this.lab.destroy()
  }
}
