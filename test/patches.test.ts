/**
 * Library patches are fenced (src/patches.ts): each is pinned to the version
 * it was written for, checked at start-up, reported in the log and in
 * /metrics, switchable off, and silent about nothing: another version, or
 * internals that changed, leave it off with a warning saying why.
 */
import { readFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { MultiaddrConnection, StreamMuxer, StreamMuxerFactory } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { Identities, KeyStore, LRUStorage, type Identity, type Log } from '@orbitdb/core'
import { afterEach, describe, expect, it } from 'vitest'
import { canKeepReceivedHeads, nativeVerifyWorks } from '../src/events/orbit/orbitdb-patches.js'
import { coalesceWrites } from '../src/mesh/coalesce.js'
import { lazyWindowUpdates } from '../src/mesh/yamux-window.js'
import { installedVersion, PATCH_NAMES, PATCHES, Patches } from '../src/patches.js'
import { Cluster } from './support/cluster.js'
import { samples } from './support/prom-text.js'
import { waitFor } from './support/wait.js'
import { capturingLogger } from './events/helpers.js'

const ROOT = fileURLToPath(new URL('../', import.meta.url))

describe('library patches', () => {
  it('each library is pinned, in package.json and the lockfile, at the exact version its patch was written for', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'))
    const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8'))
    for (const { library, version } of Object.values(PATCHES)) {
      expect(pkg.dependencies[library], library).toBe(version)
      expect(lock.packages[`node_modules/${library}`]?.version, library).toBe(version)
      expect(installedVersion(library), library).toBe(version)
    }
  })

  describe('as a node runs them', () => {
    let cluster: Cluster | undefined
    afterEach(async () => { await cluster?.stopAll() })

    it('reports every patch active in its log and /metrics; switched off, 0, and the mesh works the same', async () => {
      cluster = await new Cluster().init()
      const on = await cluster.start('on')
      const off = await cluster.start('off', [], { env: { MESHMON_PATCHES_OFF: PATCH_NAMES.join(',') } })
      await cluster.waitAll(2, 'up')
      const active = async (node: typeof on): Promise<Record<string, number>> => Object.fromEntries(samples(await (await fetch(`${node.api}/metrics`)).text(), 'meshmon_patch_active').map(s => [/patch="([^"]+)"/.exec(s.labels)?.[1], s.value]))
      const all = (v: number): Record<string, number> => Object.fromEntries(PATCH_NAMES.map(p => [p, v]))
      await waitFor('every patch reported on', async () => JSON.stringify(await active(on)) === JSON.stringify(all(1)) && await active(on), 20_000)
      await waitFor('every patch reported off', async () => JSON.stringify(await active(off)) === JSON.stringify(all(0)) && await active(off), 20_000)
      for (const patch of PATCH_NAMES) {
        expect(on.logs.some(l => l.includes('"library patch active"') && l.includes(`"patch":"${patch}"`)), patch).toBe(true)
        expect(off.logs.some(l => l.includes('"library patch switched off"') && l.includes(`"patch":"${patch}"`)), patch).toBe(true)
      }
    }, 90_000)
  })

  it('a library at another version than its patch was written for: the patch is not installed, and a warning says why', () => {
    const { log, lines } = capturingLogger()
    const patches = new Patches([], log, library => library === '@chainsafe/libp2p-yamux' ? '7.0.5' : PATCHES.coalesce.version)
    patches.report()
    expect(patches.wanted('yamux-window')).toBe(false)
    expect(patches.wanted('coalesce')).toBe(true)
    expect(patches.status()).toEqual([{ patch: 'yamux-window', active: false, reason: expect.stringMatching(/written for @chainsafe\/libp2p-yamux 7\.0\.4, found 7\.0\.5/) }])
    expect(lines).toContainEqual(expect.objectContaining({ level: 40, patch: 'yamux-window', msg: expect.stringMatching(/not applied/) }))
  })

  it('yamux-window: with no private sendFrame to wrap, the muxers are left as they are and the patch reported off', () => {
    const { log, lines } = capturingLogger()
    const patches = new Patches([], log)
    patches.report()
    const real = yamux()({ logger: defaultLogger() })
    const muxers: StreamMuxer[] = []
    const changed: StreamMuxerFactory = {
      protocol: real.protocol,
      createStreamMuxer: init => { const m = real.createStreamMuxer(init); Object.assign(m, { sendFrame: undefined }); muxers.push(m); return m }
    }
    const factory = lazyWindowUpdates(changed, patches)
    expect(patches.status()).toMatchObject([{ patch: 'yamux-window', active: false, reason: 'the yamux muxer has no sendFrame method' }])
    const m = factory.createStreamMuxer({ direction: 'outbound', enableKeepAlive: false } as any)
    expect(m).toBe(muxers.at(-1))
    expect(lines.filter(l => l.patch === 'yamux-window' && l.level === 40)).toHaveLength(1)
    // these muxers cannot send a frame: closing them throws, and they hold nothing open
    for (const x of muxers) { try { x.abort(new Error('done')) } catch {} }
  })

  it('coalesce: a connection that is not a plain object is passed on untouched, and the patch reported lost', () => {
    const patches = new Patches()
    patches.checked('coalesce', true)
    const plain = { sink: async () => {}, source: [] } as unknown as MultiaddrConnection
    expect(coalesceWrites(plain, patches)).not.toBe(plain)
    class Conn { async sink (): Promise<void> {} }
    const odd = new Conn() as unknown as MultiaddrConnection
    expect(coalesceWrites(odd, patches)).toBe(odd)
    expect(patches.status()).toMatchObject([{ patch: 'coalesce', active: false }])
  })

  describe('orbitdb', () => {
    let dir: string | undefined
    afterEach(async () => { if (dir !== undefined) await rm(dir, { recursive: true, force: true }) })

    it('the start-up checks pass on OrbitDB 3.0.2 and fail on what lacks the internals', async () => {
      dir = await mkdtemp(join(tmpdir(), 'meshmon-patches-'))
      const keystore = await KeyStore({ path: join(dir, 'keystore') })
      const identity = await (await Identities({ keystore, storage: await LRUStorage({ size: 10 }) })).createIdentity({ id: 'patch-check' })
      expect(await nativeVerifyWorks(identity)).toBe(true)
      expect(await nativeVerifyWorks({ ...identity, sign: undefined } as unknown as Identity)).toBe(false)
      expect(canKeepReceivedHeads({ joinEntry: async () => true } as unknown as Log)).toBe(true)
      expect(canKeepReceivedHeads({} as unknown as Log)).toBe(false)
      await keystore.close()
    })
  })
})
