// Adam's settings (PyTorch semantics: bias-corrected, eps outside the square root), shared by the WGSL job and
// the float64 twin.

export interface AdamSettings {
  learningRateGenerative: number;
  learningRateVariational: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** The paper's settings: learning rate 0.05 for theta and 0.1 for phi. */
export const PAPER_ADAM: AdamSettings = {
  learningRateGenerative: 0.05,
  learningRateVariational: 0.1,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
};
