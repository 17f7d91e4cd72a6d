/** The auto pool (CatalogDocument.auto) less the models no longer in the catalog; none left, no pool. */
export function withoutRemoved(auto: unknown, models: ReadonlyArray<{ id?: unknown }>): { auto?: string[] } {
  if (!Array.isArray(auto)) return {}
  const left = new Set(models.map((model) => model.id))
  const kept = [...new Set(auto.filter((id): id is string => typeof id === 'string' && left.has(id)))]
  return kept.length ? { auto: kept } : {}
}
