import type { Bin, PhaseWindow } from './analyse'

/**
 * The run at a glance, as a self-contained SVG: one panel per routing mode, the share of first
 * attempts each provider got per time bin (stacked), the share of requests that failed (a black
 * line), and the timeline's phases (fault phases shaded, named on top). The x axis is the
 * timeline's virtual seconds, so runs at different time scales line up.
 */

export interface ChartPanel {
  mode: string
  bins: Bin[]
  phases: PhaseWindow[]
  /** Cron runs (health probes), real seconds: marked under the panel. */
  cronRuns: number[]
}

export interface ChartInput {
  title: string
  subtitle: string
  providers: { id: string; name: string }[]
  panels: ChartPanel[]
  /** Real seconds per virtual second. */
  timeScale: number
  /** Virtual seconds. */
  totalS: number
}

const COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#76b7b2']
const UNKNOWN = '#bab0ac'
const WIDTH = 1100
const LEFT = 150
const RIGHT = 24
const TOP = 104
const PANEL = 150
const GAP = 34
const BOTTOM = 48

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
const fixed = (value: number) => Number(value.toFixed(2))

export function renderChart(input: ChartInput): string {
  const plotWidth = WIDTH - LEFT - RIGHT
  const height = TOP + input.panels.length * (PANEL + GAP) - GAP + BOTTOM
  const x = (virtualS: number) => fixed(LEFT + (Math.min(virtualS, input.totalS) / input.totalS) * plotWidth)
  const out: string[] = []
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="${LEFT}" y="22" font-size="16" font-weight="bold">${escape(input.title)}</text>`,
    `<text x="${LEFT}" y="40" fill="#555">${escape(input.subtitle)}</text>`,
  )

  // Legend
  let lx = LEFT
  const legend = [
    ...input.providers.map((p, i) => ({ label: `${p.id} (${p.name})`, color: COLORS[i % COLORS.length]! })),
    { label: 'first attempt unknown', color: UNKNOWN },
  ]
  for (const item of legend) {
    out.push(`<rect x="${lx}" y="50" width="12" height="12" fill="${item.color}"/>`, `<text x="${lx + 17}" y="60">${escape(item.label)}</text>`)
    lx += 24 + item.label.length * 6.6
  }
  out.push(`<line x1="${lx}" y1="56" x2="${lx + 22}" y2="56" stroke="#000" stroke-width="2"/>`, `<text x="${lx + 27}" y="60">requests failed</text>`)
  lx += 27 + 'requests failed'.length * 6.6 + 14
  out.push(`<path d="M${lx + 6},52 l-4,7 h8 z" fill="#333"/>`, `<text x="${lx + 15}" y="60">cron run (health probes)</text>`)

  input.panels.forEach((panel, index) => {
    const top = TOP + index * (PANEL + GAP)
    const y = (share: number) => fixed(top + PANEL - share * PANEL)
    out.push(`<g>`)
    // Stacked first-attempt shares: one step-shaped area per provider (areas, not one rectangle per
    // bin, so no hairline seams show between bins).
    const step = panel.bins[1] && panel.bins[0] ? panel.bins[1].start - panel.bins[0].start : input.totalS * input.timeScale
    const slices = [
      ...input.providers.map((p, i) => ({ count: (bin: Bin) => bin.firstAttempts[p.id] ?? 0, color: COLORS[i % COLORS.length]! })),
      { count: (bin: Bin) => bin.requests - input.providers.reduce((sum, p) => sum + (bin.firstAttempts[p.id] ?? 0), 0), color: UNKNOWN },
    ]
    const below = panel.bins.map(() => 0)
    for (const slice of slices) {
      const upper: string[] = []
      const lower: string[] = []
      panel.bins.forEach((bin, i) => {
        const share = bin.requests === 0 ? 0 : slice.count(bin) / bin.requests
        const from = x(bin.start / input.timeScale)
        const to = x((bin.start + step) / input.timeScale)
        upper.push(`${from},${y(below[i]! + share)} ${to},${y(below[i]! + share)}`)
        lower.unshift(`${to},${y(below[i]!)} ${from},${y(below[i]!)}`)
        below[i]! += share
      })
      out.push(`<polygon points="${[...upper, ...lower].join(' ')}" fill="${slice.color}"/>`)
    }
    // Phases, over the areas: a red band above each fault phase, dashed boundaries, names on top of
    // the first panel (on two rows, so short phases fit).
    panel.phases.forEach((phase, p) => {
      const from = x(phase.start / input.timeScale)
      const to = x(phase.end / input.timeScale)
      if (phase.fault) {
        out.push(`<rect x="${from}" y="${top - 5}" width="${fixed(to - from)}" height="5" fill="#e15759"/>`)
        out.push(`<rect x="${from}" y="${top}" width="${fixed(to - from)}" height="${PANEL}" fill="#ffffff" fill-opacity="0.18"/>`)
      }
      if (p > 0) out.push(`<line x1="${from}" y1="${top - 5}" x2="${from}" y2="${top + PANEL}" stroke="#222" stroke-opacity="0.6" stroke-dasharray="4,3"/>`)
      if (index === 0) {
        const label = phase.fault ? `${phase.name} (${phase.fault.provider})` : phase.name
        out.push(`<text x="${fixed(from + 3)}" y="${p % 2 === 0 ? top - 22 : top - 9}" font-size="11" fill="${phase.fault ? '#b03030' : '#444'}">${escape(label)}</text>`)
      }
    })
    // Failed requests per bin.
    const points = panel.bins
      .filter((bin) => bin.requests > 0)
      .map((bin) => {
        return `${x((bin.start + step / 2) / input.timeScale)},${y(bin.failed / bin.requests)}`
      })
    out.push(`<polyline points="${points.join(' ')}" fill="none" stroke="#000" stroke-width="1.5"/>`)
    for (const at of panel.cronRuns) {
      const cx = x(at / input.timeScale)
      out.push(`<path d="M${cx},${top + PANEL + 1} l-4,7 h8 z" fill="#333"><title>cron: health probes</title></path>`)
    }
    // Axes and the mode's name.
    out.push(`<rect x="${LEFT}" y="${top}" width="${plotWidth}" height="${PANEL}" fill="none" stroke="#333"/>`)
    for (const tick of [0, 0.5, 1]) {
      out.push(`<text x="${LEFT - 6}" y="${y(tick) + 4}" text-anchor="end" font-size="10" fill="#555">${tick * 100}%</text>`)
    }
    out.push(`<text x="10" y="${top + PANEL / 2 + 4}" font-weight="bold">${escape(panel.mode)}</text>`)
    out.push(`</g>`)
  })

  const axisY = TOP + input.panels.length * (PANEL + GAP) - GAP
  for (let s = 0; s <= input.totalS; s += 20) {
    out.push(
      `<line x1="${x(s)}" y1="${axisY}" x2="${x(s)}" y2="${axisY + 5}" stroke="#333"/>`,
      `<text x="${x(s)}" y="${axisY + 18}" text-anchor="middle" font-size="10">${s}</text>`,
    )
  }
  out.push(
    `<text x="${LEFT + plotWidth / 2}" y="${axisY + 36}" text-anchor="middle" fill="#555">timeline seconds (virtual; real = × ${input.timeScale}) — shares of first attempts per ${fixed((panelBinS(input) ?? 0) / input.timeScale)} virtual s</text>`,
    `</svg>`,
  )
  return `${out.join('\n')}\n`
}

function panelBinS(input: ChartInput): number | null {
  const bins = input.panels[0]?.bins
  return bins?.[1] && bins[0] ? bins[1].start - bins[0].start : null
}
