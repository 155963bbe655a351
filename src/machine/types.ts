/** What a node tells the mesh about its machine. Sizes in bytes, ratios 0..1. */
export interface Filesystem {
  mountpoint: string
  device: string
  type: string
  sizeBytes: number
  availBytes: number
}

export interface NetworkInterface {
  device: string
  rxBytes: number
  txBytes: number
}

export interface Temperature {
  sensor: string
  celsius: number
}

export interface Gpu {
  /** index as nvidia-smi reports it, e.g. "0" */
  index: string
  name: string
  utilizationRatio: number
  memoryTotalBytes: number
  memoryUsedBytes: number
}

export interface MachineInfo {
  hostname: string
  os: string
  uptimeSeconds: number
  cpu: { model: string, cores: number, usageRatio: number }
  load: [number, number, number]
  memory: { totalBytes: number, availableBytes: number, swapTotalBytes: number, swapFreeBytes: number }
  filesystems: Filesystem[]
  network: NetworkInterface[]
  processes: number
  temperatures: Temperature[]
  gpus: Gpu[]
}
