/** `meshmon check --config FILE`: validate the config, run every check once, exit 1 if any is not OK. */
import { checkScheduler } from '../checks/scheduler.js'
import { statusName } from '../checks/types.js'
import { loadConfig, type RunFlags } from '../config/load.js'
import { renderTable } from './table.js'

export async function checkCommand (options: { config?: string, json?: boolean } & RunFlags): Promise<number> {
  const { config: file, json, ...flags } = options
  const config = await loadConfig({ file, flags })
  const scheduler = checkScheduler({ checks: config.checks })
  const states = await scheduler.runOnce()
  if (json === true) {
    process.stdout.write(JSON.stringify(states, null, 2) + '\n')
  } else {
    process.stdout.write(`config ${file ?? '(flags and environment)'} is valid: node ${config.name}, ${config.checks.length} checks\n`)
    if (states.length > 0) {
      process.stdout.write(renderTable(['CHECK', 'TYPE', 'STATUS', 'TIME', 'OUTPUT'],
        states.map(s => [s.name, s.type, statusName(s.status), `${s.durationSeconds.toFixed(3)}s`, s.output])))
    }
  }
  return states.every(s => s.status === 0) ? 0 : 1
}
