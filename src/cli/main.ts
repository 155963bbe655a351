/**
 * `meshmon` command line. Each option is defined once (name, description,
 * default); commander turns that into parsing and --help. Commands are thin and
 * delegate; the one exit handler (reportError) turns errors into exit codes.
 */
import '../shim.js'
import { Command, CommanderError, Option } from 'commander'
import { envName } from '../config/load.js'
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

  program.command('run')
    .description('start a node; runs until SIGINT/SIGTERM, then leaves the mesh gracefully')
    .option('-c, --config <file>', 'YAML or JSON config file')
    .addOption(runOption('--name <name>', 'node name (default: hostname)'))
    .addOption(runOption('--data-dir <dir>', 'peer key, peer store and event log (default: ./data)'))
    .addOption(runOption('--swarm-key <file>', 'the mesh\'s pre-shared key (required)'))
    .addOption(runOption('--listen <multiaddr>', 'p2p listen address, repeatable (default: /ip4/0.0.0.0/tcp/4001)').argParser(collect))
    .addOption(runOption('--bootstrap <multiaddr>', 'peer to join through, repeatable; /p2p/<id> optional, /dns4/ names resolve to every address').argParser(collect))
    .addOption(runOption('--api-listen <host:port>', 'HTTP API address (default: 127.0.0.1:9521, this host only; 0.0.0.0:9521 opens it to the network: set api.token then)'))
    .addOption(runOption('--alertmanager <url>', 'Alertmanager to push alerts to, repeatable').argParser(collect))
    .addOption(runOption('--heartbeat-interval <duration>', 'heartbeat interval, e.g. 1s (default: 1s)'))
    .addOption(runOption('--expect <mode>', 'always-on (silence is an alert) or intermittent (silence is not)'))
    .addOption(runOption('--log-level <level>', 'trace, debug, info, warn, error or silent (default: info)'))
    .addHelpText('after', RUN_HELP)
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
    .addOption(runOption('--swarm-key <file>', 'the mesh\'s pre-shared key'))
    .option('--json', 'print JSON instead of a table')
    .action(act(async (opts) => await (await import('./check.js')).checkCommand(opts)))

  return program
}

const RUN_HELP = `
The API (--api-listen) answers on 127.0.0.1:9521 unless opened. Settings of the
config file's api: section, for an API others reach:
  token / tokenFile   a secret that /api/* requires as "Authorization: Bearer <token>"
                      (env MESHMON_API_TOKEN / MESHMON_API_TOKEN_FILE; never a flag)
  protectMetrics      true: /metrics requires the token too (default false)
  allowedHosts        names (Host header) the API answers to besides its own
                      address, localhost and, on 0.0.0.0, this host's name
/healthz is always open.`

/** --token for the commands that read the API; also MESHMON_API_TOKEN (read by the command, see api-client) */
function tokenOption (): Option {
  return new Option('--token <token>', 'the node\'s api.token, sent as "Authorization: Bearer" [env MESHMON_API_TOKEN]')
}

/** A `run` setting: also read from MESHMON_<UPPER_SNAKE> (by config/load, so precedence stays flag > env > file). */
function runOption (flags: string, description: string): Option {
  const long = /--([a-z-]+)/.exec(flags)?.[1] ?? ''
  const camel = long.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
  return new Option(flags, `${description} [env ${envName(camel)}]`)
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
