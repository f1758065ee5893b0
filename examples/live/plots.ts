// Drawing the page's figures: each is a Vega spec from the same builders `poglm plot` uses (src/plot/), rendered by
// a Vega View onto a canvas in its element. Epochs can arrive faster than a figure draws, so a figure keeps only the
// newest spec and draws it at the next animation frame, one drawing at a time: the page stays responsive and always
// ends on the last state.
import { parse, View, type Spec } from 'vega';

export class LiveFigure {
  private view: View | undefined;
  private next: Spec | undefined;
  private drawing = false;
  private drawn: Promise<void> = Promise.resolve();
  private finish: () => void = () => undefined;

  constructor(private readonly element: HTMLElement) {}

  /** Draws `spec` at the next frame, in place of any spec not drawn yet; resolves once it (or a newer one) is drawn. */
  show(spec: Spec): Promise<void> {
    this.next = spec;
    if (!this.drawing) {
      this.drawing = true;
      this.drawn = new Promise((resolve) => (this.finish = resolve));
      requestAnimationFrame(() => void this.drawPending());
    }
    return this.drawn;
  }

  /** Removes the figure. */
  clear(): void {
    this.next = undefined;
    this.view?.finalize();
    this.view = undefined;
    this.element.replaceChildren();
    this.element.dataset.drawn = 'false';
  }

  private async drawPending(): Promise<void> {
    while (this.next) {
      const spec = this.next;
      this.next = undefined;
      // Drawn off screen first, then swapped in, so that the figure never flashes empty between two epochs.
      const holder = document.createElement('div');
      const view = new View(parse(spec), { renderer: 'canvas', container: holder });
      try {
        await view.runAsync();
      } catch (error) {
        view.finalize();
        this.element.dataset.drawn = 'failed';
        console.error(error);
        continue;
      }
      this.view?.finalize();
      this.view = view;
      this.element.replaceChildren(holder);
      this.element.dataset.drawn = 'true';
    }
    this.drawing = false;
    this.finish();
  }
}
