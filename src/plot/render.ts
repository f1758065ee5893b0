// A Vega spec to an SVG string. Vega's headless renderer ("none") lays out the scene graph and writes SVG markup
// without a DOM or canvas, so this runs the same in Node and in a page (where a live view could instead attach the
// spec to an element with `new View(parse(spec)).initialize(element)`).
import { parse, View, type Spec } from 'vega';

export async function renderSvg(spec: Spec): Promise<string> {
  const view = new View(parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    // Releases the view's listeners and timers, so that a CLI run ends as soon as it has written its files.
    view.finalize();
  }
}
