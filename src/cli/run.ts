/** `meshmon run`: start a node and run until SIGINT/SIGTERM, then leave gracefully. */
import { loadConfig, type RunFlags } from '../config/load.js'
import { startNode, type MeshNode } from '../node.js'
import { handleFatalErrors, testCrashHook } from './fatal.js'
import { createLogger } from './log.js'

export async function runCommand (options: { config?: string } & RunFlags): Promise<number> {
  const { config: file, ...flags } = options
  const config = await loadConfig({ file, flags })
  const log = createLogger(config.logLevel)
  let node: MeshNode | undefined
  handleFatalErrors(log, { leave: () => node?.stop() })
  node = await startNode(config, log)
  testCrashHook()
  await new Promise<void>(resolve => {
    const onSignal = (signal: string): void => {
      log.info({ signal }, 'leaving the mesh')
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      resolve()
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
  // a stop that hangs must not keep a container from restarting
  const force = setTimeout(() => { log.error('stop took over 10 s; exiting anyway'); process.exit(1) }, 10_000)
  force.unref()
  await node.stop()
  clearTimeout(force)
  log.info('stopped')
  // OrbitDB 3.0.2 leaves a 30 s timer per block read/write that it never clears: don't wait for them
  setTimeout(() => { process.exit(0) }, 100).unref()
  return 0
}
