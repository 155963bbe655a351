/** Bad input gets one clear line and exit 2; nothing starts. */
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { meshmon } from '../support/cli.js'
import { freePort } from '../support/ports.js'

let dir: string
let key: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshmon-cli-'))
  key = join(dir, 'swarm.key')
  expect((await meshmon(['swarm-key', 'generate', '--out', key])).code).toBe(0)
})

async function runWith (yaml: string | null, args: string[] = []) {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yml`)
  const api = await freePort()
  if (yaml !== null) await writeFile(file, yaml)
  return await meshmon(['run', ...(yaml === null ? [] : ['--config', file]), '--data-dir', join(dir, 'data'), '--api-listen', `127.0.0.1:${api}`, '--listen', '/ip4/127.0.0.1/tcp/0', ...args])
}

function oneLine (r: { code: number | null, stderr: string }, pattern: RegExp): void {
  expect(r.code).toBe(2)
  const lines = r.stderr.trim().split('\n')
  expect(lines, r.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(pattern)
}

describe('meshmon run refuses bad input', () => {
  it('unknown config key', async () => oneLine(await runWith(`swarmKey: ${key}\nheartbeet: {}\n`), /^meshmon: config error: heartbeet: unknown setting/))
  it('bad duration', async () => oneLine(await runWith(null, ['--swarm-key', key, '--heartbeat-interval', 'soon']), /^meshmon: config error: heartbeat.interval: "soon" is not a duration; write it like 500ms, 2s/))
  it('bad multiaddr', async () => oneLine(await runWith(null, ['--swarm-key', key, '--bootstrap', '1.2.3.4:4001']), /^meshmon: config error: bootstrap.0: "1.2.3.4:4001" is not a multiaddr/))
  it('missing swarm key file', async () => oneLine(await runWith(null, ['--swarm-key', join(dir, 'nope.key')]), /^meshmon: config error: swarmKey: .*nope.key does not exist; create one with `meshmon swarm-key generate/))
  it('no swarm key at all', async () => oneLine(await runWith(null, []), /^meshmon: config error: swarmKey: is required: create one with `meshmon swarm-key generate/))
  it('malformed swarm key', async () => {
    const bad = join(dir, 'bad.key')
    await writeFile(bad, 'not a key\n')
    oneLine(await runWith(null, ['--swarm-key', bad]), /^meshmon: config error: swarmKey: .*bad.key is not a swarm key: the first line must be \/key\/swarm\/psk\/1.0.0\//)
  })
  it('empty name', async () => oneLine(await runWith(null, ['--swarm-key', key, '--name', '']), /^meshmon: config error: name: must not be empty/))
  it('bad expect', async () => oneLine(await runWith(`swarmKey: ${key}\nexpect: sometimes\n`), /^meshmon: config error: expect: must be always-on or intermittent/))
  it('API port in use', async () => {
    const busy = createServer()
    await new Promise<void>(resolve => busy.listen(0, '127.0.0.1', resolve))
    const port = (busy.address() as { port: number }).port
    try {
      const file = join(dir, 'busy.yml')
      await writeFile(file, `swarmKey: ${key}\napi: { listen: "127.0.0.1:${port}" }\nlisten: [/ip4/127.0.0.1/tcp/0]\ndataDir: ${join(dir, 'busy')}\n`)
      oneLine(await meshmon(['run', '--config', file]), new RegExp(`^meshmon: config error: api.listen: 127.0.0.1:${port} is already in use; pick another with --api-listen`))
    } finally { busy.close() }
  })
  it('p2p port in use', async () => {
    const busy = createServer()
    await new Promise<void>(resolve => busy.listen(0, '127.0.0.1', resolve))
    const port = (busy.address() as { port: number }).port
    try {
      const r = await meshmon(['run', '--swarm-key', key, '--data-dir', join(dir, 'p2p'), '--api-listen', `127.0.0.1:${await freePort()}`, '--listen', `/ip4/127.0.0.1/tcp/${port}`])
      oneLine(r, /^meshmon: config error: listen: .*already in use.*; pick free ports with --listen/)
    } finally { busy.close() }
  })
  it('unknown flag', async () => {
    const r = await meshmon(['run', '--frobnicate'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/unknown option '--frobnicate'/)
  })
})

describe('other commands', () => {
  it('swarm-key generate prints a v1 key and --out refuses to overwrite', async () => {
    const r = await meshmon(['swarm-key', 'generate'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}\n$/)
    expect((await stat(key)).mode & 0o777).toBe(0o600)
    const before = await readFile(key, 'utf8')
    const again = await meshmon(['swarm-key', 'generate', '--out', key])
    expect(again.code).toBe(2)
    expect(again.stderr).toMatch(/already exists; a swarm key is never overwritten/)
    expect(await readFile(key, 'utf8')).toBe(before)
  })

  it('id prints the same peer id every time for a data dir', async () => {
    const d = join(dir, 'id')
    const one = await meshmon(['id', '--data-dir', d])
    const two = await meshmon(['id', '--data-dir', d])
    expect(one.stdout).toMatch(/^12D3KooW\w{44}\n$/)
    expect(two.stdout).toBe(one.stdout)
  })

  it('status exits 2 when the API cannot be reached', async () => {
    const r = await meshmon(['status', '--api', `http://127.0.0.1:${await freePort()}`])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^meshmon: cannot reach the meshmon API at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/)
  })

  it('every command has --help', async () => {
    for (const cmd of [[], ['run'], ['status'], ['id'], ['check'], ['swarm-key', 'generate']]) {
      const r = await meshmon([...cmd, '--help'])
      expect(r.code, cmd.join(' ')).toBe(0)
      expect(r.stdout).toMatch(/^Usage: meshmon/)
    }
  })
})
