/**
 * A listen address no transport takes stops `run` with one line (exit 2)
 * instead of a node that quietly listens on the rest: TLS and URL paths are
 * a reverse proxy's job, in front of a plain /ws listener.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { meshmon } from '../../support/cli.js'
import { freePort } from '../../support/ports.js'

describe('listen addresses', () => {
  let dir: string
  let key: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshmon-listen-'))
    key = join(dir, 'swarm.key')
    expect((await meshmon(['swarm-key', 'generate', '--out', key])).code).toBe(0)
  })
  afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

  for (const bad of ['/tls/ws', '/wss', '/ws/http-path/p2p']) {
    it(`refuses …/tcp/PORT${bad} next to a good TCP address, naming it and the fix`, async () => {
      const ws = `/ip4/127.0.0.1/tcp/${await freePort()}${bad}`
      const r = await meshmon(['run', '--swarm-key', key, '--data-dir', join(dir, 'data'), '--api-listen', `127.0.0.1:${await freePort()}`,
        '--listen', `/ip4/127.0.0.1/tcp/${await freePort()}`, '--listen', ws])
      expect(r.code).toBe(2)
      const lines = r.stderr.trim().split('\n')
      expect(lines, r.stderr).toHaveLength(1)
      expect(lines[0]).toBe(`meshmon: config error: listen: cannot listen on ${ws}; use /ip4/ADDR/tcp/PORT or /ip4/ADDR/tcp/PORT/ws (TLS and URL paths belong to a reverse proxy in front of /ws)`)
    })
  }
})
