import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { idleWatchdog } from '../../src/gateway/deadline'

describe('idleWatchdog', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  const watch = () => {
    const idle = idleWatchdog(100)
    let fired = false
    void idle.expired.then(() => (fired = true))
    return { idle, fired: async () => (await Promise.resolve(), fired) }
  }

  it('fires after the idle time, and each touch starts it again', async () => {
    const { idle, fired } = watch()
    await vi.advanceTimersByTimeAsync(80)
    idle.touch()
    await vi.advanceTimersByTimeAsync(80)
    expect(await fired()).toBe(false)
    await vi.advanceTimersByTimeAsync(30)
    expect(await fired()).toBe(true)
  })

  it('never fires while paused (a slow client is not upstream silence), and counts again from resume', async () => {
    const { idle, fired } = watch()
    idle.pause()
    await vi.advanceTimersByTimeAsync(1_000)
    expect(await fired()).toBe(false)
    idle.resume()
    await vi.advanceTimersByTimeAsync(90)
    expect(await fired()).toBe(false)
    await vi.advanceTimersByTimeAsync(20)
    expect(await fired()).toBe(true)
    idle.stop()
  })
})
