// How plots name neurons: visible first ("v1".."vV"), then hidden ("h1".."hH"), the order of the model's N x N
// weight matrix, counted from 1 as people count them.

export const visibleLabel = (index: number): string => `v${index + 1}`;
export const hiddenLabel = (index: number): string => `h${index + 1}`;

/** Labels of all N = visible + hidden neurons, in the model's order. */
export function neuronLabels(visible: number, hidden: number): string[] {
  return [...Array.from({ length: visible }, (_, v) => visibleLabel(v)), ...Array.from({ length: hidden }, (_, h) => hiddenLabel(h))];
}
