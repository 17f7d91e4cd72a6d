import { createApp } from './app'
import type { Env } from './env'

export { KeyDO } from './tenancy/key-do'

const app = createApp()

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>
