/**
 * Which mounts are real filesystems worth reporting, from /proc/self/mountinfo.
 * mountinfo (rather than /proc/mounts) gives the device number, which is what
 * tells a bind mount apart from a second filesystem.
 */

export interface Mount {
  /** "major:minor": the same for every bind mount of one filesystem */
  deviceId: string
  /** the directory of the filesystem that is mounted here: "/" unless it is a bind of a subdirectory */
  root: string
  mountpoint: string
  type: string
  device: string
}

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)))

/** Parse mountinfo lines: `id parent major:minor root mountpoint opts [optional...] - type source superopts`. */
export function parseMountinfo (text: string): Mount[] {
  const out: Mount[] = []
  for (const line of text.split('\n')) {
    const fields = line.split(' ')
    const dash = fields.indexOf('-', 6)
    const [deviceId, root, mountpoint] = fields.slice(2, 5)
    const [type, device] = fields.slice(dash + 1, dash + 3)
    if (dash < 0 || deviceId === undefined || root === undefined || mountpoint === undefined || type === undefined) continue
    out.push({ deviceId, root: unescape(root), mountpoint: unescape(mountpoint), type, device: unescape(device ?? '') })
  }
  return out
}

/** Kernel and runtime pseudo filesystems: no disk space behind them (close to node_exporter's default list, plus tmpfs). */
const PSEUDO_TYPES = new Set([
  'autofs', 'binfmt_misc', 'bpf', 'cgroup', 'cgroup2', 'configfs', 'debugfs', 'devpts', 'devtmpfs', 'efivarfs',
  'fusectl', 'fuse.lxcfs', 'fuse.gvfsd-fuse', 'fuse.portal', 'fuse.snapfuse', 'hugetlbfs', 'mqueue', 'nsfs', 'overlay',
  'proc', 'pstore', 'ramfs', 'rpc_pipefs', 'securityfs', 'selinuxfs', 'squashfs', 'erofs', 'sysfs', 'tmpfs', 'tracefs'
])

/** Mount trees that belong to the kernel or to container runtimes (each container's overlay lives there). */
const PSEUDO_PLACES = /^\/(?:proc|sys|dev|run\/credentials|var\/lib\/docker|var\/lib\/containers\/storage|snap)(?:\/|$)/

/**
 * The mounts to report: pseudo filesystems out, one mount per device. `/` is
 * always kept whatever its type, because in a container it is an overlay and
 * still the disk the workload fills.
 */
export function realMounts (mounts: Mount[]): Mount[] {
  const byDevice = new Map<string, Mount>()
  for (const m of mounts) {
    if (m.mountpoint !== '/' && (PSEUDO_TYPES.has(m.type) || PSEUDO_PLACES.test(m.mountpoint))) continue
    const seen = byDevice.get(m.deviceId)
    if (seen === undefined || rank(m) < rank(seen)) byDevice.set(m.deviceId, m)
  }
  // two devices on one mountpoint: statfs sees only the one on top, mounted later, so keep the later
  const byPlace = new Map<string, Mount>()
  for (const m of byDevice.values()) byPlace.set(m.mountpoint, m)
  return [...byPlace.values()].sort((a, b) => (a.mountpoint === '/' ? -1 : b.mountpoint === '/' ? 1 : 0))
}

/** Which bind of one device names it best: `/` first, then the filesystem's own root, then the shortest path. */
function rank (m: Mount): number {
  if (m.mountpoint === '/') return -1
  return (m.root === '/' ? 0 : 1e6) + m.mountpoint.length
}
