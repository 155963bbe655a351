/** Real monitoring-plugins binaries through runExec, against real loopback sockets and temp files. */
import { createServer as createHttpServer } from 'node:http'
import { createServer } from 'node:net'
import { utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { runExec } from '../../src/checks/exec.js'
import { Status } from '../../src/checks/types.js'
import { close, closedPort, listen, PLUGINS, tempDir } from './helpers.js'

const plugin = async (name: string, ...args: string[]) => await runExec({ command: [`${PLUGINS}/${name}`, ...args], timeoutMs: 10_000 })
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0)) await c() })

describe('real plugins', () => {
  it('check_tcp: open port OK, closed port CRITICAL', async () => {
    const server = createServer(socket => socket.destroy())
    const port = await listen(server)
    cleanups.push(async () => { await close(server) })
    const open = await plugin('check_tcp', '-H', '127.0.0.1', '-p', String(port))
    expect(open.status).toBe(Status.OK)
    expect(open.output).toMatch(/^TCP OK/)
    expect(open.perfdata).toMatch(/^time=/)
    const refused = await plugin('check_tcp', '-H', '127.0.0.1', '-p', String(await closedPort()))
    expect(refused.status).toBe(Status.CRITICAL)
    expect(refused.output).toMatch(/Connection refused/)
  })

  it('check_disk on /: thresholds that cannot fail and that must fail', async () => {
    // warn/crit when less than 1% is free: only a nearly full root fs would trip it
    const ok = await plugin('check_disk', '-w', '1%', '-c', '1%', '-p', '/')
    expect(ok.status).toBe(Status.OK)
    expect(ok.output).toMatch(/^DISK OK/)
    expect(ok.perfdata).toMatch(/^\/=\d+/)
    const crit = await plugin('check_disk', '-w', '100%', '-c', '100%', '-p', '/')
    expect(crit.status).toBe(Status.CRITICAL)
  })

  it('check_file_age on a temp file: fresh OK, old WARNING, older CRITICAL', async () => {
    const tmp = await tempDir()
    cleanups.push(tmp.remove)
    const file = join(tmp.dir, 'stamp')
    await writeFile(file, 'x')
    const args = ['-w', '60', '-c', '120', '-f', file]
    expect(await plugin('check_file_age', ...args)).toMatchObject({ status: Status.OK })
    const at = (secondsAgo: number): Date => new Date(Date.now() - secondsAgo * 1000)
    await utimes(file, at(90), at(90))
    expect((await plugin('check_file_age', ...args)).status).toBe(Status.WARNING)
    await utimes(file, at(600), at(600))
    const crit = await plugin('check_file_age', ...args)
    expect(crit.status).toBe(Status.CRITICAL)
    expect(crit.perfdata).toMatch(/age=\d+s/)
  })

  it('check_http against a local node:http server', async () => {
    const server = createHttpServer((req, res) => {
      res.statusCode = req.url === '/' ? 200 : 500
      res.end('hello')
    })
    const port = await listen(server)
    cleanups.push(async () => { await close(server) })
    const ok = await plugin('check_http', '-H', '127.0.0.1', '-p', String(port))
    expect(ok.status).toBe(Status.OK)
    expect(ok.output).toMatch(/^HTTP OK/)
    expect(ok.perfdata).toMatch(/time=/)
    const err = await plugin('check_http', '-H', '127.0.0.1', '-p', String(port), '-u', '/broken')
    expect(err.status).toBe(Status.CRITICAL)
    expect(err.output).toMatch(/500/)
  })
})
