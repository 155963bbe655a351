import { describe, expect, it } from 'vitest'
import { exitStatus, MAX_TEXT, parsePluginOutput, seconds, timerMs } from '../../src/checks/nagios.js'
import { clip } from '../../src/text.js'

describe('parsePluginOutput', () => {
  it('splits the first line at | into output and perfdata', () => {
    expect(parsePluginOutput('OK - fine | a=1;2;3\n')).toEqual({ output: 'OK - fine', perfdata: 'a=1;2;3' })
  })

  it('keeps only the first line as output, with no perfdata when there is no |', () => {
    expect(parsePluginOutput('  DISK OK  \nsecond line\n')).toEqual({ output: 'DISK OK', perfdata: '' })
  })

  it('joins long-output perfdata (after the first | in later lines) with the first line\'s', () => {
    const text = 'OK - sum | a=1\nlong 1\nlong 2 | b=2;3\nc=4\nd=5\n'
    expect(parsePluginOutput(text)).toEqual({ output: 'OK - sum', perfdata: 'a=1 b=2;3 c=4 d=5' })
  })

  it('clips overlong output with a visible mark', () => {
    const { output } = parsePluginOutput('x'.repeat(MAX_TEXT * 3))
    expect(output.length).toBe(MAX_TEXT)
    expect(output.endsWith('…')).toBe(true)
    expect(clip('short', MAX_TEXT)).toBe('short')
  })

  it('maps exit codes the Nagios way', () => {
    expect([0, 1, 2, 3, 4, 127, null].map(exitStatus)).toEqual([0, 1, 2, 3, 3, 3, 3])
    expect(seconds(1000)).toBe('1')
    expect(seconds(500)).toBe('0.5')
  })

  it('clamps timer delays to what Node can wait', () => {
    expect(timerMs(30 * 86_400_000)).toBe(2 ** 31 - 1)
    expect(timerMs(1500)).toBe(1500)
  })
})
