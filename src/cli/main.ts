/**
 * `meshmon` command line. The settings `run` takes as flags are defined once,
 * in the config schema (flag, description, default, env variable); commander
 * turns them into parsing and --help. Commands are thin and delegate; the one
 * exit handler (reportError) turns errors into exit codes.
 */
import '../shim.js'
import { Command, CommanderError, Option } from 'commander'
import type { ConfigSetting } from '../config/describe.js'
import { SETTINGS } from '../config/load.js'
import { VERSION } from '../version.js'
import { DEFAULT_API } from './api-client.js'
import { reportError } from './exit.js'

const collect = (value: string, previous: string[] = []): string[] => [...previous, value]

export function buildProgram (setCode: (code: number) => void): Command {
  const program = new Command('meshmon')
    .description('peer-to-peer monitoring mesh')
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
  const act = <A extends unknown[]>(fn: (...args: A) => Promise<number>) => async (...args: A) => { setCode(await fn(...args)) }

  const run = program.command('run')
    .description('start a node; runs until SIGINT/SIGTERM, then leaves the mesh gracefully')
    .option('-c, --config <file>', 'YAML or JSON config file')
  for (const s of SETTINGS) if (s.flag !== undefined) run.addOption(settingOption(s))
  run.addHelpText('after', runHelp())
    .action(act(async (opts) => await (await import('./run.js')).runCommand(opts)))

  program.command('swarm-key')
    .description('manage the pre-shared swarm key')
    .command('generate')
    .description('print a new swarm.key (v1 format); --out writes it with mode 0600 and never overwrites')
    .option('--out <file>', 'write to this file instead of stdout')
    .action(act(async (opts) => await (await import('./swarm-key.js')).swarmKeyGenerate(opts)))

  program.command('status')
    .description('table of every peer the node knows; exit 0 healthy, 1 a peer down or a check failing, 2 API unreachable or token refused')
    .option('--api <url>', 'a node\'s API', DEFAULT_API)
    .addOption(tokenOption())
    .option('--json', 'print JSON instead of a table')
    .option('--watch', 'refresh in place every 2 s until Ctrl-C')
    .action(act(async (opts) => await (await import('./status.js')).statusCommand(opts)))

  program.command('events')
    .description('recent events from the replicated event log, oldest to newest; exit 2 when the API cannot be reached or refuses the token')
    .option('--api <url>', 'a node\'s API', DEFAULT_API)
    .addOption(tokenOption())
    .option('--since <when>', 'only events since then: a duration like 1h, or an ISO time')
    .option('--type <type>', 'only this type, comma-separated for several: peer.joined, peer.left, peer.down, peer.up, check.failed, check.warning, check.recovered')
    .option('--peer <peer>', 'only events about this peer: its id, its last characters, or its node name')
    .option('--limit <n>', 'at most this many of the newest events, 1-10000 (default: 100)')
    .option('--follow', 'keep printing new events as they replicate, until Ctrl-C')
    .option('--json', 'print JSON lines instead of a table')
    .action(act(async (opts) => await (await import('./events.js')).eventsCommand(opts)))

  program.command('id')
    .description('print this node\'s peer id (creating its key if missing)')
    .option('--data-dir <dir>', 'data dir (default: ./data)')
    .action(act(async (opts) => await (await import('./id.js')).idCommand(opts)))

  program.command('check')
    .description('validate the config and run every configured check once; exit 1 if any is not OK')
    .option('-c, --config <file>', 'YAML or JSON config file')
    .addOption(settingOption(SETTINGS.find(s => s.key === 'swarmKey') as ConfigSetting))
    .option('--json', 'print JSON instead of a table')
    .action(act(async (opts) => await (await import('./check.js')).checkCommand(opts)))

  return program
}

/** After run's options: the settings taken from the environment but never as a flag (secrets: argv shows in `ps`). */
function runHelp (): string {
  const envOnly = SETTINGS.filter(s => s.env !== undefined && s.flag === undefined)
  const width = Math.max(...envOnly.map(s => (s.env as string).length))
  return [
    '',
    'From the environment only (a secret on the command line shows in `ps`):',
    ...envOnly.map(s => `  ${(s.env as string).padEnd(width)}  ${s.key}: ${s.doc}`),
    'Every setting, in the config file (--config): docs/reference.md. /healthz is always open.'
  ].join('\n')
}

/** --token for the commands that read the API; also MESHMON_API_TOKEN (read by the command, see api-client) */
function tokenOption (): Option {
  return new Option('--token <token>', 'the node\'s api.token, sent as "Authorization: Bearer" [env MESHMON_API_TOKEN]')
}

/** A setting's flag; its env variable is read by config/load, so precedence stays flag > env > file > default. */
function settingOption (s: ConfigSetting): Option {
  const notes = [s.list ? 'repeatable' : undefined, s.default === 'required' ? 'required' : `default: ${s.default}`, `env ${s.env ?? ''}${s.list ? ', comma-separated' : ''}`]
  const option = new Option(s.flag as string, `${s.doc} (${notes.filter(Boolean).join('; ')})`)
  return s.list ? option.argParser(collect) : option
}

export async function main (argv: string[]): Promise<number> {
  let code = 0
  const program = buildProgram(c => { code = c })
  try {
    await program.parseAsync(argv, { from: 'user' })
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; usage mistakes exit 2 (commander already printed why)
      return err.exitCode === 0 ? 0 : 2
    }
    return reportError(err)
  }
  return code
}
