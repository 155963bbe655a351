/**
 * A mesh on 127.0.0.1, for the faults a network lab adds nothing to (a
 * process killed or restarted, Alertmanager gone): nodes and Alertmanager on
 * free ports. A restarted node keeps its data dir and ports.
 */
import type { NodeProc } from '../support/cluster.js'
import { freePort } from '../support/ports.js'
import type { AmPlace } from '../alerts/helpers.js'
import { MeshUnderTest, type MeshUnderTestInit } from './mesh-under-test.js'

export class LoopbackMesh extends MeshUnderTest {
  #amPort = 0

  constructor (readonly count: number, init: MeshUnderTestInit) { super(init) }

  get size (): number { return this.count }

  protected override async prepare (): Promise<void> { this.#amPort = await freePort() }

  protected amPlace (): AmPlace & { ip: string, port: number } { return { ip: '127.0.0.1', port: this.#amPort } }

  protected async launch (index: number, flags: string[]): Promise<NodeProc> {
    const before = this.cluster.nodes.filter(p => p.name === `n${index}`).at(-1)
    // bootstrap from a live node other than itself (n1, or n2 while n1 restarts)
    const via = this.cluster.live().find(n => n.name !== `n${index}`)
    return await this.cluster.start(`n${index}`, flags, {
      bootstrap: via === undefined ? [] : [via.addr],
      ...(before === undefined ? {} : { dataDir: before.dataDir, ports: { p2p: before.p2pPort, api: before.apiPort } }),
      healthTimeoutMs: 120_000
    })
  }
}
