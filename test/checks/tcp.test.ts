import { spawn, type ChildProcess } from 'node:child_process'
import { connect, createServer, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { runTcp } from '../../src/checks/tcp.js'
import { Status } from '../../src/checks/types.js'
import { close, closedPort, listen } from './helpers.js'

const cleanups: Array<() => void | Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

/** Connects, or gives up after `ms`: true when the handshake completed. */
async function tryConnect (port: number, ms: number): Promise<boolean> {
  const socket: Socket = connect({ host: '127.0.0.1', port })
  cleanups.push(() => { socket.destroy() })
  return await new Promise<boolean>(resolve => {
    const timer = setTimeout(() => resolve(false), ms)
    socket.once('connect', () => { clearTimeout(timer); resolve(true) })
    socket.once('error', () => { clearTimeout(timer); resolve(false) })
  })
}

describe('runTcp', () => {
  it('is OK when the port accepts, saying how long it took', async () => {
    const server = createServer(s => s.destroy())
    const port = await listen(server)
    cleanups.push(async () => { await close(server) })
    const r = await runTcp({ host: '127.0.0.1', port, timeoutMs: 5000 })
    expect(r.status).toBe(Status.OK)
    expect(r.output).toMatch(new RegExp(`^connected to 127\\.0\\.0\\.1:${port} in \\d+ ms$`))
    expect(r.perfdata).toMatch(/^time=\d+\.\d{3}s$/)
  })

  it('is CRITICAL when the connection is refused', async () => {
    const port = await closedPort()
    expect(await runTcp({ host: '127.0.0.1', port, timeoutMs: 5000 }))
      .toMatchObject({ status: Status.CRITICAL, output: `connection to 127.0.0.1:${port} refused` })
  })

  it('is CRITICAL when the handshake does not finish in time', async () => {
    // A listener whose process never accepts (its event loop is blocked) with backlog 1 (0 means "default" to Node): once the
    // kernel's accept queue is full, further SYNs are dropped and a connect hangs.
    const script = `require('net').createServer().listen({ host: '127.0.0.1', port: 0, backlog: 1 }, function () {
      require('fs').writeSync(1, this.address().port + '\\n'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0) })`
    const child: ChildProcess = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    cleanups.push(async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const gone = new Promise(resolve => child.once('exit', resolve))
      child.kill('SIGKILL')
      await gone
    })
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim())))
      child.once('exit', () => reject(new Error('listener exited')))
    })
    let filled = false
    for (let i = 0; i < 16 && !filled; i++) filled = !(await tryConnect(port, 300))
    expect(filled).toBe(true)
    const r = await runTcp({ host: '127.0.0.1', port, timeoutMs: 500 })
    expect(r).toMatchObject({ status: Status.CRITICAL, output: `connection to 127.0.0.1:${port} timed out after 0.5s` })
  })

  it('stops at once when aborted', async () => {
    const controller = new AbortController()
    controller.abort()
    expect(await runTcp({ host: '127.0.0.1', port: 1, timeoutMs: 5000, signal: controller.signal }))
      .toMatchObject({ status: Status.UNKNOWN })
  })
})
