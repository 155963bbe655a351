/**
 * Device clients that are not JavaScript, as the fleets meshmon replaces run
 * them: the Go client of the WebSocket protocol (gorilla/websocket and
 * encoding/json, built offline from Debian's packages) and curl for pushes.
 * Every process is tracked and killed by pid in stopAll().
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { lacks } from '../support/packages.js'
import { repoRoot } from '../support/root.js'

const run = promisify(execFile)
export const GO = '/usr/bin/go'
export const CURL = '/usr/bin/curl'
const GORILLA = '/usr/share/gocode/src/github.com/gorilla/websocket/conn.go'

/** The Go toolchain or gorilla/websocket is missing (skipped loudly; a failure with CI=true). */
export const lacksGo = (): boolean => lacks('golang-go', GO) || lacks('golang-github-gorilla-websocket-dev', GORILLA)

let built: Promise<string> | undefined

/** Build test/devices/client/main.go once per test process, offline, in a temp dir. */
export async function goClient (): Promise<string> {
  built ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'meshmon-go-client-'))
    // the binary goes with this process; Go's build cache (below) stays, so the next build takes a second
    process.once('exit', () => { rmSync(dir, { recursive: true, force: true }) })
    await copyFile(join(repoRoot(), 'test', 'devices', 'client', 'main.go'), join(dir, 'main.go'))
    const cache = join(tmpdir(), 'meshmon-go-cache')
    await mkdir(cache, { recursive: true })
    await run(GO, ['build', '-o', 'client', 'main.go'], {
      cwd: dir, timeout: 180_000, env: { ...process.env, GO111MODULE: 'off', GOPATH: '/usr/share/gocode', GOCACHE: cache, GOFLAGS: '' }
    })
    return join(dir, 'client')
  })()
  return await built
}

const children = new Set<ChildProcess>()

/** One device: the Go client in script mode, one command a line, one JSON line back. */
export class GoDevice {
  readonly #child: ChildProcess
  readonly #lines: string[] = []
  #waiting?: (line: string) => void

  private constructor (child: ChildProcess) {
    this.#child = child
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', line => {
      if (this.#waiting !== undefined) { const w = this.#waiting; this.#waiting = undefined; w(line) } else this.#lines.push(line)
    })
  }

  static async start (url: string, auth: { token?: string, queryToken?: string } = {}): Promise<GoDevice> {
    const args = ['-url', url]
    if (auth.token !== undefined) args.push('-token', auth.token)
    if (auth.queryToken !== undefined) args.push('-query-token', auth.queryToken)
    const child = spawn(await goClient(), args, { stdio: ['pipe', 'pipe', 'inherit'] })
    children.add(child)
    child.once('exit', () => { children.delete(child) })
    return new GoDevice(child)
  }

  /** Send one command; resolves with its JSON answer. */
  async cmd (line: string, timeoutMs = 30_000): Promise<any> {
    this.#child.stdin?.write(line + '\n')
    const next = this.#lines.shift() ?? await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => { this.#waiting = undefined; reject(new Error(`no answer to "${line.slice(0, 80)}" in ${timeoutMs} ms`)) }, timeoutMs)
      this.#waiting = l => { clearTimeout(timer); resolve(l) }
    })
    return JSON.parse(next)
  }

  /** dial, then online: the usual start of a device */
  static async online (url: string, id: string, project = '', auth: { token?: string } = {}): Promise<GoDevice> {
    const d = await GoDevice.start(url, auth)
    const dialed = await d.cmd('dial')
    if (dialed.dialed !== true) throw new Error(`dial failed: ${JSON.stringify(dialed)}`)
    const r = await d.cmd(`online ${id}${project === '' ? '' : ` ${project}`}`)
    if (r.response?.code !== 0) throw new Error(`online failed: ${JSON.stringify(r)}`)
    return d
  }

  kill (): void { this.#child.kill('SIGKILL') }
}

export function stopClients (): void {
  for (const c of children) c.kill('SIGKILL')
  children.clear()
}

/** curl as a small board would use it: status code and JSON body. */
export async function curl (args: string[]): Promise<{ status: number, body: any }> {
  const { stdout } = await run(CURL, ['-s', '-w', '\n%{http_code}', ...args], { timeout: 15_000 })
  const i = stdout.lastIndexOf('\n')
  const text = stdout.slice(0, i)
  return { status: Number(stdout.slice(i + 1)), body: text === '' ? null : JSON.parse(text) }
}
