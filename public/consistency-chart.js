// The consistency observatory's chart on the admin page (docs/OBSERVATORY.md): one bar per
// re-check bound, its height the share of sampled writes every cache layer agreed with MongoDB.
// SVG attributes only: the page's CSP allows no inline style.

const SVG = "http://www.w3.org/2000/svg";
const W = 320;
const H = 140;
const PAD = 24;

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

const label = (ms) => (ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`);
const percent = (share) =>
  share === null ? "—" : `${(share * 100).toFixed(share === 1 ? 0 : 1)} %`;

/**
 * Renders `consistency` (the `/cache/stats` field) into `figure`; a note instead of bars while
 * nothing was sampled yet, and nothing at all on a server without the observatory.
 */
export function renderConsistencyChart(figure, consistency) {
  figure.hidden = !consistency;
  if (!consistency) return;
  const caption = document.createElement("figcaption");
  const bounds = consistency.bounds;
  const judged = bounds.some((b) => b.share !== null);
  caption.textContent = judged
    ? `Consistent with MongoDB after a write (${consistency.sampled} sampled, ${consistency.staleness.unresolved} still stale at the last bound)`
    : `Consistency observatory: no sampled write yet (sample rate ${consistency.sampleRate})`;
  const chart = svg("svg", {
    viewBox: `0 0 ${W} ${H}`,
    width: "100%",
    role: "img",
    "aria-label": bounds.map((b) => `within ${label(b.afterMs)}: ${percent(b.share)}`).join(", "),
  });
  const slot = (W - PAD) / Math.max(1, bounds.length);
  const top = 16;
  const base = H - PAD;
  chart.append(svg("line", { x1: PAD / 2, x2: W - PAD / 2, y1: base, y2: base, class: "axis" }));
  bounds.forEach((b, i) => {
    const x = PAD / 2 + i * slot + slot * 0.2;
    const height = (base - top) * (b.share ?? 0);
    chart.append(
      svg("rect", {
        x,
        y: base - height,
        width: slot * 0.6,
        height,
        class: b.share === 1 ? "bar ok" : "bar",
        "data-testid": "consistency-bar",
        "data-share": b.share ?? "",
      }),
      svg(
        "text",
        { x: x + slot * 0.3, y: base - height - 4, "text-anchor": "middle" },
        percent(b.share),
      ),
      svg(
        "text",
        { x: x + slot * 0.3, y: H - 6, "text-anchor": "middle" },
        `≤ ${label(b.afterMs)}`,
      ),
    );
  });
  figure.replaceChildren(chart, caption);
}
