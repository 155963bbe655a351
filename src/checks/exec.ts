/**
 * Runs a Nagios-style plugin: no shell, its own process group so a timeout
 * can kill the plugin and everything it started, output captured up to a cap.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import type { Readable } from 'node:stream'
import { exitStatus, parsePluginOutput, seconds, timerMs } from './nagios.js'
import { Status, type CheckResult } from './types.js'

export interface ExecInit {
  /** the program and its arguments; the program is looked up in PATH when it has no `/` */
  command: string[]
  timeoutMs: number
  /** aborting kills the plugin's process group; the result is then UNKNOWN "aborted" */
  signal?: AbortSignal
  /** bytes kept of each of stdout and stderr; the rest is read and discarded @default 65536 */
  maxOutputBytes?: number
  /** how long pipes may stay open after the plugin exited (a stray background child holds them) @default 200 */
  drainMs?: number
}

/** Reads a stream to its end, keeping the first `max` bytes: the child must never block on a full pipe. */
function capture (stream: Readable | null, max: number): () => string {
  const chunks: Buffer[] = []
  let kept = 0
  stream?.on('data', (chunk: Buffer) => {
    if (kept >= max) return
    const part = chunk.subarray(0, max - kept)
    chunks.push(part)
    kept += part.length
  })
  stream?.on('error', () => {}) // a destroyed pipe is expected after a kill
  return () => Buffer.concat(chunks).toString('utf8')
}

/** SIGKILL the whole process group; ESRCH (already gone) is fine. */
function killGroup (child: ChildProcess): void {
  if (child.pid === undefined) return
  try { process.kill(-child.pid, 'SIGKILL') } catch {}
  try { child.kill('SIGKILL') } catch {} // in case the group is gone but the child is not
}

function spawnFailure (error: NodeJS.ErrnoException, program: string): string {
  if (error.code === 'ENOENT') return `command not found: ${program}`
  if (error.code === 'EACCES') return `command not executable: ${program} (permission denied)`
  return `cannot run ${program}: ${error.message}`
}

/** Run one plugin. Never throws: every failure is a CheckResult. */
export async function runExec (init: ExecInit): Promise<CheckResult> {
  const started = performance.now()
  const [program = '', ...args] = init.command
  const max = init.maxOutputBytes ?? 65536
  const result = (status: CheckResult['status'], output: string, perfdata = ''): CheckResult =>
    ({ status, output, perfdata, durationSeconds: (performance.now() - started) / 1000 })
  if (init.signal?.aborted === true) return result(Status.UNKNOWN, 'aborted before start')

  let child: ChildProcess
  try {
    // detached: a new process group (and session) whose id is the child's pid, so -pid reaches grandchildren
    child = spawn(program, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (error) {
    return result(Status.UNKNOWN, spawnFailure(error as NodeJS.ErrnoException, program))
  }
  const stdout = capture(child.stdout, max)
  const stderr = capture(child.stderr, max)

  return await new Promise<CheckResult>(resolve => {
    let ended: 'timeout' | 'abort' | undefined
    let spawnError: NodeJS.ErrnoException | undefined
    const closePipes = (): void => { child.stdout?.destroy(); child.stderr?.destroy() }
    const stopRun = (why: 'timeout' | 'abort'): void => {
      if (ended !== undefined) return
      ended = why
      killGroup(child)
      closePipes() // a process that escaped the group (setsid) must not keep us waiting
    }
    const timer = setTimeout(() => stopRun('timeout'), timerMs(init.timeoutMs))
    const onAbort = (): void => stopRun('abort')
    init.signal?.addEventListener('abort', onAbort, { once: true })
    let drain: NodeJS.Timeout | undefined

    // `on`, not `once`: a later 'error' (a failed kill) with no listener would crash the process
    child.on('error', error => { spawnError ??= error })
    child.once('exit', () => {
      // The output is already in the pipe: give it a moment to drain, but don't wait for a stray background
      // child that inherited the pipe (it would hold the run open until the timeout); kill such leftovers.
      drain = setTimeout(() => { killGroup(child); closePipes() }, init.drainMs ?? 200)
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      clearTimeout(drain)
      init.signal?.removeEventListener('abort', onAbort)
      if (spawnError !== undefined) return resolve(result(Status.UNKNOWN, spawnFailure(spawnError, program)))
      if (ended === 'timeout') return resolve(result(Status.CRITICAL, `timed out after ${seconds(init.timeoutMs)}s`))
      if (ended === 'abort') return resolve(result(Status.UNKNOWN, 'aborted'))
      const out = stdout()
      const { output, perfdata } = parsePluginOutput(out.trim() !== '' ? out : stderr())
      const text = output === '' ? '(no output)' : output
      if (signal !== null) return resolve(result(Status.UNKNOWN, `killed by ${signal}: ${text}`, perfdata))
      const status = exitStatus(code)
      const odd = code !== status ? `exit code ${String(code)}: ` : ''
      resolve(result(status, odd + text, perfdata))
    })
  })
}
