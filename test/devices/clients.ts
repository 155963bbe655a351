/**
 * Device clients that are not JavaScript, as the fleets meshmon replaces run
 * them: the Go client of the WebSocket protocol (gorilla/websocket and
 * encoding/json, built offline from Debian's packages) and curl for pushes.
 * Every process is tracked and killed by pid in stopAll().
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
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

/**
 * Build test/devices/client/main.go offline, once per version of its source: the binary is kept
 * in the temp dir under the source's hash (a built one is reused; a new source builds anew).
 */
export async function goClient (): Promise<string> {
  built ??= (async () => {
    const source = await readFile(join(repoRoot(), 'test', 'devices', 'client', 'main.go'))
    const dir = join(tmpdir(), `meshmon-go-client-${createHash('sha256').update(source).digest('hex').slice(0, 12)}`)
    const bin = join(dir, 'client')
    if (existsSync(bin)) return bin
    const work = await mkdtemp(join(tmpdir(), 'meshmon-go-build-'))
    try {
      await writeFile(join(work, 'main.go'), source)
      const cache = join(tmpdir(), 'meshmon-go-cache')
      await mkdir(cache, { recursive: true })
      await run(GO, ['build', '-o', 'client', 'main.go'], {
        cwd: work, timeout: 180_000, env: { ...process.env, GO111MODULE: 'off', GOPATH: '/usr/share/gocode', GOCACHE: cache, GOFLAGS: '' }
      })
      await mkdir(dir, { recursive: true })
      // a rename is atomic: test files building at once each put a whole binary in place
      await rename(join(work, 'client'), bin)
    } finally {
      await rm(work, { recursive: true, force: true })
    }
    return bin
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
