/** Frames and bodies of the WebSocket protocol: every bad input is an answer naming the problem, never a throw. */
import { describe, expect, it } from 'vitest'
import { readMachineInfo, readOnline } from '../../src/devices/bodies.js'
import { CODE, FrameError, parseFrame, respond } from '../../src/devices/protocol.js'
import { emptyData } from '../../src/devices/data.js'

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64')
const frame = (over: Record<string, unknown> = {}): string =>
  JSON.stringify({ version: 0, timestamp: 1732700000000, id: 7, type: 1, pub_key: '', sign: '', body: b64({ node_id: 'gpu-1' }), ...over })
const failure = (text: string | Buffer) => {
  const r = parseFrame(text)
  if (r.ok) throw new Error('parsed')
  return { code: r.error.code, message: r.error.message, echo: r.echo }
}

describe('device protocol frames', () => {
  it('reads a frame as Go writes it, and answers with the same version, id and type', () => {
    const r = parseFrame(Buffer.from(frame({ version: 3, id: 42 })))
    expect(r).toMatchObject({ ok: true, frame: { type: 1, echo: { version: '3', id: '42', type: '1' }, body: { node_id: 'gpu-1' } } })
    expect(JSON.parse(respond({ version: '3', id: '42', type: '1' }, 0, ''))).toEqual({ version: 3, id: 42, type: 1, code: 0, message: '', body: '' })
  })

  it('echoes a uint64 id beyond 2^53 digit for digit', () => {
    const r = failure('{"version":0,"id":18446744073709551615,"type":2,"body":"@@"}')
    expect(r.echo.id).toBe('18446744073709551615')
    expect(respond(r.echo, r.code, r.message)).toContain('"id":18446744073709551615,')
  })

  it.each([
    ['not JSON', 'hello', /^frame is not JSON/],
    ['not an object', '[1,2]', /must be a JSON object with version/],
    ['id a string', frame({ id: '7' }), /^id must be a non-negative integer, not the string "7"$/],
    ['negative version', frame({ version: -1 }), /^version must be a non-negative integer, not -1$/],
    ['no type', frame({ type: undefined }), /^type must be a non-negative integer/],
    ['sign a number', frame({ sign: 5 }), /^sign must be a string/],
    ['unknown type', frame({ type: 9 }), /^unknown type 9; this server takes 1 \(online\) and 2 \(machine info\)$/],
    ['no body', frame({ body: null }), /^body is empty/],
    ['body an object', frame({ body: { node_id: 'x' } }), /^body must be a base64 string/],
    ['body not base64', frame({ body: 'not base64!' }), /^body is not base64/],
    ['body not JSON', frame({ body: b64('{nope') }), /^body is not JSON/],
    ['body a number', frame({ body: b64('12') }), /^body must be a JSON object, not 12$/]
  ])('%s: 400 naming it', (_what, text, message) => {
    const r = failure(text)
    expect(r.code).toBe(CODE.BAD_REQUEST)
    expect(r.message).toMatch(message)
  })

  it('an oversized frame is a 413 that still echoes the header Go wrote first', () => {
    const r = failure(frame({ id: 9, body: b64({ node_id: 'x'.repeat(70_000) }) }))
    expect(r).toMatchObject({ code: CODE.TOO_LARGE, echo: { id: '9', type: '1' } })
    expect(r.message).toMatch(/over the 65536-byte limit/)
  })
})

describe('device protocol bodies', () => {
  it('online: node_id, or machine_id from later clients, with their extra fields; unknown fields ignored', () => {
    expect(readOnline({ node_id: 'gpu-1', project: 'DecentralGPT', container_id: 'c1', staking_type: 2, whatever: true }))
      .toEqual({ id: 'gpu-1', project: 'DecentralGPT', info: { container_id: 'c1', staking_type: '2' } })
    expect(readOnline({ machine_id: 'm-7' }).id).toBe('m-7')
    for (const [body, message] of [
      [{}, /^node_id is missing/],
      [{ node_id: 7 }, /^node_id must be a string, not 7$/],
      [{ node_id: 'has space' }, /is not a device id/],
      [{ node_id: 'x', project: ['p'] }, /^project must be a string, not an array$/]
    ] as const) {
      expect(() => readOnline(body)).toThrow(expect.objectContaining({ name: 'FrameError', message: expect.stringMatching(message) }))
    }
  })

  it('machine info: one GPU with its numbers (MiB to bytes), models, cpu fields', () => {
    const d = readMachineInfo({
      project: 'P', models: [{ model: 'llama-3' }, { model: 'qwen' }], gpu_name: 'RTX 4090', utilization_gpu: 30,
      memory_total: 24564, memory_used: 22128, cpu_type: 'EPYC', cpu_rate: 12.5, extra: 'ignored'
    }, emptyData())
    expect(d).toMatchObject({
      project: 'P', models: ['llama-3', 'qwen'], memoryTotal: 24564 * 2 ** 20, metrics: { cpu_rate: 12.5 }, info: { cpu_type: 'EPYC' },
      gpus: [{ index: '0', name: 'RTX 4090', utilizationRatio: 0.3, memoryUsedBytes: 22128 * 2 ** 20, memoryTotalBytes: 24564 * 2 ** 20 }]
    })
  })

  it('machine info with gpu_names: one GPU each; the single utilization and used memory become device metrics', () => {
    const d = readMachineInfo({ gpu_names: ['A100', 'A100'], gpu_memory_total: [81920, 81920], utilization_gpu: 50, memory_used: 1024 }, emptyData())
    expect(d.gpus.map(g => [g.name, g.memoryTotalBytes, g.utilizationRatio])).toEqual([['A100', 81920 * 2 ** 20, null], ['A100', 81920 * 2 ** 20, null]])
    expect(d.memoryTotal).toBe(2 * 81920 * 2 ** 20)
    expect(d.metrics).toEqual({ gpu_utilization_ratio: 0.5, gpu_memory_used_bytes: 2 ** 30 })
  })

  it('machine info with a bad field is an error naming it', () => {
    for (const [body, message] of [
      [{ utilization_gpu: '30' }, /^utilization_gpu must be a number from 0 to 100, not the string "30"$/],
      [{ utilization_gpu: 130 }, /^utilization_gpu must be a number from 0 to 100/],
      [{ models: 'llama' }, /^models must be an array/],
      [{ models: [{ name: 'x' }] }, /^models\[0\] must be \{"model": "name"\}/],
      [{ models: Array.from({ length: 65 }, () => 'm') }, /^models has 65 entries; at most 64$/],
      [{ gpu_memory_total: [-1] }, /^gpu_memory_total\[0\] must be MiB/]
    ] as const) {
      let err: unknown
      try { readMachineInfo(body, emptyData()) } catch (e) { err = e }
      expect(err).toBeInstanceOf(FrameError)
      expect((err as FrameError).message).toMatch(message)
    }
  })
})
