import { describe, expect, it } from 'vitest'
import { busyRatio } from '../../src/machine/cpu.js'
import { parseMountinfo, realMounts } from '../../src/machine/mounts.js'
import { parseMeminfo, parseNetDev, parseOsRelease, parseProcStat } from '../../src/machine/proc.js'

describe('mounts', () => {
  // a docker container: overlay root, host disk bind-mounted for /etc/hosts and a volume, pseudo filesystems
  const container = [
    '500 400 0:52 / / rw,relatime master:1 - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w',
    '501 500 0:55 / /proc rw,nosuid - proc proc rw',
    '502 500 0:56 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k',
    '503 500 0:57 / /sys/fs/cgroup ro - cgroup2 cgroup rw',
    '504 500 259:2 /var/lib/docker/containers/abc/hosts /etc/hosts rw - ext4 /dev/nvme0n1p2 rw',
    '505 500 259:2 /var/lib/docker/volumes/data/_data /data rw - ext4 /dev/nvme0n1p2 rw',
    '506 500 259:3 / /mnt/my\\040disk rw shared:5 - xfs /dev/sdb1 rw',
    '507 500 0:60 / /run/secrets rw - tmpfs tmpfs rw',
    '508 500 7:1 / /snap/core/1 ro - squashfs /dev/loop1 ro',
    ''
  ].join('\n')

  it('parses mountinfo, unescaping octal', () => {
    const all = parseMountinfo(container)
    expect(all).toHaveLength(9)
    expect(all[6]).toEqual({ deviceId: '259:3', root: '/', mountpoint: '/mnt/my disk', type: 'xfs', device: '/dev/sdb1' })
  })

  it('keeps / whatever its type, one mount per device, no pseudo filesystems', () => {
    expect(realMounts(parseMountinfo(container)).map(m => m.mountpoint)).toEqual(['/', '/data', '/mnt/my disk'])
  })

  it('prefers / and the filesystem root among bind mounts of one device', () => {
    const host = [
      '30 1 8:1 /home/srv /srv/bind rw - ext4 /dev/sda1 rw',
      '31 1 8:1 / / rw - ext4 /dev/sda1 rw',
      '32 1 8:2 /sub /zz rw - ext4 /dev/sda2 rw',
      '33 1 8:2 / /very/long/path rw - ext4 /dev/sda2 rw'
    ].join('\n')
    expect(realMounts(parseMountinfo(host)).map(m => m.mountpoint)).toEqual(['/', '/very/long/path'])
  })
})

describe('/proc parsers', () => {
  it('reads meminfo in bytes', () => {
    const m = parseMeminfo('MemTotal:       24684084 kB\nMemAvailable:   24138712 kB\nActive(anon):       1552 kB\nHugePages_Total:       0\n')
    expect(m.get('MemTotal')).toBe(24684084 * 1024)
    expect(m.get('Active(anon)')).toBe(1552 * 1024)
    expect(m.get('HugePages_Total')).toBe(0)
  })

  it('reads net/dev without lo', () => {
    const text = 'Inter-|   Receive                                                |  Transmit\n' +
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n' +
      '    lo:  168124    1683    0    0    0     0          0         0   168124    1683    0    0    0     0       0          0\n' +
      '  eth0: 253494860    8761    0    0    0     0          0         0   768559    5743    0    0    0     0       0          0\n'
    expect(parseNetDev(text)).toEqual([{ device: 'eth0', rxBytes: 253494860, txBytes: 768559 }])
  })

  it('reads /proc/stat with iowait as idle and guest time not counted twice', () => {
    expect(parseProcStat('cpu  100 10 50 800 40 0 0 0 30 5\ncpu0 1 2 3\n')).toEqual({ idle: 840, total: 1000 })
    expect(parseProcStat('intr 1 2 3\n')).toBeNull()
  })

  it('computes the busy ratio between two readings, clamped', () => {
    expect(busyRatio({ idle: 800, total: 1000 }, { idle: 950, total: 1200 })).toBeCloseTo(0.25)
    expect(busyRatio({ idle: 800, total: 1000 }, { idle: 800, total: 1000 })).toBe(0)
    expect(busyRatio({ idle: 900, total: 1000 }, { idle: 850, total: 1100 })).toBe(1) // idle went back
  })

  it('names the distribution from os-release', () => {
    expect(parseOsRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n')).toBe('Debian GNU/Linux 12 (bookworm)')
    expect(parseOsRelease("NAME='Alpine Linux'\nVERSION_ID=3.20.1\n")).toBe('Alpine Linux 3.20.1')
    expect(parseOsRelease('')).toBeNull()
  })
})
