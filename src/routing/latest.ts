import type { CatalogModel, CatalogSnapshot } from '../catalog/snapshot'

/**
 * OpenRouter's latest resolution: `~author/family-latest` (`~anthropic/claude-opus-latest`) names
 * the newest model of a family, and the answer's `model` says which one served. A model's family
 * is its slug less its version numbers: `claude-opus-5.5` is `claude-opus`, `deepseek-v4-pro` is
 * `deepseek-pro`, `gemini-3.8-flash` is `gemini-flash`. Other words stay, so a variant is a family
 * of its own (`claude-opus-4.7-fast`, `gemini-3.1-pro-preview`). The newest is the one with the
 * latest `created` in the catalog (ties: the later id), among the author's models.
 */

const ALIAS = /^~([a-z0-9][a-z0-9._-]*)\/([a-z0-9][a-z0-9._-]*)-latest$/
/** A version word: `5`, `5.5`, `v4`, `v4.1`. */
const VERSION = /^v?\d+(\.\d+)*$/

/** The catalog model an id names, itself or through a latest alias. */
export function modelNamed(id: string, catalog: CatalogSnapshot): CatalogModel | undefined {
  return catalog.models.get(id) ?? catalog.models.get(latestOf(id, catalog) ?? '')
}

/** The catalog model an alias resolves to, or null (no alias, or no model of that family). */
export function latestOf(id: string, catalog: CatalogSnapshot): string | null {
  const alias = ALIAS.exec(id)
  if (!alias) return null
  const [, author, family] = alias
  let newest: { id: string; created: number } | null = null
  for (const { spec } of catalog.models.values()) {
    const [owner, slug] = spec.id.split('/')
    if (owner !== author || !slug || familyOf(slug) !== family) continue
    if (!newest || spec.created > newest.created || (spec.created === newest.created && spec.id > newest.id)) newest = { id: spec.id, created: spec.created }
  }
  return newest?.id ?? null
}

function familyOf(slug: string): string {
  return slug
    .split('-')
    .filter((word) => !VERSION.test(word))
    .join('-')
}
