/** TCP check: can a connection be opened within the timeout? */
import { connect } from 'node:net'
import { seconds, timerMs } from './nagios.js'
import { Status, type CheckResult, type StatusCode } from './types.js'

export interface TcpInit {
  host: string
  port: number
  timeoutMs: number
  signal?: AbortSignal
}

function describe (error: NodeJS.ErrnoException, where: string): string {
  if (error.code === 'ECONNREFUSED') return `connection to ${where} refused`
  if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') return `host not found: ${where}`
  if (error.code === 'EHOSTUNREACH' || error.code === 'ENETUNREACH') return `${where} unreachable (${error.code})`
  return `cannot connect to ${where}: ${error.message}`
}

/** Run one TCP check. Never throws: every failure is a CheckResult. */
export async function runTcp (init: TcpInit): Promise<CheckResult> {
  const started = performance.now()
  // IPv6 literals need brackets to read as host:port
  const where = init.host.includes(':') ? `[${init.host}]:${init.port}` : `${init.host}:${init.port}`
  const result = (status: StatusCode, output: string, perfdata = ''): CheckResult =>
    ({ status, output, perfdata, durationSeconds: (performance.now() - started) / 1000 })
  if (init.signal?.aborted === true) return result(Status.UNKNOWN, 'aborted before start')

  return await new Promise<CheckResult>(resolve => {
    const socket = connect({ host: init.host, port: init.port })
    const finish = (r: CheckResult): void => {
      clearTimeout(timer)
      init.signal?.removeEventListener('abort', onAbort)
      socket.destroy()
      resolve(r)
    }
    const timer = setTimeout(() => finish(result(Status.CRITICAL, `connection to ${where} timed out after ${seconds(init.timeoutMs)}s`)), timerMs(init.timeoutMs))
    const onAbort = (): void => finish(result(Status.UNKNOWN, 'aborted'))
    init.signal?.addEventListener('abort', onAbort, { once: true })
    socket.once('connect', () => {
      const ms = performance.now() - started
      finish(result(Status.OK, `connected to ${where} in ${Math.round(ms)} ms`, `time=${(ms / 1000).toFixed(3)}s`))
    })
    socket.on('error', error => finish(result(Status.CRITICAL, describe(error, where))))
  })
}
