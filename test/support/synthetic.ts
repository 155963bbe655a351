/** A synthetic mesh view for the /metrics benchmark and tests: realistic machine info per peer. */
import type { CheckState } from '../../src/checks/types.js'
import { PROTOCOL_VERSION, type NodeRecord } from '../../src/heartbeat/record.js'
import type { MachineInfo } from '../../src/machine/types.js'

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

export function fakePeerId (i: number): string {
  let s = ''
  let n = i * 7919 + 104729
  for (let k = 0; k < 44; k++) { s += B58[n % 58]; n = Math.floor(n / 58) + k * 31 + i }
  return '12D3KooW' + s
}

export function syntheticMachine (i: number): MachineInfo {
  return {
    hostname: `host-${i}`,
    os: 'Debian GNU/Linux 12 (bookworm) (linux 6.1.0)',
    uptimeSeconds: 86_400 + i,
    cpu: { model: 'AMD EPYC 7B13', cores: 16, usageRatio: (i % 100) / 100 },
    load: [1.5, 1.2, 0.9],
    memory: { totalBytes: 64 * 2 ** 30, availableBytes: 40 * 2 ** 30, swapTotalBytes: 0, swapFreeBytes: 0 },
    filesystems: ['/', '/data', '/boot'].map((m, k) => ({ mountpoint: m, device: `/dev/nvme0n1p${k + 1}`, type: 'ext4', sizeBytes: 500 * 2 ** 30, availBytes: 200 * 2 ** 30 })),
    network: ['eth0', 'eth1'].map((d, k) => ({ device: d, rxBytes: 1e12 + i + k, txBytes: 5e11 + i + k })),
    processes: 300,
    temperatures: [{ sensor: 'coretemp_temp1', celsius: 55 }, { sensor: 'coretemp_temp2', celsius: 57 }],
    gpus: i % 4 === 0 ? [0, 1].map(g => ({ index: String(g), name: 'NVIDIA A100-SXM4-80GB', utilizationRatio: 0.9, memoryTotalBytes: 80 * 2 ** 30, memoryUsedBytes: 60 * 2 ** 30 })) : []
  }
}

export function syntheticChecks (i: number): CheckState[] {
  return ['root-disk', 'web', 'db'].map((name, k) => ({
    name, type: 'exec', status: ((i + k) % 17 === 0 ? 2 : 0) as CheckState['status'], output: `${name} fine`, perfdata: '', durationSeconds: 0.01, lastRun: Date.now(), since: Date.now()
  }))
}

export function syntheticPeers (n: number): Array<{ peerId: string, record: NodeRecord }> {
  return Array.from({ length: n }, (_, i) => ({
    peerId: fakePeerId(i),
    record: {
      v: PROTOCOL_VERSION, boot: Date.now(), seq: 1, ts: Date.now(), name: `node-${String(i).padStart(3, '0')}`, expect: 'always-on', iv: 1000, agent: 'meshmon/0.1.0',
      labels: { role: i % 2 === 0 ? 'gpu-worker' : 'web', project: 'DecentralGPT' }, addrs: [`/ip4/10.0.${i >> 8}.${i & 255}/tcp/4001`], machine: syntheticMachine(i), checks: syntheticChecks(i), obs: {}
    }
  }))
}
